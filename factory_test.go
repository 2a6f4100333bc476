package fileaccessreceiver

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.yaml.in/yaml/v3"

	"github.com/fileaccess-otel/fileaccessreceiver/internal/metadata"
)

func TestFactory(t *testing.T) {
	f := NewFactory()
	assert.Equal(t, metadata.Type, f.Type())
	assert.Equal(t, metadata.LogsStability, f.LogsStability())
	require.NoError(t, componenttest.CheckConfigStruct(f.CreateDefaultConfig()))
	require.NoError(t, f.CreateDefaultConfig().(*Config).Validate(), "the default config is valid")

	rcv, err := f.CreateLogs(context.Background(), receivertest.NewNopSettings(metadata.Type), f.CreateDefaultConfig(), consumertest.NewNop())
	require.NoError(t, err)
	require.NotNil(t, rcv)
}

// The generated-style code in internal/metadata is written by hand (mdatagen
// cannot be installed here), so this keeps it in step with metadata.yaml.
func TestMetadataMatchesMetadataYAML(t *testing.T) {
	raw, err := os.ReadFile("metadata.yaml")
	require.NoError(t, err)
	var md struct {
		Type   string `yaml:"type"`
		Status struct {
			Class     string              `yaml:"class"`
			Stability map[string][]string `yaml:"stability"`
		} `yaml:"status"`
		Telemetry struct {
			Metrics map[string]struct {
				Description string `yaml:"description"`
				Unit        string `yaml:"unit"`
			} `yaml:"metrics"`
		} `yaml:"telemetry"`
	}
	require.NoError(t, yaml.Unmarshal(raw, &md))

	assert.Equal(t, metadata.Type.String(), md.Type)
	assert.Equal(t, "receiver", md.Status.Class)
	assert.Equal(t, map[string][]string{strings.ToLower(metadata.LogsStability.String()): {"logs"}}, md.Status.Stability)

	goMod, err := os.ReadFile("go.mod")
	require.NoError(t, err)
	module := strings.Fields(strings.SplitN(string(goMod), "\n", 2)[0])[1]
	assert.Equal(t, module, metadata.ScopeName)

	generated, err := os.ReadFile("internal/metadata/generated_telemetry.go")
	require.NoError(t, err)
	for name, m := range md.Telemetry.Metrics {
		assert.Contains(t, string(generated), `"otelcol_`+name+`"`)
		assert.Contains(t, string(generated), m.Description)
		assert.Contains(t, string(generated), `metric.WithUnit("`+m.Unit+`")`)
	}
}

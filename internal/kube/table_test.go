package kube

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/types"
)

const testGrace = time.Minute

func newTestTable() (*containerTable, *fakeClock) {
	clock := newFakeClock()
	t := newContainerTable(testGrace)
	t.now = clock.Now
	return t, clock
}

func TestTableRemovedPodResolvesUntilGraceEnds(t *testing.T) {
	table, clock := newTestTable()
	c := &Container{ContainerID: "a"}
	table.set("pod", "1", []*Container{c})

	table.remove("pod")
	clock.Advance(testGrace - time.Second)
	got, ok := table.lookup("a")
	require.True(t, ok, "within the grace")
	assert.Same(t, c, got)

	clock.Advance(time.Second)
	_, ok = table.lookup("a")
	assert.False(t, ok, "at the end of the grace")
}

func TestTableReplacedIDIsRetiredAndTheNewOneResolves(t *testing.T) {
	table, clock := newTestTable()
	table.set("pod", "1", []*Container{{ContainerID: "old"}})
	table.set("pod", "2", []*Container{{ContainerID: "new"}})

	_, ok := table.lookup("old")
	assert.True(t, ok, "old id within the grace")
	_, ok = table.lookup("new")
	assert.True(t, ok, "new id")

	clock.Advance(testGrace)
	_, ok = table.lookup("old")
	assert.False(t, ok, "old id after the grace")
	_, ok = table.lookup("new")
	assert.True(t, ok, "new id after the grace")
}

func TestTableDropsExpiredIDsAtTheNextChange(t *testing.T) {
	table, clock := newTestTable()
	table.set("gone", "1", []*Container{{ContainerID: "a"}, {ContainerID: "b"}})
	table.remove("gone")
	require.Equal(t, 2, table.size(), "retired ids are kept within the grace")

	clock.Advance(testGrace)
	table.set("other", "1", []*Container{{ContainerID: "c"}})
	assert.Equal(t, 1, table.size())
}

func TestTableKeepsAtMostMaxRetiredIDs(t *testing.T) {
	table, _ := newTestTable()
	table.maxRetired = 3
	for i := range 10 {
		uid := types.UID(fmt.Sprint(i))
		table.set(uid, "1", []*Container{{ContainerID: fmt.Sprint("id-", i)}})
		table.remove(uid)
	}

	assert.Equal(t, 3, table.size())
	for _, id := range []string{"id-7", "id-8", "id-9"} {
		_, ok := table.lookup(id)
		assert.Truef(t, ok, "newest retired id %s", id)
	}
	_, ok := table.lookup("id-6")
	assert.False(t, ok, "oldest retired ids are dropped first")
}

func TestTableIDThatComesBackIsNotDroppedByItsOldGrace(t *testing.T) {
	table, clock := newTestTable()
	table.set("pod", "1", []*Container{{ContainerID: "a"}})
	table.set("pod", "2", nil)
	table.set("pod", "3", []*Container{{ContainerID: "a"}})

	clock.Advance(2 * testGrace)
	table.set("other", "1", nil) // sweeps
	_, ok := table.lookup("a")
	assert.True(t, ok)
}

func TestTableCurrentComparesResourceVersions(t *testing.T) {
	table, _ := newTestTable()
	table.set("pod", "7", nil)

	assert.True(t, table.current("pod", "7"))
	assert.False(t, table.current("pod", "8"), "newer version")
	assert.False(t, table.current("other", "7"), "unknown pod")

	table.set("blank", "", nil)
	assert.False(t, table.current("blank", ""), "a pod without version is always rebuilt")
}

// Package otlpencodingextension is an empty stand-in for the contrib module of
// that path. Only the tests of fileexporter v0.165.0 import it, and the module
// proxy serves it at no version, so the collector builder's `go mod tidy`
// would fail without a module to replace it with (see builder-config.yaml).
// The collector binary never compiles it.
package otlpencodingextension

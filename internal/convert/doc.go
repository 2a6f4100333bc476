// Package convert turns decoded file access records into OpenTelemetry log
// records: one log record an access, named file_access.<operation>, with the
// file and the process in semantic convention attributes, the hook's details
// under file_access.*, and a one-line summary as the body.
package convert

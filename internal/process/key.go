package process

import (
	"encoding/base64"
	"strconv"
)

// Key identifies one exec of one process. A pid is reused once its process
// has gone, and ExecNs, the boot-clock time of the exec (or of the clone, for
// a process that has not exec'd), tells the two processes apart.
type Key struct {
	PID    uint32
	ExecNs uint64
}

// ExecID returns the id of the exec k on the node hostName, stable for the
// life of the exec and unique across the node and across time. It is the
// standard, padded base64 encoding of "<hostName>:<ExecNs>:<PID>", both
// numbers in decimal: pid 4242 exec'd at 1000 ns on "node-a" is
// "node-a:1000:4242", which is "bm9kZS1hOjEwMDA6NDI0Mg==".
func ExecID(hostName string, k Key) string {
	// Room for the host name, two colons and the two numbers at their longest.
	b := make([]byte, 0, len(hostName)+2+20+10)
	b = append(b, hostName...)
	b = append(b, ':')
	b = strconv.AppendUint(b, k.ExecNs, 10)
	b = append(b, ':')
	b = strconv.AppendUint(b, uint64(k.PID), 10)
	return base64.StdEncoding.EncodeToString(b)
}

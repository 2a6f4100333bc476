// Command rename32 is built for GOARCH=386 by TestThirtyTwoBitRenamesEndVerdicts:
// it renames FROM to TO through the 32-bit system call interface.
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: rename32 FROM TO")
		os.Exit(2)
	}
	if err := os.Rename(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

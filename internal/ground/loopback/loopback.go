// Package loopback finds free TCP ports on 127.0.0.1, where everything
// gameday starts listens.
package loopback

import (
	"fmt"
	"net"
)

// FreePort asks the kernel for a free TCP port on 127.0.0.1. The port is
// released before it is returned, so a caller that fails to bind it (it
// was taken in between) should ask again.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

package embedded

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
)

// echoServer answers every connection by echoing what it reads.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); _, _ = io.Copy(c, c) }()
		}
	}()
	return ln.Addr().String()
}

func TestKubeletRouter(t *testing.T) {
	dir, err := os.MkdirTemp("/tmp", "gd-router-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	r, cfg, err := startKubeletRouter(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.close()
	b, err := os.ReadFile(cfg)
	if err != nil || !strings.Contains(string(b), "udsName: "+r.sock) || !strings.Contains(string(b), "name: cluster") {
		t.Fatalf("egress configuration %q, %v", b, err)
	}
	kubelet := echoServer(t)
	other := echoServer(t)
	r.add(kubelet, "ip-10-0-1-10.ec2.internal", "10.0.1.10")

	connect := func(dest string) (int, net.Conn) {
		t.Helper()
		c, err := net.Dial("unix", r.sock)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", dest)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, c
	}
	tests := []struct {
		name, dest string
		status     int
	}{
		{"a node by name", "ip-10-0-1-10.ec2.internal:10250", http.StatusOK},
		{"a node by address", "10.0.1.10:10250", http.StatusOK},
		{"another loopback server is dialled directly", other, http.StatusOK},
		{"nothing listens", "127.0.0.1:1", http.StatusBadGateway},
		{"an address off this machine is refused", "192.0.2.1:443", http.StatusBadGateway},
		{"an unknown node is refused", "ip-10-0-9-9.ec2.internal:10250", http.StatusBadGateway},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, c := connect(tt.dest)
			defer c.Close()
			if status != tt.status {
				t.Fatalf("CONNECT %s: %d, want %d", tt.dest, status, tt.status)
			}
			if status != http.StatusOK {
				return
			}
			if _, err := io.WriteString(c, "ping\n"); err != nil {
				t.Fatal(err)
			}
			line, err := bufio.NewReader(c).ReadString('\n')
			if err != nil || line != "ping\n" {
				t.Errorf("through the tunnel: %q, %v", line, err)
			}
		})
	}
	r.remove("ip-10-0-1-10.ec2.internal", "10.0.1.10")
	if status, c := connect("10.0.1.10:10250"); status == http.StatusOK {
		c.Close()
		t.Error("a removed node is still routed")
	}
}

package leakcheck

import (
	"net"
	"slices"
	"testing"
)

func TestDecodeAddr(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"loopback", "0100007F:1F90", "127.0.0.1:8080"},
		{"any", "00000000:0016", "0.0.0.0:22"},
		{"ipv6 passes through", "00000000000000000000000000000000:0016", "00000000000000000000000000000000:0016"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := decodeAddr(tt.in); got != tt.want {
				t.Errorf("decodeAddr(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestListenersSeesOwnListener(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	got, err := Listeners()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(got, l.Addr().String()) {
		t.Errorf("Listeners() = %v, missing %s", got, l.Addr())
	}
	l.Close()
	got, _ = Listeners()
	if slices.Contains(got, l.Addr().String()) {
		t.Errorf("closed listener %s still listed", l.Addr())
	}
}

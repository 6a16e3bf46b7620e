package testenv

import (
	"net"
	"testing"
)

// FreeAddr returns a 127.0.0.1 address nobody listens on: for a server
// that does not tell which port ":0" got it (controller-runtime's metrics
// and probes), or for a peer that must be down.
func FreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

package cli

import (
	"os"
	"path/filepath"
	"testing"
)

// TestKubeAPIRateLimit checks what --kube-api-qps and --kube-api-burst do
// to the client's configuration: by default no client-side limit (flow
// control is the API server's), or the limit given.
func TestKubeAPIRateLimit(t *testing.T) {
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	const cfg = `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:6443"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`
	if err := os.WriteFile(kubeconfig, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		qps       float32
		burst     int
		wantQPS   float32
		wantBurst int
	}{
		{name: "unset (commands without the flags)", wantQPS: -1},
		{name: "the run default: no client-side limit", qps: -1, burst: 100, wantQPS: -1, wantBurst: 100},
		{name: "a limit", qps: 50, burst: 80, wantQPS: 50, wantBurst: 80},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := clusterFlags{kubeconfig: kubeconfig, qps: tt.qps, burst: tt.burst}
			c, err := f.restConfig()
			if err != nil {
				t.Fatal(err)
			}
			if c.QPS != tt.wantQPS || c.Burst != tt.wantBurst {
				t.Errorf("QPS %v, burst %d; want %v, %d", c.QPS, c.Burst, tt.wantQPS, tt.wantBurst)
			}
		})
	}
}

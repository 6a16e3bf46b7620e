// Package faults runs the real controller (`reconciler run`, as a
// subprocess) against a real kube-apiserver and etcd with the Istio CRDs,
// fed from real Git repositories over smart HTTP on 127.0.0.1, and breaks
// things under it: the API server, etcd, the Git server, the repository's
// history, the controller's cache and the controller itself. Each scenario
// ends with the cluster equal to the render of the last good commit, every
// object there exactly once, the inventory exact, and a status that told the
// truth while the fault was on.
//
// The package's control plane is testenv's, started Restartable so that
// kube-apiserver and etcd can be stopped and started again on the same
// ports, certificates and data directory.
package faults

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/meshintent/meshintent/internal/testenv"
)

var (
	// env is the package's control plane, restartable in place.
	env *testenv.Env
	// kubeconfig is a kubeconfig file for an administrator of env.
	kubeconfig string
	// reconcilerBin is `reconciler` built from cmd/reconciler.
	reconcilerBin string
)

// stopGrace is how long kube-apiserver and etcd get to stop after SIGTERM
// before they are killed: kube-apiserver's graceful shutdown waits up to
// --request-timeout (1m) for clients to close their watches, which a
// running controller never does, so like the kubelet after a pod's grace
// period, envtest kills it after this.
const stopGrace = 5 * time.Second

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	// The test's own clients log nothing worth reading.
	ctrllog.SetLogger(logr.Discard())
	tmp, err := os.MkdirTemp("", "meshintent-faults-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "faults: %v\n", err)
		return 1
	}
	defer os.RemoveAll(tmp)

	// The controller binary builds while the control plane starts.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	built := make(chan error, 1)
	reconcilerBin = filepath.Join(tmp, "reconciler")
	go func() { built <- testenv.Build(ctx, "./cmd/reconciler", reconcilerBin) }()
	return testenv.Run(m, &env, testenv.Options{
		Restartable: true,
		StopTimeout: stopGrace,
		Setup: func(ctx context.Context, e *testenv.Env) error {
			kubeconfig = filepath.Join(tmp, "kubeconfig")
			return errors.Join(<-built, e.WriteKubeconfig(kubeconfig))
		},
	})
}

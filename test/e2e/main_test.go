// Package e2e drives the reconciler CLI against a real kube-apiserver and etcd
// with the Istio CRDs installed, fed from real Git repositories.
package e2e

import (
	"testing"

	"github.com/meshintent/meshintent/internal/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) { testenv.Main(m, &env) }

// Package badinput feeds the reconciler CLI bad repositories (malformed YAML,
// wrong types, unknown fields, paths leading out of the repository, kinds
// outside the allow-list, policy violations, objects the API server's schema
// refuses...) and checks that each one is refused with a clear error, one
// line per problem, while the cluster (a real kube-apiserver and etcd with
// the Istio CRDs) does not change at all. It also sends bad webhook payloads
// to the push receiver.
package badinput

import (
	"testing"

	"github.com/meshintent/meshintent/internal/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) { testenv.Main(m, &env) }

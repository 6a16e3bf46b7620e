package controller

import (
	"testing"

	"github.com/meshintent/meshintent/internal/testenv"
)

var env *testenv.Env

// TestMain starts one control plane for the package, with the Istio and
// IntentSync CRDs.
func TestMain(m *testing.M) { testenv.Main(m, &env) }

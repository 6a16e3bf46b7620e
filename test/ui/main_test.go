package ui

import (
	"testing"

	"github.com/meshintent/meshintent/internal/testenv"
)

var env *testenv.Env

// TestMain starts one control plane for the package.
func TestMain(m *testing.M) { testenv.Main(m, &env) }

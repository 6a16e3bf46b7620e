package testenv_test

import (
	"testing"

	"github.com/meshintent/meshintent/internal/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) { testenv.Main(m, &env) }

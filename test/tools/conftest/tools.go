//go:build tools

// Package tools pins conftest, the peer that the benchmarks in test/bench
// compare meshintent's policy gate with (kubectl kustomize | conftest test).
package tools

import (
	_ "github.com/open-policy-agent/conftest"
)

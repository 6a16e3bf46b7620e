//go:build tools

// Package tools pins the linters that make lint runs: staticcheck and
// golangci-lint. A module of its own keeps their dependencies apart from the
// main module's and from kube-apiserver's in ../.
package tools

import (
	_ "github.com/golangci/golangci-lint/v2/cmd/golangci-lint"
	_ "honnef.co/go/tools/cmd/staticcheck"
)

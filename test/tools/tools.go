//go:build tools

// Package tools pins the binaries that the test suite and the demo build from
// Go modules: kube-apiserver for the local control plane. It lives in its own
// module so that the main module does not depend on k8s.io/kubernetes.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
)

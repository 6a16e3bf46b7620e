//go:build tools

// Package tools pins controller-gen, which generates the IntentSync CRD and
// deepcopy code (make generate). A module of its own keeps its Kubernetes
// versions apart from kube-apiserver's in ../.
package tools

import (
	_ "sigs.k8s.io/controller-tools/cmd/controller-gen"
)

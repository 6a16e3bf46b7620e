package deps

import (
	_ "github.com/fluxcd/pkg/ssa"
	_ "github.com/go-git/go-git/v5"
	_ "github.com/google/go-cmp/cmp"
	_ "github.com/open-policy-agent/opa/v1/rego"
	_ "github.com/robfig/cron/v3"
	_ "github.com/spf13/cobra"
	_ "istio.io/client-go/pkg/apis/networking/v1"
	_ "istio.io/client-go/pkg/apis/telemetry/v1"
	_ "sigs.k8s.io/controller-runtime"
	_ "sigs.k8s.io/controller-runtime/pkg/envtest"
	_ "sigs.k8s.io/kustomize/api/krusty"
	_ "sigs.k8s.io/yaml"
)

#!/usr/bin/env bash
# generate.sh regenerates the deepcopy code and the IntentSync CRD from the
# kubebuilder markers in api/v1alpha1, and the controller's RBAC
# (config/rbac/role.yaml) from the +kubebuilder:rbac markers in
# internal/controller, and the CLI schema's descriptions from the intent
# types' doc comments (make generate). A test (api/v1alpha1's
# TestGeneratedFilesAreFresh, and internal/cli's
# TestSchemaDescriptionsUpToDate for the descriptions) fails when the
# checked-in files are stale.
set -euo pipefail
cd "$(dirname "$0")/.."
cg=$(hack/controller-gen.sh)
"$cg" object:headerFile="" paths=./api/...
"$cg" crd:allowDangerousTypes=true paths=./api/... output:crd:artifacts:config=config/crd/bases
# NamespaceIntent and ServiceIntent live in Git, never in a cluster: no CRDs.
rm -f config/crd/bases/meshintent.io_namespaceintents.yaml config/crd/bases/meshintent.io_serviceintents.yaml
# The ClusterRoles meshintent-reconciler and meshintent-reconciler-secrets and
# the Role in meshintent-system, in one file (the bindings are hand-written).
"$cg" rbac:roleName=meshintent-reconciler,headerFile=hack/rbac-header.yaml paths=./internal/controller/... output:rbac:artifacts:config=config/rbac
# The descriptions of the JSON schema `reconciler schema` prints, from the
# doc comments of the intent types (internal/cli/schema.go's go:generate).
go generate ./internal/cli

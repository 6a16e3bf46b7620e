#!/usr/bin/env bash
# generate.sh regenerates the deepcopy code and the IntentSync CRD from the
# kubebuilder markers in api/v1alpha1 (make generate). A test fails when the
# checked-in files are stale.
set -euo pipefail
cd "$(dirname "$0")/.."
cg=$(hack/controller-gen.sh)
"$cg" object:headerFile="" paths=./api/...
"$cg" crd:allowDangerousTypes=true paths=./api/... output:crd:artifacts:config=config/crd/bases
# NamespaceIntent and ServiceIntent live in Git, never in a cluster: no CRDs.
rm -f config/crd/bases/meshintent.io_namespaceintents.yaml config/crd/bases/meshintent.io_serviceintents.yaml

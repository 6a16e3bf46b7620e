// Package policies holds meshintent's built-in Rego policies, their unit tests
// and the default limits they read (data.yaml), embedded into the binary.
//
// The input and data contract the policies are written against is described in
// README.md; pkg/validate loads FS, compiles the policies and evaluates them.
package policies

import "embed"

// FS holds the built-in policies (*.rego), their Rego unit tests (*_test.rego)
// and data.yaml, the defaults of data.meshintent.config. The files sit at the
// root of FS.
//
//go:embed *.rego data.yaml
var FS embed.FS

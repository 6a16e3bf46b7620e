package cli

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestValidateNamesTheLineOfABadName adds a Gateway with an escape
// sequence in its name to examples/repo's base, and a good one beside it,
// and validates the prod overlay (built by kustomize): the error names the
// base file and the line of the bad name, also when the overlay renames
// the objects so that no document in the file has the built name.
func TestValidateNamesTheLineOfABadName(t *testing.T) {
	const gateways = `apiVersion: networking.istio.io/v1
kind: Gateway
metadata:
  name: good
  namespace: bookinfo
spec:
  selector: {istio: ingressgateway}
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata:
  namespace: bookinfo
  name: "gw\e[31mred"
spec:
  selector: {istio: ingressgateway}
`
	for _, tc := range []struct {
		name, overlay, want string
	}{
		{"through the overlay as it is", "", `error: base/gw.yaml:13: Gateway/bookinfo/gw\x1b[31mred: metadata.name: invalid name "gw\x1b[31mred"`},
		{"through an overlay that prefixes names", "namePrefix: prod-\n", `error: base/gw.yaml:13: Gateway/bookinfo/prod-gw\x1b[31mred: metadata.name: invalid name "prod-gw\x1b[31mred"`},
		{"through an overlay that suffixes names", "nameSuffix: -v2\n", `error: base/gw.yaml:13: Gateway/bookinfo/gw\x1b[31mred-v2: metadata.name: invalid name "gw\x1b[31mred-v2"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			repo := newExampleRepo(t)
			repo.Write("base/gw.yaml", gateways)
			repo.Edit("base/kustomization.yaml", "- ratings.yaml", "- ratings.yaml\n- gw.yaml")
			if tc.overlay != "" {
				repo.Edit("overlays/prod/kustomization.yaml", "patches:", tc.overlay+"patches:")
			}
			code, stdout, stderr := run(t, "validate", filepath.Join(repo.Dir, "overlays", "prod"))
			if code != ExitError {
				t.Errorf("exit %d, want %d", code, ExitError)
			}
			if !strings.Contains(stderr, tc.want) {
				t.Errorf("stderr lacks %s:\n%s%s", tc.want, stdout, stderr)
			}
			if strings.ContainsAny(stdout+stderr, "\x1b") {
				t.Errorf("output holds a raw ESC: %q", stderr)
			}
		})
	}
}

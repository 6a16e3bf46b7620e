package gitfixture

import (
	"fmt"
	"strings"
)

// SplitIntent returns a ServiceIntent for the service name in namespace ns
// with the versions v1 and v2, splitting its traffic v1:v2 (the weights
// should add up to 100 for a valid intent). spec is its last key, so a
// caller may append fields to it as lines indented by two spaces, e.g.
// "  trafficPolicy:\n    tls: ISTIO_MUTUAL\n".
func SplitIntent(ns, name string, v1, v2 int) string {
	return fmt.Sprintf(`apiVersion: meshintent.io/v1alpha1
kind: ServiceIntent
metadata: {name: %s, namespace: %s}
spec:
  versions: [{name: v1}, {name: v2}]
  split:
  - {version: v1, weight: %d}
  - {version: v2, weight: %d}
`, name, ns, v1, v2)
}

// Kustomization returns a kustomization.yaml listing resources in the order
// given.
func Kustomization(resources ...string) string {
	var b strings.Builder
	b.WriteString("resources:\n")
	for _, r := range resources {
		b.WriteString("- " + r + "\n")
	}
	return b.String()
}

// ReviewsHead is the first ten lines of ServiceIntent bookinfo/reviews with
// versions v1, v2 and v3, for tests that append more of its spec from line
// 11 on and check the lines errors and findings name.
const ReviewsHead = `apiVersion: meshintent.io/v1alpha1
kind: ServiceIntent
metadata:
  name: reviews
  namespace: bookinfo
spec:
  versions:
  - name: v1
  - name: v2
  - name: v3
`

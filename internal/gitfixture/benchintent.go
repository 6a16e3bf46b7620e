package gitfixture

import "fmt"

// BenchIntent is the realistic ServiceIntent svc-<i> (five digits) of
// namespace ns that the benchmarks generate by the thousand: three
// versions, a split, two matching rules, resilience settings and a traffic
// policy. Its line "  timeout: 2s" is the one the P2 benchmark edits.
func BenchIntent(ns string, i int) string {
	return fmt.Sprintf(`apiVersion: meshintent.io/v1alpha1
kind: ServiceIntent
metadata:
  name: svc-%05d
  namespace: %s
spec:
  versions:
  - name: v1
  - name: v2
  - name: v3
  routes:
  - name: testers
    match:
    - headers:
        end-user:
          exact: tester-%d
    to:
    - version: v2
      weight: 50
    - version: v3
      weight: 50
  - name: beta
    match:
    - uri:
        prefix: /api/v2
      method:
        exact: GET
    to:
    - version: v3
  split:
  - version: v1
    weight: 70
  - version: v2
    weight: 20
  - version: v3
    weight: 10
  timeout: 2s
  retries:
    attempts: 3
    perTryTimeout: 500ms
    retryOn: 5xx,connect-failure
  trafficPolicy:
    tls: ISTIO_MUTUAL
`, i, ns, i)
}

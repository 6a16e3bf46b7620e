// Package monitoring tests config/monitoring, the Grafana dashboard and the
// PrometheusRule shipped for the controller: promtool checks the rules and
// runs their unit tests, and a running controller is scraped to prove that
// every metric the dashboard and the alerts name is exported.
package monitoring

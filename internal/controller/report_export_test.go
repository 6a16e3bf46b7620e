package controller

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/meshintent/meshintent/api/v1alpha1"
	"github.com/meshintent/meshintent/pkg/report"
)

// The external tests in report_cli_test.go (package controller_test) run
// the CLI, which imports this package; these give them this package's
// control plane and drift scenario.

// DriftScenario is a drift scenario (see newDriftScenario).
type DriftScenario = driftScenario

// NewDriftScenario applies a repository and, unless clean, drifts it.
func NewDriftScenario(t *testing.T, clean bool) *DriftScenario {
	return newDriftScenario(t, nil, clean)
}

// SetDriftReport sets spec.driftReport.
func SetDriftReport(t *testing.T, obj *v1alpha1.IntentSync, spec *v1alpha1.DriftReportSpec) {
	setDriftReport(t, obj, spec)
}

// WaitReport waits for a stored report ok accepts.
func WaitReport(t *testing.T, obj *v1alpha1.IntentSync, timeout time.Duration, ok func(*report.Report) error) (*corev1.ConfigMap, *report.Report) {
	return waitReport(t, obj, timeout, ok)
}

// HasAllFindings accepts a report naming all of a scenario's drift.
func HasAllFindings(r *report.Report) error { return hasAllFindings(r) }

// Kubeconfig writes a kubeconfig for the control plane.
func Kubeconfig(t *testing.T) string { return env.Kubeconfig(t) }

package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestDemo runs the README's main command end to end, without waiting for
// Ctrl-C at the end, and checks the story it tells.
func TestDemo(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var out bytes.Buffer
	err := run(ctx, options{repoDir: "../../examples/repo", path: "overlays/prod"}, &out)
	if err != nil {
		t.Fatalf("demo failed: %v\n%s", err, out.String())
	}
	for _, want := range []string{
		"valid: ", // the policy gate passed
		"VirtualService/bookinfo/reviews created", // the first apply
		"team=books",                                 // the namespace kept its own label
		"applied local: 11 unchanged",                // the second apply wrote nothing
		"(set by kubectl-patch)",                     // the drift report names the manager
		"made by Kiali wizard",                       // and the unmanaged object
		"VirtualService/bookinfo/reviews configured", // the correction
		"bookinfo   True    Synced",                  // the controller synced the IntentSync
		"after the push",                             // the webhook-triggered commit was applied
		"DriftCorrected",                             // and the hand edit reverted
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
	// The second apply wrote nothing.
	if !regexp.MustCompile(`applied local: \d+ unchanged\n`).MatchString(out.String()) {
		t.Errorf("no apply reported only unchanged objects")
	}
	if t.Failed() {
		t.Logf("demo output:\n%s", out.String())
	}
}

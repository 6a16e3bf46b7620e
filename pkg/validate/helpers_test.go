package validate

import (
	"errors"
	"strings"
	"testing"
)

// wantError fails the test unless err's message contains each of wants.
func wantError(t *testing.T, err error, wants ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one containing %q", wants)
	}
	for _, w := range wants {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %v, want it to contain %q", err, w)
		}
	}
}

// wantPolicyError fails the test unless err is a *PolicyError whose message
// contains want.
func wantPolicyError(t *testing.T, err error, want string) {
	t.Helper()
	wantError(t, err, want)
	if _, ok := errors.AsType[*PolicyError](err); !ok {
		t.Errorf("error %T is not a *PolicyError", err)
	}
}

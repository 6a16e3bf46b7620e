package manifest

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckNames(t *testing.T) {
	tests := []struct {
		name                 string
		kind, namespace, obj string
		field, quoted        string // want a *NameError on field, quoting the value so
	}{
		{name: "a subdomain name in a label namespace is valid", kind: "VirtualService", namespace: "shop", obj: "reviews.v2"},
		{name: "a cluster-scoped object has no namespace", kind: "Namespace", obj: "shop"},
		{name: "an empty name is left to the caller", kind: "Gateway", namespace: "shop"},
		{name: "an ESC sequence in a name is quoted", kind: "VirtualService", namespace: "shop", obj: "x\x1b[2J", field: "metadata.name", quoted: `"x\x1b[2J"`},
		{name: "a bidi override in a name is quoted", kind: "Gateway", namespace: "shop", obj: "a\u202eb", field: "metadata.name", quoted: `"a\u202eb"`},
		{name: "a newline in a namespace is quoted", kind: "Gateway", namespace: "shop\nDENY", obj: "gw", field: "metadata.namespace", quoted: `"shop\nDENY"`},
		{name: "a namespace is a label, not a subdomain", kind: "Gateway", namespace: "a.b", obj: "gw", field: "metadata.namespace", quoted: `"a.b"`},
		{name: "a Namespace's name is a label", kind: "Namespace", obj: "a.b", field: "metadata.name", quoted: `"a.b"`},
		{name: "upper case is refused", kind: "Sidecar", namespace: "shop", obj: "Default", field: "metadata.name", quoted: `"Default"`},
		{name: "a name longer than 253 characters is refused", kind: "Sidecar", namespace: "shop", obj: strings.Repeat("a", 254), field: "metadata.name", quoted: `"aaaa`},
		{name: "an HTML comment is refused", kind: "Telemetry", namespace: "shop", obj: "a<!--", field: "metadata.name", quoted: `"a<!--"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckNames(tt.kind, tt.namespace, tt.obj)
			if tt.field == "" {
				if err != nil {
					t.Fatalf("CheckNames: %v", err)
				}
				return
			}
			var ne *NameError
			if !errors.As(err, &ne) || ne.Field != tt.field {
				t.Fatalf("CheckNames = %v, want a NameError on %s", err, tt.field)
			}
			if msg := err.Error(); !strings.HasPrefix(msg, tt.field+": invalid name "+tt.quoted) || strings.ContainsAny(msg, "\x1b\n\u202e") {
				t.Errorf("error %q does not quote the value as %s", msg, tt.quoted)
			}
		})
	}
}

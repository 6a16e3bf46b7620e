package render

import (
	"strings"
	"testing"
)

func TestRenderRefusesInvalidNames(t *testing.T) {
	tests := []struct {
		name, object, want string
	}{{
		name:   "an ESC sequence in a pass-through object's name",
		object: "apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata:\n  name: \"gw\\e[2J\\e]0;pwned\\a\"\n  namespace: bookinfo\n",
		want:   `base/x.yaml:4: Gateway/bookinfo/gw\x1b[2J\x1b]0;pwned\x07: metadata.name: invalid name "gw\x1b[2J\x1b]0;pwned\a": a lowercase RFC 1123 subdomain`,
	}, {
		name:   "a bidi override in a namespace",
		object: "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata:\n  name: allow\n  namespace: \"book\\u202Einfo\"\n",
		want:   `base/x.yaml:5: AuthorizationPolicy/book\u202Einfo/allow: metadata.namespace: invalid name "book\u202einfo": a lowercase RFC 1123 label`,
	}, {
		name:   "markup in a name, in the second document",
		object: testVS + "---\napiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata:\n  name: \"a<!--@team\"\n  namespace: bookinfo\n",
		want:   `base/x.yaml:12: DestinationRule/bookinfo/a<!--@team: metadata.name: invalid name "a<!--@team"`,
	}, {
		name:   "a dotted namespace",
		object: strings.Replace(testVS, "namespace: bookinfo", "namespace: book.info", 1),
		want:   `base/x.yaml:5: VirtualService/book.info/reviews: metadata.namespace: invalid name "book.info"`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root, _ := writeRepo(t, map[string]string{
				"base/kustomization.yaml": "resources:\n- x.yaml\n",
				"base/x.yaml":             tt.object,
			})
			_, err := Render(t.Context(), Options{Root: root, Path: "base"})
			if err == nil {
				t.Fatal("Render returned no error")
			}
			if got := err.Error(); !strings.HasPrefix(got, tt.want) {
				t.Errorf("error:\n got %s\nwant %s…", got, tt.want)
			}
			if strings.ContainsAny(err.Error(), "\x1b\a\u202e") {
				t.Errorf("error %q holds a raw control or bidi character", err)
			}
		})
	}
	t.Run("through an overlay, the line of the bad field in the base is named", func(t *testing.T) {
		root, _ := writeRepo(t, map[string]string{
			"base/kustomization.yaml":          "resources:\n- x.yaml\n",
			"base/x.yaml":                      strings.Replace(testVS, "name: reviews", "name: \"re\\e[31mviews\"", 1),
			"overlays/prod/kustomization.yaml": "resources:\n- ../../base\ncommonLabels: {env: prod}\n",
		})
		_, err := Render(t.Context(), Options{Root: root, Path: "overlays/prod"})
		if want := `base/x.yaml:4: VirtualService/bookinfo/re\x1b[31mviews: metadata.name: invalid name "re\x1b[31mviews"`; err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("error:\n got %v\nwant %s…", err, want)
		}
	})
	t.Run("valid subdomain names pass", func(t *testing.T) {
		root, _ := writeRepo(t, map[string]string{
			"base/kustomization.yaml": "resources:\n- x.yaml\n",
			"base/x.yaml":             strings.Replace(testVS, "name: reviews", "name: reviews.v2-canary", 1),
		})
		if _, err := Render(t.Context(), Options{Root: root, Path: "base"}); err != nil {
			t.Fatal(err)
		}
	})
}

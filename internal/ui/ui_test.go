package ui

import (
	"bufio"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/meshintent/meshintent/api/v1alpha1"
)

func TestPages(t *testing.T) {
	ns := env.Namespace(t)
	createYAML(t, ns, reviewsYAML(80, 20))
	newSync(t, ns, syncSpec{
		name:      "mesh",
		url:       "https://user:s3cret-token@git.example.com/mesh.git",
		inventory: []string{"DestinationRule/" + ns + "/reviews", "VirtualService/" + ns + "/reviews", "VirtualService/" + ns + "/gone"},
		drift: &v1alpha1.DriftStatus{CheckedAt: metav1.Now(), Drifted: 1, Missing: 1, Entries: []string{
			"VirtualService/" + ns + "/gone: missing (deleted from the cluster)",
			"VirtualService/" + ns + "/reviews .spec.http[1].route[0].weight: want 80, have 50 (kubectl-edit)"}},
		changed: "1 created, 2 configured, 1 deleted",
		policy: &v1alpha1.PolicyStatus{Warnings: 1, Results: []v1alpha1.PolicyResult{{Severity: "warn", Policy: "meshintent.suspend",
			Object: "ServiceIntent/" + ns + "/reviews", Source: "overlays/prod/reviews.yaml", Line: 14, Field: "spec.suspend", Message: "v3 suspended <b>since</b> INC-1"}}},
		commit:  &v1alpha1.CommitInfo{Subject: "reviews: <i>more</i> to v2", Author: "Ada"},
		fetched: "main@sha1:fedcba9876543210fedcba9876543210fedcba98",
		cluster: "https://remote.example.com:6443",
	})
	// Mesh config in the namespace that Git does not manage.
	createYAML(t, ns, `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: handmade}
spec: {host: ratings}`)
	newSync(t, ns, syncSpec{name: "broken", ready: metav1.ConditionFalse, reason: v1alpha1.ReasonPolicyDenied,
		message: `<script>alert("git")</script> denied`})
	_, hs := startServer(t, Options{Namespace: ns})

	tests := []struct {
		name       string
		path       string
		wantStatus int
		want       []string
		notWant    []string
		// order lists strings that must appear in this order.
		order []string
	}{{
		name:       "the list shows every IntentSync with its state as text, objects, drift, policy and cluster",
		path:       "/",
		wantStatus: http.StatusOK,
		want: []string{`href="/intentsyncs/` + ns + `/mesh"`, ">Ready<", ">Not ready<", "PolicyDenied", "3</td>", "2 drifted", "1 warn",
			"https://remote.example.com:6443", "https://git.example.com/mesh.git", "main@sha1:0123456789ab", "newer revision fetched",
			`<span class="subject">reviews: &lt;i&gt;more&lt;/i&gt; to v2</span>`,
			`<script src="/static/app.js" defer></script>`, `data-events="/events"`, `href="/?`},
		notWant: []string{"s3cret-token", `<script>alert`},
	}, {
		name:       "a filter by status leaves only the matching IntentSyncs",
		path:       "/?status=Not+ready",
		wantStatus: http.StatusOK,
		want:       []string{">broken<", "1 of 2 IntentSyncs shown"},
		notWant:    []string{">mesh<"},
	}, {
		name:       "a search by name leaves only the matching IntentSyncs",
		path:       "/?q=broke",
		wantStatus: http.StatusOK,
		want:       []string{">broken<"},
		notWant:    []string{">mesh<"},
	}, {
		name:       "sorting by name descending reverses the order and says so",
		path:       "/?sort=name&order=desc",
		wantStatus: http.StatusOK,
		order:      []string{">mesh<", ">broken<"},
		want:       []string{`aria-sort="descending"`},
	}, {
		name:       "sorting by status puts problems first",
		path:       "/?sort=status",
		wantStatus: http.StatusOK,
		order:      []string{">broken<", ">mesh<"},
	}, {
		name:       "the detail page has the graph, drift per object, policy results with file and field, and the pending revision",
		path:       "/intentsyncs/" + ns + "/mesh",
		wantStatus: http.StatusOK,
		want: []string{"<svg", `role="img"`, "80%", "20%", "0% suspended", "SUSPENDED (weight 0)", "jason: header end-user = jason",
			"from overlays/prod/reviews.yaml", ">drifted<", ">in sync<",
			"<td><code>.spec.http[1].route[0].weight</code></td><td><code>80</code></td><td><code>50</code></td><td>kubectl-edit</td>",
			"<code>VirtualService/" + ns + "/gone</code></td><td><span class=\"badge failed\">missing</span>",
			"deleted 1 object no longer in Git", ">1 created, 2 configured, 1 deleted<",
			"<code>DestinationRule/" + ns + "/handmade</code></td><td><span class=\"badge warn\">unmanaged</span>",
			"overlays/prod/reviews.yaml:14", "spec.suspend", "v3 suspended &lt;b&gt;since&lt;/b&gt; INC-1",
			"Revision main@sha1:fedcba987654 is fetched but not applied yet", `data-events="/events?name=mesh&amp;ns=` + ns + `"`,
			"No drift report is scheduled", `reviews: &lt;i&gt;more&lt;/i&gt; to v2</span> <span class="hint">by Ada</span>`},
		notWant: []string{"s3cret-token", "<b>since</b>", "<i>more</i>", "<code>DestinationRule/" + ns + "/reviews</code></td><td><span class=\"badge warn\">unmanaged"},
	}, {
		name:       "text from Git in a condition message is escaped",
		path:       "/intentsyncs/" + ns + "/broken",
		wantStatus: http.StatusOK,
		want:       []string{"&lt;script&gt;alert(&#34;git&#34;)&lt;/script&gt; denied", ">Not ready<"},
		notWant:    []string{`<script>alert`},
	}, {
		name:       "one graph as an SVG document",
		path:       "/intentsyncs/" + ns + "/mesh/graph/" + ns + "/reviews",
		wantStatus: http.StatusOK,
		want:       []string{`<svg xmlns="http://www.w3.org/2000/svg"`, "80%"},
	}, {
		name:       "an unknown IntentSync is 404",
		path:       "/intentsyncs/" + ns + "/nope",
		wantStatus: http.StatusNotFound,
		want:       []string{"No such IntentSync."},
	}, {
		name:       "the static files are served",
		path:       "/static/app.js",
		wantStatus: http.StatusOK,
		want:       []string{"EventSource"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, h, body := get(t, hs.URL, tt.path, "")
			if status != tt.wantStatus {
				t.Fatalf("GET %s: %d, want %d\n%s", tt.path, status, tt.wantStatus, body)
			}
			if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "script-src 'self'") {
				t.Errorf("Content-Security-Policy %q", csp)
			}
			checkBody(t, tt.path, body, tt.want, tt.notWant)
			last := -1
			for _, w := range tt.order {
				i := strings.Index(body, w)
				if i < last {
					t.Errorf("GET %s: %q is not after the previous entry of %q", tt.path, w, tt.order)
				}
				last = i
			}
			if strings.Contains(body, "style=") || strings.Contains(body, "<style") || strings.Contains(body, "<script>") {
				t.Errorf("GET %s has inline style or script", tt.path)
			}
		})
	}
}

func TestEventsOnStatusChange(t *testing.T) {
	ns := env.Namespace(t)
	o := newSync(t, ns, syncSpec{name: "mesh"})
	other := newSync(t, ns, syncSpec{name: "other"})
	_, hs := startServer(t, Options{Namespace: ns})

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, hs.URL+"/events?ns="+ns+"&name=mesh", nil)
	resp, err := http.DefaultClient.Do(req) //nolint:bodyclose // closed by the defer below; a goroutine reads it
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type %q", ct)
	}
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	waitLine := func(want string) {
		t.Helper()
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("stream ended before %q", want)
				}
				if l == want {
					return
				}
			case <-ctx.Done():
				t.Fatalf("no %q within the timeout", want)
			}
		}
	}
	waitLine("event: open")

	// A change to another IntentSync is not sent to this stream; a status
	// change of this one is, within a second.
	setMessage := func(obj *v1alpha1.IntentSync, msg string) {
		cur := &v1alpha1.IntentSync{}
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(obj), cur); err != nil {
			t.Fatal(err)
		}
		cur.Status.Conditions[0].Message = msg
		if err := env.Client.Status().Update(ctx, cur); err != nil {
			t.Fatal(err)
		}
	}
	setMessage(other, "changed")
	start := time.Now()
	setMessage(o, "changed too")
	waitLine("data: " + ns + "/mesh")
	if d := time.Since(start); d > time.Second {
		t.Errorf("event after %s, want within 1s", d)
	}
	// Had the other change been sent, it would have come first.
	select {
	case l := <-lines:
		if strings.Contains(l, "/other") {
			t.Errorf("stream for mesh got %q", l)
		}
	default:
	}
}

func TestAuth(t *testing.T) {
	ns := env.Namespace(t)
	createYAML(t, ns, reviewsYAML(80, 20))
	newSync(t, ns, syncSpec{name: "mesh", url: "https://git.example.com/private-mesh.git",
		inventory: []string{"VirtualService/" + ns + "/reviews"}})
	allowed := env.ServiceAccountToken(t, ns, "viewer", true)
	denied := env.ServiceAccountToken(t, ns, "stranger", false)
	_, hs := startServer(t, Options{Auth: true})

	secretData := []string{"private-mesh", "mesh</a>", "80%", "reviews"}
	tests := []struct {
		name       string
		path       string
		token      string
		wantStatus int
		want       string
		noData     bool
	}{
		{"without a token the list is 401 and shows the login form", "/", "", http.StatusUnauthorized, `name="token"`, true},
		{"without a token a detail page is 401", "/intentsyncs/" + ns + "/mesh", "", http.StatusUnauthorized, "Sign in", true},
		{"an invalid token is 401", "/intentsyncs/" + ns + "/mesh", "not-a-token", http.StatusUnauthorized, "not valid", true},
		{"without a token the event stream is 401", "/events?ns=" + ns + "&name=mesh", "", http.StatusUnauthorized, "unauthorized", true},
		{"a token that may get IntentSyncs in the namespace sees the page", "/intentsyncs/" + ns + "/mesh", allowed, http.StatusOK, "80%", false},
		{"and the list, filtered to its namespaces", "/", allowed, http.StatusOK, "private-mesh", false},
		{"a token without rights gets 403 on the page and no data", "/intentsyncs/" + ns + "/mesh", denied, http.StatusForbidden, "may not get IntentSyncs", true},
		{"and 403 on the list", "/", denied, http.StatusForbidden, "may not get IntentSyncs", true},
		{"and on the graph", "/intentsyncs/" + ns + "/mesh/graph/" + ns + "/reviews", denied, http.StatusForbidden, "may not", true},
		{"and on the event stream", "/events?ns=" + ns + "&name=mesh", denied, http.StatusForbidden, "forbidden", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, _, body := get(t, hs.URL, tt.path, tt.token)
			if status != tt.wantStatus {
				t.Fatalf("GET %s: %d, want %d\n%s", tt.path, status, tt.wantStatus, body)
			}
			if !strings.Contains(body, tt.want) {
				t.Errorf("GET %s lacks %q:\n%s", tt.path, tt.want, body)
			}
			if tt.noData {
				for _, s := range secretData {
					if strings.Contains(body, s) {
						t.Errorf("GET %s (%d) shows %q", tt.path, status, s)
					}
				}
			}
		})
	}

	t.Run("the login form sets an HttpOnly cookie that then authenticates", func(t *testing.T) {
		c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := c.PostForm(hs.URL+"/login", map[string][]string{"token": {allowed}, "next": {"//evil.example.com/"}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || loc != "/" {
			t.Fatalf("login: %d to %q, want 303 to /", resp.StatusCode, loc)
		}
		var cookie *http.Cookie
		for _, ck := range resp.Cookies() {
			if ck.Name == tokenCookie {
				cookie = ck
			}
		}
		if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode {
			t.Fatalf("cookie %+v, want HttpOnly and SameSite=Strict", cookie)
		}
		req, _ := http.NewRequest(http.MethodGet, hs.URL+"/intentsyncs/"+ns+"/mesh", nil)
		req.AddCookie(cookie)
		resp, err = c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("with the cookie: %d, want 200", resp.StatusCode)
		}
	})
}

func TestSafeNext(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/intentsyncs/a/b", "/intentsyncs/a/b"},
		{"//evil.example.com", "/"},
		{"/\\evil.example.com", "/"},
		{"https://evil.example.com", "/"},
		{"", "/"},
		{"/a\r\nSet-Cookie: x", "/"},
	}
	for _, tt := range tests {
		if got := safeNext(tt.in); got != tt.want {
			t.Errorf("safeNext(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

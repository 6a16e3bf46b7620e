package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fuzzRoutes are the paths FuzzReceiver picks from.
var fuzzRoutes = []string{PathGitHub, PathGitLab, PathGeneric, "/hooks/other"}

// FuzzReceiver sends random bodies and headers to every route and checks
// the receiver never panics, answers with a known status, never echoes the
// secret, and never triggers unless the request is authentic: a POST whose
// signature or token is valid, as checked here independently of the
// receiver's code. With sign set, the harness signs the request itself so
// that the fuzzer also explores what happens after verification.
//
// It calls ServeHTTP in-process rather than over HTTP, so that header
// values a client would refuse reach the receiver too.
func FuzzReceiver(f *testing.F) {
	for _, name := range []string{"github-push.json", "github-tag.json", "github-ping.json"} {
		b := []byte(fixture(f, name))
		f.Add(uint8(0), "POST", true, "", "", "", "push", "d-1", b)
		f.Add(uint8(0), "POST", false, "sha256="+strings.Repeat("0", 64), "", "", "push", "d-1", b)
	}
	for _, name := range []string{"gitlab-push.json", "gitlab-tag.json"} {
		b := []byte(fixture(f, name))
		f.Add(uint8(1), "POST", true, "", "", "", "Push Hook", "u-1", b)
		f.Add(uint8(1), "POST", false, "", testSecret+" ", "", "Tag Push Hook", "u-1", b)
	}
	generic := []byte(`{"url": "git@git.example.com:mesh/config.git", "branch": "main", "commit": "4a1f0c9e"}`)
	f.Add(uint8(2), "POST", true, "", "", "", "", "", generic)
	f.Add(uint8(2+4), "POST", false, "sha256=", "", "1777636800", "", "", generic)
	f.Add(uint8(2), "POST", false, genericSignature(testSecret, "-1", string(generic)), "", "-1", "", "", generic)
	f.Add(uint8(0), "POST", true, "", "", "", "ping", "", []byte("{}"))
	f.Add(uint8(0+4), "POST", true, "", "", "", "push", "d-2", []byte("payload="+url.QueryEscape(`{"ref":"refs/tags/x","repository":{"url":"u"}}`)))
	f.Add(uint8(0), "POST", true, "", "", "", "push", "d-3", []byte("null"))
	f.Add(uint8(1), "POST", true, "", "", "", "Push Hook", "", []byte(`{"project": {"git_http_url": 5}}`))
	f.Add(uint8(2), "POST", true, "", "", "", "", "", bytes.Repeat([]byte("x"), 5000))
	f.Add(uint8(3), "GET", false, "", "", "", "", "", []byte(nil))
	f.Add(uint8(1), "PUT", true, "", "", "", "Push Hook", "", []byte("{}"))

	f.Fuzz(func(t *testing.T, route uint8, method string, sign bool, signature, token, timestamp, event, delivery string, body []byte) {
		calls := 0
		r, err := NewReceiver(Options{
			Secret:       []byte(testSecret),
			MaxBodyBytes: 4096,
			Now:          func() time.Time { return testNow },
		}, func(context.Context, Event) int {
			calls++
			return 1
		})
		if err != nil {
			t.Fatal(err)
		}

		path := fuzzRoutes[int(route)%len(fuzzRoutes)]
		if sign {
			timestamp = unix(testNow)
			signature = "sha256=" + hmacHex(testSecret, signedParts(path, timestamp, body)...)
			token = testSecret
		}
		h := http.Header{}
		for k, v := range map[string]string{
			headerGitHubSignature: signature,
			HeaderSignature:       signature,
			headerGitLabToken:     token,
			HeaderTimestamp:       timestamp,
			headerGitHubEvent:     event,
			headerGitLabEvent:     event,
			headerGitHubDelivery:  delivery,
			headerGitLabDelivery:  delivery,
		} {
			h[k] = []string{v}
		}
		length := int64(len(body))
		if route&4 != 0 {
			length = -1 // unknown, as for a chunked body
		}
		req := &http.Request{
			Method:        method,
			URL:           &url.URL{Path: path},
			Proto:         "HTTP/1.1",
			ProtoMajor:    1,
			ProtoMinor:    1,
			Header:        h,
			Body:          io.NopCloser(bytes.NewReader(body)),
			ContentLength: length,
			RemoteAddr:    "192.0.2.1:1234",
		}
		req = req.WithContext(t.Context())
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)

		known := []int{200, 202, 400, 401, 404, 405, 409, 413}
		if !slices.Contains(known, w.Code) {
			t.Errorf("status %d is not one of %v", w.Code, known)
		}
		if strings.Contains(w.Body.String(), testSecret) {
			t.Errorf("response %q echoes the secret", w.Body.String())
		}
		if calls > 1 {
			t.Errorf("trigger called %d times for one request", calls)
		}
		if calls > 0 && !(method == http.MethodPost && authentic(path, signature, token, timestamp, body)) {
			t.Errorf("trigger called for an unauthenticated %s %s (signature %q, token %q, timestamp %q)",
				method, path, signature, token, timestamp)
		}
		if calls > 0 && w.Code != http.StatusAccepted {
			t.Errorf("trigger called but status is %d", w.Code)
		}
	})
}

// signedParts is what the signature of a request to path covers.
func signedParts(path, timestamp string, body []byte) []string {
	if path == PathGeneric {
		return []string{timestamp, ".", string(body)}
	}
	return []string{string(body)}
}

// authentic reports whether a request to path carries valid credentials
// for the test secret at testNow.
func authentic(path, signature, token, timestamp string, body []byte) bool {
	macOK := func(parts ...string) bool {
		digits, ok := strings.CutPrefix(strings.TrimSpace(signature), "sha256=")
		if !ok {
			return false
		}
		got, err := hex.DecodeString(digits)
		want, _ := hex.DecodeString(hmacHex(testSecret, parts...))
		return err == nil && hmac.Equal(got, want)
	}
	switch path {
	case PathGitHub:
		return macOK(string(body))
	case PathGitLab:
		return token == testSecret
	case PathGeneric:
		ts := strings.TrimSpace(timestamp)
		secs, err := strconv.ParseInt(ts, 10, 64)
		if err != nil {
			return false
		}
		skew := testNow.Sub(time.Unix(secs, 0))
		if skew < -DefaultReplayWindow || skew > DefaultReplayWindow {
			return false
		}
		return macOK(ts, ".", string(body))
	}
	return false
}

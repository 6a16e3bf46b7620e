package intent

import (
	"errors"
	"fmt"
	"regexp"
	"regexp/syntax"
	"slices"
	"strconv"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/meshintent/meshintent/api/v1alpha1"
)

// validator checks what the Go types cannot say: enums, ranges, references to
// spec.versions, regexes, weights. It also fills in the one weight of a list
// that may be left out (100 minus the others).
type validator struct {
	errs     []*FieldError
	reported map[string]bool // fields the strict decoder already complained about
	absent   map[any]bool    // optional fields left out, by address (see optionalFields)
}

func newValidator(d *strictDecoder) *validator {
	v := &validator{absent: d.absent}
	if len(d.errs) > 0 {
		v.reported = make(map[string]bool, len(d.errs))
		for _, e := range d.errs {
			v.reported[e.Field] = true
		}
	}
	return v
}

// The checks below take a parent path and a field name, and make the
// field's path only when there is something to report: valid intents, the
// common case, then cost no allocations for paths.

func (v *validator) errf(p Path, format string, args ...any) {
	v.errs = append(v.errs, &FieldError{Path: p, Field: p.String(), Message: fmt.Sprintf(format, args...)})
}

// isReported tells whether the strict decoder already complained about p.field.
func (v *validator) isReported(p Path, field ...any) bool {
	return len(v.reported) > 0 && v.reported[p.Child(field...).String()]
}

// empty reports an empty required string unless the decoder already said it is missing.
func (v *validator) empty(p Path, field string, s string) bool {
	if s != "" {
		return false
	}
	if !v.isReported(p, field) {
		v.errf(p.Child(field), "must not be empty")
	}
	return true
}

func (v *validator) dns1123Label(p Path, field string, s string) {
	if v.empty(p, field, s) {
		return
	}
	if msgs := validation.IsDNS1123Label(s); len(msgs) > 0 {
		v.errf(p.Child(field), "invalid name %q: %s", s, strings.Join(msgs, "; "))
	}
}

func (v *validator) percentage(p Path, field string, f *float64) {
	if f != nil && (*f < 0 || *f > 100) {
		v.errf(p.Child(field), "percentage %v must be between 0 and 100", *f)
	}
}

// duration checks what Istio accepts: at least 1ms, in whole milliseconds.
func (v *validator) duration(p Path, field string, d *metav1.Duration) {
	switch {
	case d == nil || v.isReported(p, field):
	case d.Duration < time.Millisecond:
		v.errf(p.Child(field), "duration %s must be at least 1ms", d.Duration)
	case d.Duration%time.Millisecond != 0:
		v.errf(p.Child(field), "duration %s must be a whole number of milliseconds", d.Duration)
	}
}

func (v *validator) enum(p Path, s string, allowed ...string) {
	for _, a := range allowed {
		if s == a {
			return
		}
	}
	v.errf(p, "unsupported value %q: must be one of %s", s, strings.Join(allowed, ", "))
}

func (v *validator) nonNegative(p Path, field string, n int32) {
	if n < 0 {
		v.errf(p.Child(field), "%d must not be negative", n)
	}
}

func (v *validator) httpStatus(p Path, field string, n int32) {
	if n < 200 || n > 599 {
		v.errf(p.Child(field), "HTTP status %d must be between 200 and 599", n)
	}
}

func (v *validator) labels(p Path, m map[string]string) {
	for _, k := range sortedKeys(m) {
		if msgs := validation.IsQualifiedName(k); len(msgs) > 0 {
			v.errf(p.Child(k), "invalid label key %q: %s", k, strings.Join(msgs, "; "))
		}
		if msgs := validation.IsValidLabelValue(m[k]); len(msgs) > 0 {
			v.errf(p.Child(k), "invalid label value %q: %s", m[k], strings.Join(msgs, "; "))
		}
	}
}

func (v *validator) namespaceIntent(ni *v1alpha1.NamespaceIntent, hasMeta bool) {
	if hasMeta {
		v.dns1123Label(P("metadata"), "name", ni.Name)
	}
	s := &ni.Spec
	if !v.isReported(P("spec"), "dataplane") && !v.isReported(P("spec")) {
		v.enum(P("spec", "dataplane"), string(s.Dataplane),
			string(v1alpha1.DataplaneSidecar), string(v1alpha1.DataplaneAmbient), string(v1alpha1.DataplaneNone))
	}
	if s.Revision != "" {
		if s.Dataplane != v1alpha1.DataplaneSidecar {
			v.errf(P("spec", "revision"), "only valid with dataplane sidecar")
		} else if msgs := validation.IsValidLabelValue(s.Revision); len(msgs) > 0 {
			v.errf(P("spec", "revision"), "invalid revision %q: %s", s.Revision, strings.Join(msgs, "; "))
		}
	}
	if s.Tracing != nil {
		v.percentage(P("spec", "tracing"), "samplingPercentage", s.Tracing.SamplingPercentage)
	}
}

func (v *validator) serviceIntent(si *v1alpha1.ServiceIntent, hasMeta bool) {
	if hasMeta {
		meta := P("metadata")
		v.dns1123Label(meta, "name", si.Name)
		v.dns1123Label(meta, "namespace", si.Namespace)
	}
	s := &si.Spec
	if s.Service != "" {
		if msgs := validation.IsDNS1035Label(s.Service); len(msgs) > 0 {
			v.errf(P("spec", "service"), "invalid service name %q: %s", s.Service, strings.Join(msgs, "; "))
		}
	}
	if s.VersionLabel != "" {
		if msgs := validation.IsQualifiedName(s.VersionLabel); len(msgs) > 0 {
			v.errf(P("spec", "versionLabel"), "invalid label key %q: %s", s.VersionLabel, strings.Join(msgs, "; "))
		}
	}

	known := make(map[string]bool, len(s.Versions))
	spec := P("spec")
	for i, ver := range s.Versions {
		p := P("spec", "versions", i)
		if !v.empty(p, "name", ver.Name) {
			if msgs := validation.IsDNS1123Label(ver.Name); len(msgs) > 0 {
				v.errf(p.Child("name"), "invalid version name %q: %s", ver.Name, strings.Join(msgs, "; "))
			}
			if known[ver.Name] {
				v.errf(p.Child("name"), "duplicate version %q", ver.Name)
			}
			known[ver.Name] = true
		}
		if ver.Labels != nil {
			if len(ver.Labels) == 0 {
				v.errf(p.Child("labels"), "must not be empty; leave it out to select %s=%s", si.VersionLabelKey(), ver.Name)
			}
			v.labels(p.Child("labels"), ver.Labels)
		}
		v.trafficPolicy(p, "trafficPolicy", ver.TrafficPolicy)
	}

	v.destinations(spec, "split", s.Split, known)

	for i := range s.Routes {
		r := &s.Routes[i]
		p := P("spec", "routes", i)
		if len(r.Match) == 0 {
			if i < len(s.Routes)-1 {
				v.errf(p, "a rule without match catches every request, so the rules after it are never used; make it the last rule")
			} else if len(s.Split) > 0 {
				v.errf(P("spec", "split"), "never used: %s has no match and catches every request", p)
			}
		}
		for j, m := range r.Match {
			v.match(p.Child("match", j), m)
		}
		if len(r.To) == 0 && !v.isReported(p, "to") {
			v.errf(p.Child("to"), "must not be empty")
		}
		v.destinations(p, "to", r.To, known)
		v.fault(p, "fault", r.Fault)
		v.duration(p, "timeout", r.Timeout)
	}

	if sp := s.Suspend; sp != nil {
		v.suspend(si, known)
	}
	v.duration(spec, "timeout", s.Timeout)
	if r := s.Retries; r != nil {
		p := P("spec", "retries")
		v.nonNegative(p, "attempts", r.Attempts)
		v.duration(p, "perTryTimeout", r.PerTryTimeout)
		if r.RetryOn != "" {
			v.retryOn(p.Child("retryOn"), r.RetryOn)
		}
	}
	v.fault(spec, "fault", s.Fault)
	if m := s.Mirror; m != nil {
		p := P("spec", "mirror")
		if !v.empty(p, "version", m.Version) && !known[m.Version] {
			v.errf(p.Child("version"), "version %q is not in spec.versions", m.Version)
		}
		v.percentage(p, "percentage", m.Percentage)
	}
	v.trafficPolicy(spec, "trafficPolicy", s.TrafficPolicy)
	if s.Tracing != nil {
		v.percentage(P("spec", "tracing"), "samplingPercentage", s.Tracing.SamplingPercentage)
	}
}

// destinations checks a weighted list and fills in the weight left out, if any.
func (v *validator) destinations(parent Path, field string, ds []v1alpha1.Destination, known map[string]bool) {
	if len(ds) == 0 {
		return
	}
	missing, sum, bad := -1, 0, false
	for i := range ds {
		d := &ds[i]
		if d.Version == "" {
			if !v.isReported(parent, field, i, "version") {
				v.errf(parent.Child(field, i, "version"), "must not be empty")
			}
		} else if !known[d.Version] {
			v.errf(parent.Child(field, i, "version"), "version %q is not in spec.versions", d.Version)
		} else {
			for _, e := range ds[:i] {
				if e.Version == d.Version {
					v.errf(parent.Child(field, i, "version"), "duplicate version %q", d.Version)
					break
				}
			}
		}
		if v.absent[&d.Weight] {
			if missing >= 0 {
				v.errf(parent.Child(field, i, "weight"), "only one destination may leave out its weight, and %s already does", parent.Child(field, missing))
				bad = true
			}
			missing = i
			continue
		}
		if v.isReported(parent, field, i, "weight") {
			bad = true
			continue
		}
		if d.Weight < 0 || d.Weight > 100 {
			v.errf(parent.Child(field, i, "weight"), "weight %d must be between 0 and 100", d.Weight)
			bad = true
		}
		sum += int(d.Weight)
	}
	switch {
	case bad:
	case missing >= 0 && sum > 100:
		v.errf(parent.Child(field), "weights sum to %d, more than 100", sum)
	case missing >= 0:
		ds[missing].Weight = int32(100 - sum)
	case sum != 100:
		v.errf(parent.Child(field), "weights sum to %d, want 100", sum)
	}
}

func (v *validator) match(p Path, m v1alpha1.Match) {
	if len(m.Headers) == 0 && m.URI == nil && m.Method == nil && len(m.QueryParams) == 0 {
		v.errf(p, "match entry has no condition; leave out match for a rule that catches every request")
		return
	}
	for _, name := range sortedKeys(m.Headers) {
		hp := p.Child("headers", name)
		if strings.ToLower(name) != name {
			v.errf(hp, "header name must be lower-case")
		}
		v.stringMatch(hp, m.Headers[name], true)
	}
	if m.URI != nil {
		v.stringMatch(p.Child("uri"), *m.URI, true)
	}
	if m.Method != nil {
		v.stringMatch(p.Child("method"), *m.Method, true)
	}
	for _, name := range sortedKeys(m.QueryParams) {
		v.stringMatch(p.Child("queryParams", name), m.QueryParams[name], false)
	}
}

func (v *validator) stringMatch(p Path, m v1alpha1.StringMatch, prefixOK bool) {
	var set []string
	if m.Exact != "" {
		set = append(set, "exact")
	}
	if m.Prefix != "" {
		set = append(set, "prefix")
	}
	if m.Regex != "" {
		set = append(set, "regex")
	}
	switch {
	case len(set) == 0:
		v.errf(p, "one of exact, prefix or regex must be set")
	case len(set) > 1:
		v.errf(p, "only one of exact, prefix or regex may be set, got %s", strings.Join(set, " and "))
	}
	if m.Prefix != "" && !prefixOK {
		v.errf(p.Child("prefix"), "prefix match is not supported for query parameters; use exact or regex")
	}
	if m.Regex != "" {
		if _, err := regexp.Compile(m.Regex); err != nil {
			var se *syntax.Error
			if errors.As(err, &se) && hasLineBreak(se.Expr) {
				// regexp quotes the expression in backticks as it is: a line
				// break in it would split the error.
				v.errf(p.Child("regex"), "invalid RE2 regex: error parsing regexp: %s: %q", se.Code, se.Expr)
			} else {
				v.errf(p.Child("regex"), "invalid RE2 regex: %v", oneLine(err.Error()))
			}
		}
	}
}

func (v *validator) fault(parent Path, field string, f *v1alpha1.Fault) {
	if f == nil {
		return
	}
	p := parent.Child(field)
	if f.Delay == nil && f.Abort == 0 {
		v.errf(p, "set delay, abort or both")
	}
	v.duration(p, "delay", f.Delay)
	if f.Abort != 0 {
		v.httpStatus(p, "abort", f.Abort)
	}
	v.percentage(p, "percentage", f.Percentage)
}

func (v *validator) suspend(si *v1alpha1.ServiceIntent, known map[string]bool) {
	s := si.Spec.Suspend
	p := P("spec", "suspend")
	switch {
	case s.All && len(s.Versions) > 0:
		v.errf(p, "set either all or versions, not both")
	case !s.All && len(s.Versions) == 0:
		v.errf(p, "nothing to suspend: set versions or all")
	}
	if s.HTTPStatus != 0 {
		if !s.All {
			v.errf(p.Child("httpStatus"), "only used with all")
		} else {
			v.httpStatus(p, "httpStatus", s.HTTPStatus)
		}
	}
	suspended := map[string]bool{}
	for i, name := range s.Versions {
		vp := p.Child("versions", i)
		switch {
		case name == "":
			v.errf(vp, "must not be empty")
		case !known[name]:
			v.errf(vp, "version %q is not in spec.versions", name)
		case suspended[name]:
			v.errf(vp, "duplicate version %q", name)
		}
		suspended[name] = true
	}
	if len(suspended) == 0 {
		return
	}
	check := func(lp Path, ds []v1alpha1.Destination) {
		if len(ds) == 0 {
			return
		}
		for _, d := range ds {
			if !suspended[d.Version] {
				return
			}
		}
		v.errf(p.Child("versions"), "suspends every destination of %s; use suspend.all or change that list", lp)
	}
	// A rule whose destinations are all suspended is left out by the
	// renderer (its requests fall through), but the split has nowhere to go.
	check(P("spec", "split"), si.Spec.Split)
	if len(si.Spec.Split) == 0 && len(si.Spec.Versions) > 0 {
		all := true
		for _, ver := range si.Spec.Versions {
			all = all && suspended[ver.Name]
		}
		if all {
			v.errf(p.Child("versions"), "suspends every version; use suspend.all")
		}
	}
}

// retryOnPolicies are the retry conditions Istio accepts besides HTTP status codes.
var retryOnPolicies = map[string]bool{
	"5xx": true, "gateway-error": true, "reset": true, "reset-before-request": true,
	"connect-failure": true, "envoy-ratelimited": true, "retriable-4xx": true,
	"refused-stream": true, "retriable-status-codes": true, "retriable-headers": true,
	"http3-post-connect-failure": true,
	"cancelled":                  true, "deadline-exceeded": true, "internal": true,
	"resource-exhausted": true, "unavailable": true,
}

func (v *validator) retryOn(p Path, s string) {
	for _, c := range strings.Split(s, ",") {
		c = strings.TrimSpace(c)
		if retryOnPolicies[c] {
			continue
		}
		if n, err := strconv.Atoi(c); err == nil && n >= 100 && n <= 599 {
			continue
		}
		v.errf(p, "unknown retry condition %q (e.g. 5xx, gateway-error, reset, connect-failure, retriable-4xx or an HTTP status)", c)
	}
}

func (v *validator) trafficPolicy(parent Path, field string, tp *v1alpha1.TrafficPolicy) {
	if tp == nil {
		return
	}
	p := parent.Child(field)
	if tp.TLS != "" {
		if tp.TLS == "MUTUAL" {
			v.errf(p.Child("tls"), "MUTUAL needs client certificates, which intents cannot carry; use ISTIO_MUTUAL")
		} else {
			v.enum(p.Child("tls"), tp.TLS, "DISABLE", "SIMPLE", "ISTIO_MUTUAL")
		}
	}
	if tp.LoadBalancer != "" {
		v.enum(p.Child("loadBalancer"), tp.LoadBalancer, "ROUND_ROBIN", "LEAST_REQUEST", "RANDOM", "PASSTHROUGH", "UNSPECIFIED")
	}
	if c := tp.ConnectionPool; c != nil {
		cp := p.Child("connectionPool")
		v.nonNegative(cp, "maxConnections", c.MaxConnections)
		v.duration(cp, "connectTimeout", c.ConnectTimeout)
		v.nonNegative(cp, "http1MaxPendingRequests", c.HTTP1MaxPendingRequests)
		v.nonNegative(cp, "http2MaxRequests", c.HTTP2MaxRequests)
		v.nonNegative(cp, "maxRequestsPerConnection", c.MaxRequestsPerConnection)
	}
	if o := tp.OutlierDetection; o != nil {
		op := p.Child("outlierDetection")
		v.nonNegative(op, "consecutive5xxErrors", o.Consecutive5xxErrors)
		v.duration(op, "interval", o.Interval)
		v.duration(op, "baseEjectionTime", o.BaseEjectionTime)
		if o.MaxEjectionPercent < 0 || o.MaxEjectionPercent > 100 {
			v.errf(op.Child("maxEjectionPercent"), "percentage %d must be between 0 and 100", o.MaxEjectionPercent)
		}
	}
}

// sortedKeys returns m's keys in order. Validation runs for every intent of
// a render, mostly over empty maps: unlike slices.Sorted(maps.Keys(m)), an
// empty map costs no allocation here.
func sortedKeys[V any](m map[string]V) []string {
	if len(m) == 0 {
		return nil
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

package importer

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/meshintent/meshintent/api/v1alpha1"
	"github.com/meshintent/meshintent/pkg/manifest"
)

// converter imports the objects of one Service, collecting notes.
type converter struct {
	ns  string
	svc *Service
	obj string // the object the notes are about
}

// note records something the import changed or left to the user.
func (c *converter) note(field, format string, args ...any) {
	c.svc.Notes = append(c.svc.Notes, Note{Service: c.svc.Name, Object: c.obj, Field: field, Message: fmt.Sprintf(format, args...)})
}

// unsupported records something an intent cannot express, which skips the Service.
func (c *converter) unsupported(field, format string, args ...any) {
	c.svc.Notes = append(c.svc.Notes, Note{Service: c.svc.Name, Object: c.obj, Field: field, Message: fmt.Sprintf(format, args...), Skipped: true})
	c.svc.Skipped = true
}

// features names the Istio fields an intent has no equivalent for, by field
// name, for readable notes; other unknown fields are named as they are.
var features = map[string]string{
	"gateways":                 "gateways (a ServiceIntent routes mesh-internal traffic only)",
	"tcp":                      "TCP routes",
	"tls":                      "TLS routes",
	"exportTo":                 "exportTo",
	"workloadSelector":         "a workload selector",
	"redirect":                 "redirects",
	"rewrite":                  "rewrites",
	"directResponse":           "direct responses",
	"delegate":                 "delegation",
	"corsPolicy":               "CORS policies",
	"headers":                  "header manipulation",
	"mirrors":                  "several mirrors",
	"mirrorPercent":            "the deprecated mirrorPercent (use mirrorPercentage)",
	"mirror_percent":           "the deprecated mirror_percent (use mirrorPercentage)",
	"port":                     "ports",
	"portLevelSettings":        "port-level settings",
	"consistentHash":           "consistent-hash load balancing",
	"localityLbSetting":        "locality load balancing",
	"percent":                  "the deprecated integer percent (use percentage)",
	"sourceLabels":             "source labels",
	"sourceNamespace":          "source namespaces",
	"withoutHeaders":           "withoutHeaders",
	"ignoreUriCase":            "ignoreUriCase",
	"authority":                "authority matches",
	"scheme":                   "scheme matches",
	"retryRemoteLocalities":    "retryRemoteLocalities",
	"retryIgnorePreviousHosts": "retryIgnorePreviousHosts",
	"backoff":                  "retry backoff",
	"grpcStatus":               "gRPC aborts",
	"http2Error":               "HTTP/2 error aborts",
	"exponentialDelay":         "exponential delays",
}

// known reports the fields of m (found at path) other than the known ones as
// unsupported and tells whether there were none. Fields set to null count as
// absent, as the API server drops them.
func (c *converter) known(path string, m map[string]any, known ...string) bool {
	ok := true
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if m[k] == nil || contains(known, k) {
			continue
		}
		what, found := features[k]
		if !found {
			what = "field " + k
		}
		c.unsupported(join(path, k), "%s cannot be expressed in a ServiceIntent", what)
		ok = false
	}
	return ok
}

// asMap returns v as an object, reporting anything else.
func (c *converter) asMap(field string, v any) (map[string]any, bool) {
	m, ok := v.(map[string]any)
	if !ok {
		c.unsupported(field, "expected an object, got %T", v)
	}
	return m, ok
}

// object returns v as an object like asMap, and reports its fields other
// than the known ones like known.
func (c *converter) object(field string, v any, known ...string) (map[string]any, bool) {
	m, ok := c.asMap(field, v)
	if ok {
		c.known(field, m, known...)
	}
	return m, ok
}

func (c *converter) asList(field string, v any) ([]any, bool) {
	l, ok := v.([]any)
	if !ok && v != nil {
		c.unsupported(field, "expected a list, got %T", v)
	}
	return l, ok
}

func (c *converter) asString(field string, v any) string {
	if v == nil {
		return ""
	}
	s, ok := v.(string)
	if !ok {
		c.unsupported(field, "expected a string, got %T", v)
	}
	return s
}

// int32 reads a non-negative integer.
func (c *converter) int32(field string, v any) int32 {
	var n float64
	switch x := v.(type) {
	case nil:
		return 0
	case int64:
		n = float64(x)
	case int:
		n = float64(x)
	case int32:
		n = float64(x)
	case float64:
		n = x
	default:
		c.unsupported(field, "expected an integer, got %T", v)
		return 0
	}
	if n != math.Trunc(n) || n < 0 || n > math.MaxInt32 {
		c.unsupported(field, "%v is not an integer between 0 and %d", n, math.MaxInt32)
		return 0
	}
	return int32(n)
}

func (c *converter) float(field string, v any) float64 {
	switch x := v.(type) {
	case int64:
		return float64(x)
	case int:
		return float64(x)
	case float64:
		return x
	}
	c.unsupported(field, "expected a number, got %T", v)
	return 0
}

// duration reads a duration; nil when absent.
func (c *converter) duration(field string, v any) *metav1.Duration {
	if v == nil {
		return nil
	}
	s := c.asString(field, v)
	d, err := time.ParseDuration(s)
	if err != nil {
		c.unsupported(field, "invalid duration %q", s)
		return nil
	}
	return &metav1.Duration{Duration: d}
}

// percentage reads an Istio Percent ({value: N}).
func (c *converter) percentage(field string, v any) float64 {
	m, ok := c.asMap(field, v)
	if !ok || !c.known(field, m, "value") {
		return 0
	}
	if m["value"] == nil {
		return 0
	}
	return c.float(join(field, "value"), m["value"])
}

// convertService imports the objects of one Service.
func convertService(g *serviceGroup, ns string) *Service {
	s := &Service{Name: g.service}
	for _, o := range append(append([]*unstructured.Unstructured(nil), g.vs...), g.dr...) {
		s.Objects = append(s.Objects, objectID(o))
	}
	c := &converter{ns: ns, svc: s}
	c.run(g)
	if s.Skipped {
		s.Intent, s.Document = nil, nil
	}
	return s
}

// run imports the group into c.svc.
func (c *converter) run(g *serviceGroup) {
	// Refuse what one intent cannot stand for.
	for _, o := range append(append([]*unstructured.Unstructured(nil), g.vs...), g.dr...) {
		if o.GetLabels()[manifest.ManagedByLabel] == manifest.ManagedByValue {
			c.obj = objectID(o)
			from := o.GetAnnotations()[manifest.IntentAnnotation]
			if from == "" {
				from = "an intent"
			}
			c.unsupported("", "already managed by meshintent (rendered from %s); edit that intent instead", from)
		}
	}
	if len(g.vs) > 1 {
		c.obj = ""
		c.unsupported("", "%d VirtualServices route this Service (%s); a ServiceIntent renders one", len(g.vs), ids(g.vs))
	}
	if len(g.dr) > 1 {
		c.obj = ""
		c.unsupported("", "%d DestinationRules are about this Service (%s); a ServiceIntent renders one", len(g.dr), ids(g.dr))
	}
	for _, vs := range g.vs {
		if hosts, ok := g.multiHost[objectID(vs)]; ok {
			c.obj = objectID(vs)
			c.unsupported("spec.hosts", "hosts %q: a ServiceIntent renders a VirtualService for its Service only", hosts)
		}
	}
	if c.svc.Skipped {
		return
	}
	var vs, dr *unstructured.Unstructured
	if len(g.vs) == 1 {
		vs = g.vs[0]
	}
	if len(g.dr) == 1 {
		dr = g.dr[0]
	}

	// Name the intent after its objects, which it renders under its name.
	si := &v1alpha1.ServiceIntent{}
	si.APIVersion, si.Kind = v1alpha1.APIVersion, v1alpha1.KindServiceIntent
	si.Namespace = c.ns
	si.Name = c.svc.Name
	if vs != nil {
		si.Name = vs.GetName()
	} else if dr != nil {
		si.Name = dr.GetName()
	}
	if len(validation.IsDNS1123Label(si.Name)) > 0 {
		si.Name = c.svc.Name
	}
	for _, o := range []*unstructured.Unstructured{vs, dr} {
		if o != nil && o.GetName() != si.Name {
			c.obj = objectID(o)
			c.note("metadata.name", "the intent renders it as %s/%s/%s: delete %s once the intent is applied",
				o.GetKind(), c.ns, si.Name, o.GetName())
		}
	}
	if si.Name != c.svc.Name {
		si.Spec.Service = c.svc.Name
	}

	// Map the DestinationRule: versions and traffic policies.
	subsets := c.destinationRule(dr, &si.Spec)

	// Map the VirtualService: split, routes, suspension and route options.
	if vs != nil {
		c.virtualService(vs, &si.Spec, subsets, dr)
	} else {
		c.withoutVirtualService(dr, &si.Spec)
	}
	if c.svc.Skipped {
		return
	}

	// Check the intent decodes strictly and renders back to the live specs.
	doc, err := document(si)
	if err != nil {
		c.obj = ""
		c.unsupported("", "encoding the intent: %v", err)
		return
	}
	c.verify(doc, vs, dr)
}

// withoutVirtualService handles a DestinationRule no VirtualService routes
// to: an intent always renders a VirtualService, whose catch-all must then
// send requests where Istio sends them without one, to the whole Service.
func (c *converter) withoutVirtualService(dr *unstructured.Unstructured, s *v1alpha1.ServiceIntentSpec) {
	c.obj = objectID(dr)
	switch {
	case len(s.Versions) == 0 && s.TrafficPolicy == nil:
		c.unsupported("", "sets neither subsets nor a traffic policy: there is nothing to import; delete it")
	case len(s.Versions) == 1:
		c.unsupported("", "no VirtualService routes this Service; a ServiceIntent always renders one, and with one version it sends every request to subset %s instead of the whole Service", s.Versions[0].Name)
	default:
		c.note("", "no VirtualService routes this Service: the intent adds VirtualService %s/%s sending every request to the Service, as Istio does without one", c.ns, dr.GetName())
	}
}

// document returns the intent as it is written out: the fields of the API
// types, numbers as int64 or float64 like decoded YAML, no empty metadata.
func document(si *v1alpha1.ServiceIntent) (map[string]any, error) {
	b, err := json.Marshal(si.Spec)
	if err != nil {
		return nil, err
	}
	var spec map[string]any
	if err := utiljson.Unmarshal(b, &spec); err != nil {
		return nil, err
	}
	return map[string]any{
		"apiVersion": si.APIVersion,
		"kind":       si.Kind,
		"metadata":   map[string]any{"name": si.Name, "namespace": si.Namespace},
		"spec":       spec,
	}, nil
}

func ids(objs []*unstructured.Unstructured) string {
	s := make([]string, len(objs))
	for i, o := range objs {
		s[i] = o.GetName()
	}
	return strings.Join(s, ", ")
}

func join(path, field string) string {
	if path == "" {
		return field
	}
	return path + "." + field
}

func index(path string, i int) string { return fmt.Sprintf("%s[%d]", path, i) }

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

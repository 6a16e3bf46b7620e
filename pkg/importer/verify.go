package importer

import (
	"bytes"
	"encoding/json"

	//lint:ignore SA1019 jsonpb is the decoder Istio's types use (their UnmarshalJSONPB methods)
	"github.com/golang/protobuf/jsonpb" //nolint:staticcheck // the decoder Istio's types use
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/protoadapt"
	"google.golang.org/protobuf/testing/protocmp"
	networking "istio.io/api/networking/v1alpha3"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/meshintent/meshintent/pkg/expand"
	"github.com/meshintent/meshintent/pkg/intent"
)

// verify decodes the intent as `reconciler render` would, expands it and
// compares the specs it renders with the live ones the way Istio reads them;
// a difference skips the Service with a note holding the diff. On success
// the intent and document are set on c.svc.
func (c *converter) verify(doc map[string]any, vs, dr *unstructured.Unstructured) {
	c.obj = ""
	d, err := intent.Decode(doc, c.svc.Name+".yaml", 0)
	if err != nil {
		c.unsupported("", "the imported intent does not decode: %v", err)
		return
	}
	var gotVS, gotDR map[string]any
	for _, o := range expand.Expand(d) {
		spec, _ := o.Object["spec"].(map[string]any)
		switch o.GetKind() {
		case VirtualServiceGVK.Kind:
			gotVS = spec
		case DestinationRuleGVK.Kind:
			gotDR = spec
		}
	}

	liveVS := implicitVirtualService(c.svc.Name)
	if vs != nil {
		c.obj = objectID(vs)
		liveVS, _ = vs.Object["spec"].(map[string]any)
	}
	c.sameSpec(&networking.VirtualService{}, &networking.VirtualService{}, liveVS, gotVS)

	var liveDR map[string]any
	if dr != nil {
		c.obj = objectID(dr)
		liveDR, _ = dr.Object["spec"].(map[string]any)
	}
	if liveDR != nil || gotDR != nil {
		c.sameSpec(&networking.DestinationRule{}, &networking.DestinationRule{}, liveDR, gotDR)
	}
	if c.svc.Skipped {
		return
	}
	c.svc.Intent, c.svc.Document = d.ServiceIntent, doc
}

// implicitVirtualService is what Istio does for a Service no VirtualService
// routes: every request to the Service.
func implicitVirtualService(service string) map[string]any {
	return map[string]any{
		"hosts": []any{service},
		"http":  []any{map[string]any{"route": []any{map[string]any{"destination": map[string]any{"host": service}}}}},
	}
}

// sameSpec reads both specs into Istio's own types, normalises what Istio
// treats as equal, and reports a difference as unsupported.
func (c *converter) sameSpec(live, rendered proto.Message, liveSpec, renderedSpec map[string]any) {
	kind := string(live.ProtoReflect().Descriptor().Name())
	switch {
	case liveSpec == nil:
		c.unsupported("", "the intent would render a %s where there is none", kind)
		return
	case renderedSpec == nil:
		c.unsupported("spec", "the intent would render no %s", kind)
		return
	}
	if err := readSpec(liveSpec, live); err != nil {
		c.unsupported("spec", "Istio cannot read this spec: %v", err)
		return
	}
	if err := readSpec(renderedSpec, rendered); err != nil {
		c.unsupported("spec", "reading the rendered %s: %v", kind, err)
		return
	}
	normalise(live, c.ns)
	normalise(rendered, c.ns)
	if !proto.Equal(live, rendered) {
		c.unsupported("spec", "the imported intent would render a different spec (-live +rendered):\n%s",
			cmp.Diff(live, rendered, protocmp.Transform()))
	}
}

// readSpec reads a spec with the JSON decoder Istio's types use (which
// takes Go durations such as "5m"), but refusing unknown fields.
func readSpec(spec map[string]any, m proto.Message) error {
	b, err := json.Marshal(spec)
	if err != nil {
		return err
	}
	return (&jsonpb.Unmarshaler{}).Unmarshal(bytes.NewReader(b), protoadapt.MessageV1Of(m))
}

// normalise rewrites what Istio treats as equal into one form: hosts fully
// qualified, no weight on the only destination of a route (it takes every
// request), a mirror's missing percentage as 100.
func normalise(m proto.Message, ns string) {
	switch x := m.(type) {
	case *networking.DestinationRule:
		x.Host = fqdn(x.Host, ns)
	case *networking.VirtualService:
		for i, h := range x.Hosts {
			x.Hosts[i] = fqdn(h, ns)
		}
		for _, r := range x.Http {
			for _, d := range r.Route {
				if d.Destination != nil {
					d.Destination.Host = fqdn(d.Destination.Host, ns)
				}
			}
			if len(r.Route) == 1 {
				r.Route[0].Weight = 0
			}
			if r.Mirror != nil {
				r.Mirror.Host = fqdn(r.Mirror.Host, ns)
				if r.MirrorPercentage == nil {
					r.MirrorPercentage = &networking.Percent{Value: 100}
				}
			}
		}
	}
}

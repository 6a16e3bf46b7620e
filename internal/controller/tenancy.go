package controller

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/meshintent/meshintent/api/v1alpha1"
	"github.com/meshintent/meshintent/pkg/intent"
	"github.com/meshintent/meshintent/pkg/manifest"
	"github.com/meshintent/meshintent/pkg/meshhost"
	"github.com/meshintent/meshintent/pkg/validate"
)

// TenancyPolicy names the tenancy fence in policy results: an intent or
// object for a namespace outside spec.allowedNamespaces, or an object inside
// that claims a host, gateway or export outside it.
const TenancyPolicy = "meshintent.tenancy"

// Fence is a tenancy fence: the namespaces a revision's intents and objects
// may live in, and what those objects may claim besides. The Rego policy
// meshintent.tenancy (policies/tenancy.rego) applies the same rules from
// Data; Check is the authoritative copy, which does not depend on any Rego
// policy being loaded.
//
// Under a fence an object inside it may name (in hosts, DestinationRule
// host, route and mirror destinations, ServiceEntry hosts) only Services
// of allowed namespaces (short names resolve in its own namespace, see
// pkg/meshhost) and hosts AllowedExternalHosts covers; never "*". It may bind
// to the sidecars ("mesh"), to gateways of allowed namespaces and to
// SharedGateways. exportTo may not reach a namespace outside the fence, nor
// "*" (a ServiceEntry may export "*" when each of its hosts passes the host
// check). A ServiceEntry exported only inside the fence may name any host.
// A Sidecar's egress "ns/host" must import from ".", "~" or an allowed
// namespace, or name a host AllowedExternalHosts covers.
type Fence struct {
	// Namespaces the intents and objects may live in, and whose Services
	// they may name. Empty (and Closed false) fences nothing.
	Namespaces []string
	// Closed fences everything off when Namespaces is empty: the
	// controller's fence and an IntentSync's allowedNamespaces have no
	// namespace in common.
	Closed bool
	// SharedGateways are gateways ("namespace/name") outside Namespaces that
	// VirtualServices may bind to, e.g. istio-system/ingressgateway.
	SharedGateways []string
	// AllowedExternalHosts are hosts outside Namespaces (external ones such
	// as api.stripe.com or *.googleapis.com, or another namespace's Service)
	// that objects may name; a wildcard covers the names under it.
	AllowedExternalHosts []string
	// Domain is the cluster's DNS domain; meshhost.DefaultDomain when empty.
	// Under a fence it replaces a repository's clusterDomain setting: a
	// tenant does not get to say which hosts are the cluster's.
	Domain string
}

// On reports whether f fences anything.
func (f Fence) On() bool { return len(f.Namespaces) > 0 || f.Closed }

func (f Fence) domain() string { return cmp.Or(f.Domain, meshhost.DefaultDomain) }

// For returns the fence of an IntentSync with spec under f, the
// controller's fence (reconciler run --allowed-namespaces ...). Without a
// controller fence the IntentSync's own settings apply. With one, an
// IntentSync that sets none of a list gets the controller's, and one that
// does keeps only what the controller's allows: the namespaces in both (none
// in common closes the fence), the shared gateways on both lists, the
// external hosts a controller pattern covers.
func (f Fence) For(spec v1alpha1.IntentSyncSpec) Fence {
	out := Fence{
		Namespaces:           spec.AllowedNamespaces,
		SharedGateways:       spec.SharedGateways,
		AllowedExternalHosts: spec.AllowedExternalHosts,
		Domain:               f.Domain,
	}
	if !f.On() {
		return out
	}
	out.Closed = f.Closed
	if len(out.Namespaces) == 0 {
		out.Namespaces = f.Namespaces
	} else {
		out.Namespaces = slices.DeleteFunc(slices.Clone(out.Namespaces), func(ns string) bool { return !slices.Contains(f.Namespaces, ns) })
		out.Closed = out.Closed || len(out.Namespaces) == 0
	}
	if len(out.SharedGateways) == 0 {
		out.SharedGateways = f.SharedGateways
	} else {
		out.SharedGateways = slices.DeleteFunc(slices.Clone(out.SharedGateways), func(gw string) bool { return !slices.Contains(f.SharedGateways, gw) })
	}
	if len(out.AllowedExternalHosts) == 0 {
		out.AllowedExternalHosts = f.AllowedExternalHosts
	} else {
		out.AllowedExternalHosts = slices.DeleteFunc(slices.Clone(out.AllowedExternalHosts), func(h string) bool { return !meshhost.CoveredByAny(f.AllowedExternalHosts, h) })
	}
	return out
}

// Data is the policy data that tells the Rego policies the fence, under
// data.meshintent.config: allowedNamespaces, fenced and, under a fence,
// sharedGateways, allowedExternalHosts and clusterDomain. It is merged
// last, so a repository's data.yaml cannot widen the fence.
func (f Fence) Data() map[string]any {
	config := map[string]any{"allowedNamespaces": anyList(f.Namespaces), "fenced": f.On()}
	if f.On() {
		config["sharedGateways"] = anyList(f.SharedGateways)
		config["allowedExternalHosts"] = anyList(f.AllowedExternalHosts)
		config["clusterDomain"] = f.domain()
	}
	return map[string]any{"meshintent": map[string]any{"config": config}}
}

func anyList(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// checkFence is Fence{Namespaces: allowed}.Check.
func checkFence(allowed []string, intents []intent.Document, objects manifest.Set) []validate.Result {
	return Fence{Namespaces: allowed}.Check(intents, objects)
}

// Check returns a deny result for every intent and object whose namespace
// (a Namespace's or NamespaceIntent's own name) is outside the fence, and
// for every claim an object inside makes beyond it (see Fence). A fence
// that is not On denies nothing. Objects generated from an intent that is
// already reported are not reported again.
func (f Fence) Check(intents []intent.Document, objects manifest.Set) []validate.Result {
	if !f.On() {
		return nil
	}
	allowed := f.Namespaces
	ok := func(ns string) bool { return ns != "" && slices.Contains(allowed, ns) }
	fence := strings.Join(allowed, ", ")
	var out []validate.Result
	reported := map[string]bool{}
	for _, d := range intents {
		ns, field := "", "metadata.namespace"
		switch {
		case d.NamespaceIntent != nil:
			ns, field = d.NamespaceIntent.Name, "metadata.name"
		case d.ServiceIntent != nil:
			ns = d.ServiceIntent.Namespace
		}
		if ok(ns) {
			continue
		}
		reported[d.ID()] = true
		out = append(out, fenceResult(d.ID(), d.Source, d.Line, field, ns, fence))
	}
	for _, o := range objects {
		ns, field := o.GetNamespace(), "metadata.namespace"
		if o.GetKind() == "Namespace" && o.GroupVersionKind().Group == "" {
			ns, field = o.GetName(), "metadata.name"
		}
		if ok(ns) {
			for _, c := range f.claims(o) {
				out = append(out, claimResult(o, c))
			}
			continue
		}
		if o.Intent != "" && reported[o.Intent] {
			continue
		}
		out = append(out, fenceResult(o.ID(), o.Source, 0, field, ns, fence))
	}
	return out
}

func fenceResult(id, source string, line int, field, ns, fence string) validate.Result {
	msg := fmt.Sprintf("namespace %q is outside this IntentSync's allowedNamespaces [%s]", ns, fence)
	if ns == "" {
		msg = fmt.Sprintf("cluster-scoped objects are outside this IntentSync's allowedNamespaces [%s]", fence)
	}
	return validate.Result{
		Policy: TenancyPolicy, Rule: "deny", Severity: validate.SeverityDeny,
		Object: id, Source: source, Line: line, Field: field, Message: msg,
	}
}

// withFence returns a copy of r with the fence results added, dropping
// Rego results that say the same (same policy, object and source), sorted
// denials first, and recounted.
func withFence(r *validate.Report, fence []validate.Result) *validate.Report {
	out := &validate.Report{}
	if r != nil {
		out.Objects, out.Intents = r.Objects, r.Intents
	}
	seen := map[string]bool{}
	key := func(x validate.Result) string { return x.Policy + "\x00" + x.Object + "\x00" + x.Source }
	for _, x := range fence {
		seen[key(x)] = true
		out.Results = append(out.Results, x)
	}
	if r != nil {
		for _, x := range r.Results {
			if x.Policy == TenancyPolicy && seen[key(x)] {
				continue
			}
			out.Results = append(out.Results, x)
		}
	}
	slices.SortStableFunc(out.Results, func(a, b validate.Result) int {
		return cmp.Or(
			cmp.Compare(severityRank(a.Severity), severityRank(b.Severity)),
			cmp.Compare(a.Source, b.Source),
			cmp.Compare(a.Object, b.Object),
			cmp.Compare(a.Policy, b.Policy),
		)
	})
	for _, x := range out.Results {
		switch x.Severity {
		case validate.SeverityDeny:
			out.Denials++
		case validate.SeverityWaived:
			out.Waived++
		default:
			out.Warnings++
		}
	}
	return out
}

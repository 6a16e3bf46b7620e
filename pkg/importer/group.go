package importer

import (
	"fmt"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/meshintent/meshintent/pkg/manifest"
)

// serviceGroup is the live objects about one Service.
type serviceGroup struct {
	service string
	vs, dr  []*unstructured.Unstructured
	// multiHost names VirtualServices of vs that have other hosts too.
	multiHost map[string][]string
}

// serviceOf returns the Service of namespace ns that host names: a short
// name ("reviews") or the fully qualified one
// ("reviews.<ns>.svc.cluster.local"). Istio does not expand other forms
// ("reviews.<ns>"), so they name no Service.
func serviceOf(host, ns string) (string, bool) {
	name := strings.TrimSuffix(host, "."+ns+".svc."+ClusterDomain)
	if strings.Contains(name, ".") || len(validation.IsDNS1035Label(name)) > 0 {
		return "", false
	}
	return name, true
}

// fqdn returns the fully qualified form of a host of namespace ns; hosts
// with a dot are returned as they are.
func fqdn(host, ns string) string {
	if host == "" || host == "*" || strings.Contains(host, ".") {
		return host
	}
	return host + "." + ns + ".svc." + ClusterDomain
}

func objectID(u *unstructured.Unstructured) string {
	return manifest.ObjectID(u.GetKind(), u.GetNamespace(), u.GetName())
}

// group sorts the objects of namespace ns into groups by Service. Objects
// that name no Service of the namespace become notes.
func group(objs []*unstructured.Unstructured, ns string) (map[string]*serviceGroup, []Note) {
	sorted := make([]*unstructured.Unstructured, 0, len(objs))
	for _, o := range objs {
		gvk := o.GroupVersionKind()
		if gvk.Group != VirtualServiceGVK.Group || o.GetNamespace() != ns ||
			(gvk.Kind != VirtualServiceGVK.Kind && gvk.Kind != DestinationRuleGVK.Kind) {
			continue
		}
		sorted = append(sorted, o)
	}
	sort.SliceStable(sorted, func(i, j int) bool {
		if sorted[i].GetKind() != sorted[j].GetKind() {
			return sorted[i].GetKind() > sorted[j].GetKind() // VirtualServices first
		}
		return sorted[i].GetName() < sorted[j].GetName()
	})

	groups := map[string]*serviceGroup{}
	get := func(name string) *serviceGroup {
		g, ok := groups[name]
		if !ok {
			g = &serviceGroup{service: name}
			groups[name] = g
		}
		return g
	}
	var loose []Note
	for _, o := range sorted {
		id := objectID(o)
		if o.GetKind() == DestinationRuleGVK.Kind {
			host, _, _ := unstructured.NestedString(o.Object, "spec", "host")
			svc, ok := serviceOf(host, ns)
			if !ok {
				loose = append(loose, Note{Object: id, Field: "spec.host", Skipped: true,
					Message: fmt.Sprintf("host %q is not a Service of namespace %s (short name or <service>.%s.svc.%s); a ServiceIntent is about one Service of its namespace", host, ns, ns, ClusterDomain)})
				continue
			}
			g := get(svc)
			g.dr = append(g.dr, o)
			continue
		}
		hosts, _, _ := unstructured.NestedStringSlice(o.Object, "spec", "hosts")
		var services []string
		seen := map[string]bool{}
		for _, h := range hosts {
			if svc, ok := serviceOf(h, ns); ok && !seen[svc] {
				seen[svc] = true
				services = append(services, svc)
			}
		}
		if len(services) == 0 {
			loose = append(loose, Note{Object: id, Field: "spec.hosts", Skipped: true,
				Message: fmt.Sprintf("hosts %q name no Service of namespace %s; a ServiceIntent is about one Service of its namespace", hosts, ns)})
			continue
		}
		for _, svc := range services {
			g := get(svc)
			g.vs = append(g.vs, o)
			if len(hosts) > 1 {
				if g.multiHost == nil {
					g.multiHost = map[string][]string{}
				}
				g.multiHost[id] = hosts
			}
		}
	}
	return groups, loose
}

package live

import (
	"slices"
	"strings"

	"github.com/meshintent/meshintent/pkg/manifest"
	"github.com/meshintent/meshintent/pkg/meshhost"
)

// references is what a rendered set names that the cluster may hold.
type references struct {
	// ids are the set's object IDs.
	ids map[string]bool
	// namespaces are those of the Service-shaped hosts the set's
	// destinations and DestinationRules name.
	namespaces map[string]bool
	// destinations are the "namespace/name" of the Services those hosts name.
	destinations map[string]bool
	// services are the set's own Services, by "namespace/name".
	services map[string]Service
	// serviceEntryHosts are the hosts of the set's ServiceEntries.
	serviceEntryHosts map[string]bool
	// gateways are the Gateways the set's VirtualServices bind to, by
	// "namespace/name"; setGateways those the set holds.
	gateways, setGateways map[string]bool
	// subsets are the set's DestinationRule subsets.
	subsets []subsetRef
	// meshHosts are the host FQDNs the set's VirtualServices claim for the
	// mesh gateway.
	meshHosts map[string]bool
}

// subsetRef is a DestinationRule subset.
type subsetRef struct {
	rule    string // DestinationRule/<ns>/<name>
	name    string
	service string // namespace/name of the host's Service
	labels  map[string]string
}

// missingService says whether a destination names a Service that services
// lacks.
func (refs *references) missingService(services map[string]Service) bool {
	for d := range refs.destinations {
		if _, ok := services[d]; !ok {
			return true
		}
	}
	return false
}

func (r *Reader) references(set manifest.Set) *references {
	refs := &references{
		ids: map[string]bool{}, namespaces: map[string]bool{}, destinations: map[string]bool{},
		services: map[string]Service{}, serviceEntryHosts: map[string]bool{},
		gateways: map[string]bool{}, setGateways: map[string]bool{}, meshHosts: map[string]bool{},
	}
	for _, o := range set {
		if o.Unstructured == nil {
			continue
		}
		refs.ids[o.ID()] = true
		ns := o.GetNamespace()
		spec, _ := o.Object["spec"].(map[string]any)
		switch o.GetKind() {
		case "VirtualService":
			for _, h := range destinationHosts(spec) {
				if key, ok := r.serviceKey(h, ns); ok {
					refs.destinations[key] = true
					svcNS, _, _ := strings.Cut(key, "/")
					refs.namespaces[svcNS] = true
				}
			}
			for _, g := range strings_(spec["gateways"]) {
				if gw := meshhost.ParseGateway(g, ns); !gw.IsMesh() {
					refs.gateways[gw.String()] = true
				}
			}
			if boundToMesh(spec) {
				for _, h := range strings_(spec["hosts"]) {
					refs.meshHosts[meshhost.Resolve(h, ns, r.opts.Domain)] = true
				}
			}
		case "DestinationRule":
			host, _ := spec["host"].(string)
			key, ok := r.serviceKey(host, ns)
			if !ok {
				continue
			}
			svcNS, _, _ := strings.Cut(key, "/")
			refs.namespaces[svcNS] = true
			subsets, _ := spec["subsets"].([]any)
			for _, s := range subsets {
				sm, _ := s.(map[string]any)
				name, _ := sm["name"].(string)
				lbls := map[string]string{}
				if m, ok := sm["labels"].(map[string]any); ok {
					for k, v := range m {
						if s, ok := v.(string); ok {
							lbls[k] = s
						}
					}
				}
				refs.subsets = append(refs.subsets, subsetRef{rule: o.ID(), name: name, service: key, labels: lbls})
			}
		case "ServiceEntry":
			for _, h := range strings_(spec["hosts"]) {
				refs.serviceEntryHosts[strings.ToLower(h)] = true
			}
		case "Gateway":
			refs.setGateways[ns+"/"+o.GetName()] = true
		case "Service":
			if o.GetAPIVersion() == "v1" {
				refs.services[ns+"/"+o.GetName()] = setService(spec)
			}
		}
	}
	return refs
}

// serviceKey is the "namespace/name" of the Service host (named in
// namespace ns) stands for; false when it names no single Service (an
// external name, a wildcard).
func (r *Reader) serviceKey(host, ns string) (string, bool) {
	fqdn := meshhost.Resolve(host, ns, r.opts.Domain)
	svcNS, ok := meshhost.Namespace(fqdn, r.opts.Domain)
	if !ok {
		return "", false
	}
	name, _, _ := strings.Cut(fqdn, ".")
	if strings.Contains(name, "*") {
		return "", false
	}
	return svcNS + "/" + name, true
}

// destinationHosts are the hosts of a VirtualService's route destinations
// (http, tcp, tls) and http mirrors.
func destinationHosts(spec map[string]any) []string {
	var hosts []string
	add := func(d any) {
		if m, ok := d.(map[string]any); ok {
			if h, ok := m["host"].(string); ok && h != "" {
				hosts = append(hosts, h)
			}
		}
	}
	for _, protocol := range []string{"http", "tcp", "tls"} {
		rules, _ := spec[protocol].([]any)
		for _, rule := range rules {
			rm, _ := rule.(map[string]any)
			routes, _ := rm["route"].([]any)
			for _, rt := range routes {
				if m, ok := rt.(map[string]any); ok {
					add(m["destination"])
				}
			}
			if protocol != "http" {
				continue
			}
			add(rm["mirror"])
			mirrors, _ := rm["mirrors"].([]any)
			for _, mi := range mirrors {
				if m, ok := mi.(map[string]any); ok {
					add(m["destination"])
				}
			}
		}
	}
	return hosts
}

// boundToMesh says whether a VirtualService applies to the sidecars: no
// gateways, or "mesh" among them.
func boundToMesh(spec map[string]any) bool {
	gws := strings_(spec["gateways"])
	return len(gws) == 0 || slices.Contains(gws, meshhost.Mesh)
}

// exportScopes is meshintent.lib.hosts.export_scopes: {"*"} for an empty
// exportTo or one holding "*", else its targets without "~".
func exportScopes(exportTo []string, ns string) []string {
	if len(exportTo) == 0 || slices.Contains(exportTo, "*") {
		return []string{"*"}
	}
	var scopes []string
	for _, e := range exportTo {
		if t := meshhost.ExportTarget(e, ns); t != meshhost.ExportNone && !slices.Contains(scopes, t) {
			scopes = append(scopes, t)
		}
	}
	slices.Sort(scopes)
	return scopes
}

// setService is the Service of a spec in the set.
func setService(spec map[string]any) Service {
	s := Service{Ports: []Port{}}
	ports, _ := spec["ports"].([]any)
	for _, p := range ports {
		pm, _ := p.(map[string]any)
		var port Port
		port.Name, _ = pm["name"].(string)
		port.Protocol, _ = pm["protocol"].(string)
		switch n := pm["port"].(type) {
		case int64:
			port.Number = n
		case float64:
			port.Number = int64(n)
		case int:
			port.Number = int64(n)
		}
		s.Ports = append(s.Ports, port)
	}
	return s
}

// strings_ reads a list of strings, skipping anything else.
func strings_(v any) []string {
	l, _ := v.([]any)
	out := make([]string, 0, len(l))
	for _, e := range l {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

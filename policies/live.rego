# Package meshintent.live holds the checks that need the cluster: Services,
# Pods and objects outside the repository. They read data.meshintent.cluster,
# which the CLI (validate and plan with --kubeconfig or --context) and the
# controller read from the API server for the hosts, subsets and gateways
# the rendered set names (see pkg/live). Without it, every rule here is
# silent: offline, nothing is guessed.
#
# The checks, each finding carrying the istioctl analyze code:
#
#   hosts      IST0101 a destination's Service does not exist
#   ports      IST0101 a destination's port is not the Service's
#              IST0112 no destination port, several Service ports
#   subsets    IST0173 a subset selects no Pod (warn)
#   gateways   IST0101 a bound Gateway does not exist
#   meshhosts  IST0109 a VirtualService outside the set claims the host
#              for the mesh gateway
#
# The severity of each is data.meshintent.config.severity
# ["meshintent.live.<check>"], by default Istio's level (Error: deny), except the subsets check: Istio says
# Error, but in a GitOps rollout the routing is often merged before the
# workloads it names are deployed, so it warns.
package meshintent.live

import data.meshintent.lib
import data.meshintent.lib.hosts

_defaults := {
	"hosts": "deny",
	"ports": "deny",
	"subsets": "warn",
	"gateways": "deny",
	"meshhosts": "deny",
}

# _severity reads the configured severity directly (object.get over
# data.meshintent.config would convert the whole config on every call).
_severity(check) := s if {
	s := data.meshintent.config.severity[concat(".", ["meshintent.live", check])]
} else := _defaults[check]

# The deny and warn rules start with a test of data.meshintent.cluster, a
# plain read of the data: offline (no live view) they fail there, before
# any finding is computed, so the checks cost next to nothing.
deny contains f if {
	input.kind == "VirtualService"
	data.meshintent.cluster
	some finding in virtual_service_findings
	_severity(finding.check) == "deny"
	f := object.remove(finding, ["check"])
}

warn contains f if {
	input.kind == "VirtualService"
	data.meshintent.cluster
	some finding in virtual_service_findings
	_severity(finding.check) == "warn"
	f := object.remove(finding, ["check"])
}

deny contains f if {
	input.kind == "DestinationRule"
	data.meshintent.cluster
	some finding in destination_rule_findings
	_severity(finding.check) == "deny"
	f := object.remove(finding, ["check"])
}

warn contains f if {
	input.kind == "DestinationRule"
	data.meshintent.cluster
	some finding in destination_rule_findings
	_severity(finding.check) == "warn"
	f := object.remove(finding, ["check"])
}

# destinations are a VirtualService's destinations: [field, reftype,
# destination], field being the path of the destination object.
destinations contains [sprintf("spec.%s[%d].route[%d].destination", [protocol, i, j]), "host", route.destination] if {
	some protocol in ["http", "tcp", "tls"]
	some i, rule in object.get(input.spec, protocol, [])
	some j, route in object.get(rule, "route", [])
}

destinations contains [sprintf("spec.http[%d].mirror", [i]), "mirror host", rule.mirror] if {
	some i, rule in object.get(input.spec, "http", [])
}

destinations contains [sprintf("spec.http[%d].mirrors[%d].destination", [i, j]), "mirror host", m.destination] if {
	some i, rule in object.get(input.spec, "http", [])
	some j, m in object.get(rule, "mirrors", [])
}

# service is the live (or rendered) Service an FQDN names, by the
# "namespace/name" key of data.meshintent.cluster.services.
_service_key(fqdn) := concat("/", [ns, name]) if {
	ns := hosts.namespace_of(fqdn, hosts.domain)
	name := split(fqdn, ".")[0]
	not contains(name, "*")
}

virtual_service_findings contains {
	"check": "hosts",
	"msg": sprintf("Referenced %s not found: %q", [reftype, d.host]),
	"field": concat(".", [field, "host"]),
	"code": "IST0101",
} if {
	live := data.meshintent.cluster
	some [field, reftype, d] in destinations
	fqdn := hosts.fqdn(d.host, lib.namespace(input))
	key := _service_key(fqdn)
	live.namespaces[split(key, "/")[0]]
	not live.services[key]
	not hosts.covered_by_any(object.get(live, "serviceEntryHosts", []), fqdn)
}

virtual_service_findings contains {
	"check": "ports",
	"msg": sprintf("Referenced %s not found: %q", ["host:port", sprintf("%s:%d", [d.host, d.port.number])]),
	"field": concat(".", [field, "port.number"]),
	"code": "IST0101",
} if {
	some [field, _, d] in destinations
	n := d.port.number
	svc := data.meshintent.cluster.services[_service_key(hosts.fqdn(d.host, lib.namespace(input)))]
	not n in {p.number | some p in svc.ports}
}

virtual_service_findings contains {
	"check": "ports",
	"msg": sprintf("This VirtualService routes to a service %q that exposes multiple ports %s. Specifying a port in the destination is required to disambiguate.", [d.host, _port_list(svc)]),
	"field": field,
	"code": "IST0112",
} if {
	some [field, _, d] in destinations
	not d.port
	svc := data.meshintent.cluster.services[_service_key(hosts.fqdn(d.host, lib.namespace(input)))]
	count(svc.ports) > 1
}

# _port_list writes the ports as Go's %v of []int does, e.g. [9080 9090].
_port_list(svc) := concat("", ["[", concat(" ", [sprintf("%d", [p.number]) | some p in svc.ports]), "]"])

virtual_service_findings contains {
	"check": "gateways",
	"msg": sprintf("Referenced gateway not found: %q", [ref]),
	"field": sprintf("spec.gateways[%d]", [i]),
	"code": "IST0101",
} if {
	some i, ref in object.get(input.spec, "gateways", [])
	ref != "mesh"
	data.meshintent.cluster.gateways[concat("/", hosts.gateway(ref, lib.namespace(input)))] == false
}

virtual_service_findings contains {
	"check": "meshhosts",
	"msg": sprintf("The VirtualServices %s associated with mesh gateway define the same host %s which can lead to undefined behavior. This can be fixed by merging the conflicting VirtualServices into a single resource.", [concat(",", names), h]),
	"field": sprintf("spec.hosts[%d]", [i]),
	"code": "IST0109",
} if {
	"mesh" in lib.gateways(input)
	ns := lib.namespace(input)
	mine := hosts.export_scopes(object.get(input.spec, "exportTo", []), ns)
	some i, h in input.spec.hosts
	others := [o.name |
		some o in data.meshintent.cluster.virtualServices[hosts.fqdn(h, ns)]
		hosts.scopes_overlap(mine, {s | some s in o.scopes})
	]
	count(others) > 0
	names := sort(array.concat([concat("/", [ns, input.metadata.name])], others))
}

destination_rule_findings contains {
	"check": "subsets",
	"msg": sprintf("The Subset %s defined in the DestinationRule does not select any pods. Which may lead to 503 UH (NoHealthyUpstream).", [s.name]),
	"field": sprintf("spec.subsets[%d]", [i]),
	"code": "IST0173",
} if {
	selects := data.meshintent.cluster.subsets[lib.id(input)]
	some i, s in object.get(input.spec, "subsets", [])
	selects[s.name] == false
}

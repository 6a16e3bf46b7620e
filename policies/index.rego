# Package meshintent.index holds lookups across the whole rendered set, so that
# a policy checking one object against the others does a lookup instead of a
# scan.
#
# pkg/validate computes every rule of meshintent.index (and of any package under
# it, including a repository's own) once per run, before evaluating any object,
# and serves the values to the policies as data. These rules must therefore not
# read input; the engine refuses to load one that does. In Rego unit tests they
# are evaluated as ordinary rules over data.meshintent.objects and .intents.
package meshintent.index

import data.meshintent.lib
import data.meshintent.lib.hosts

# namespaces maps a namespace name to its Namespace object.
namespaces := {obj.metadata.name: obj |
	some obj in data.meshintent.objects
	obj.kind == "Namespace"
}

# intents maps an intent ID (NamespaceIntent/<name>,
# ServiceIntent/<namespace>/<name>, the meshintent.io/intent annotation of the
# objects generated from it) to its entry in data.meshintent.intents.
intents := {entry.id: entry | some entry in data.meshintent.intents}

# namespace_intents maps a namespace name to its NamespaceIntent entry
# ({"id", "kind", "source", "line", "intent"}).
namespace_intents := {entry.intent.metadata.name: entry |
	some entry in data.meshintent.intents
	entry.kind == "NamespaceIntent"
}

# destination_rules maps a host FQDN to the IDs of the DestinationRules for it.
#
# The grouping comprehensions sit in rule bodies, where OPA indexes them on
# host: computing the lookup is linear, not quadratic.
destination_rules := by_host if {
	by_host := {host: ids |
		some host in _destination_rule_hosts
		ids := {id | [host, id, _] = _destination_rules[_]}
	}
}

# subsets maps a host FQDN to the names of the subsets its DestinationRules
# define.
subsets := by_host if {
	by_host := {host: names |
		some host in _destination_rule_hosts
		names := {subset.name | [host, _, obj] = _destination_rules[_]; some subset in obj.spec.subsets}
	}
}

# virtual_services maps a host FQDN to the VirtualServices routing it, as
# {"namespace", "gateway", "id", "exportTo"} for each gateway ("mesh" for
# the sidecars) each applies to; exportTo is its spec.exportTo ([] when
# unset; hosts.export_scopes reads it).
virtual_services := by_host if {
	by_host := {host: routes |
		some host in {host | some [host, _] in _virtual_services}
		routes := {route | [host, route] = _virtual_services[_]}
	}
}

# _destination_rules are [host FQDN, ID, object] of each DestinationRule.
_destination_rules := [[lib.fqdn(obj.spec.host, ns), lib.id(obj), obj] |
	some obj in data.meshintent.objects
	obj.kind == "DestinationRule"
	ns := object.get(obj.metadata, "namespace", "")
]

_destination_rule_hosts := {host | some [host, _, _] in _destination_rules}

# _virtual_services are [host FQDN, {"namespace", "gateway", "id",
# "exportTo"}] for each host and gateway of each VirtualService.
_virtual_services := [[lib.fqdn(name, ns), {"namespace": ns, "gateway": gateway, "id": lib.id(obj), "exportTo": export_to}] |
	some obj in data.meshintent.objects
	obj.kind == "VirtualService"
	ns := object.get(obj.metadata, "namespace", "")
	export_to := object.get(obj.spec, "exportTo", [])
	some name in obj.spec.hosts
	some gateway in lib.gateways(obj)
]

# _analyzed are the objects of the kinds the lookups below read, found in
# one scan of the set (most sets hold few of them).
_analyzed := [obj |
	some obj in data.meshintent.objects
	obj.kind in {"Gateway", "RequestAuthentication", "ServiceEntry", "Service", "Sidecar", "Telemetry"}
]

# gateways maps "namespace/name" to each Gateway of the set (Istio's
# networking.istio.io one, with spec.servers, or the Kubernetes Gateway API
# one, with spec.listeners).
gateways := {concat("/", [lib.namespace(obj), obj.metadata.name]): obj |
	some obj in _analyzed
	obj.kind == "Gateway"
}

# owned_namespaces are the namespaces the repository holds: those with a
# Namespace object, an intent or a Gateway in the set. A reference into one
# of them that the set cannot resolve is an error; a reference elsewhere may
# name something the cluster has, and the offline checks say nothing.
owned_namespaces := (_object_namespaces | _intent_namespaces) | _gateway_namespaces

_object_namespaces := {ns | some ns, _ in namespaces}

_intent_namespaces := {ns |
	some entry in data.meshintent.intents
	ns := object.get(entry.intent.metadata, "namespace", entry.intent.metadata.name)
}

_gateway_namespaces := {split(key, "/")[0] | some key, _ in gateways}

# request_authentications are {"id", "namespace", "labels"} of each
# RequestAuthentication; labels are its selector's matchLabels, {} when it
# selects every workload of its namespace. (They are few: a list.)
request_authentications := [{"id": lib.id(obj), "namespace": lib.namespace(obj), "labels": labels} |
	some obj in _analyzed
	obj.kind == "RequestAuthentication"
	labels := object.get(obj, ["spec", "selector", "matchLabels"], {})
]

# service_ports maps a host FQDN to the definitions of that host in the set,
# {"id", "namespace", "scopes", "ports"}: one per ServiceEntry host and per
# Service (<name>.<namespace>.svc.<domain>); ports are the port numbers.
service_ports := by_host if {
	by_host := {host: defs |
		some host in {host | some [host, _] in _services}
		defs := {def | [host, def] = _services[_]}
	}
}

_services := array.concat(
	[[lib.fqdn(name, ns), {"id": lib.id(obj), "namespace": ns, "scopes": scopes, "ports": ports}] |
		some obj in _analyzed
		obj.kind == "ServiceEntry"
		ns := lib.namespace(obj)
		scopes := hosts.export_scopes(object.get(obj.spec, "exportTo", []), ns)
		ports := {p.number | some p in object.get(obj.spec, "ports", [])}
		some name in obj.spec.hosts
	],
	[[lib.fqdn(obj.metadata.name, ns), {"id": lib.id(obj), "namespace": ns, "scopes": scopes, "ports": ports}] |
		some obj in _analyzed
		obj.kind == "Service"
		obj.apiVersion == "v1"
		ns := lib.namespace(obj)
		scopes := _service_scopes(obj)
		ports := {p.port | some p in object.get(obj.spec, "ports", [])}
	],
)

_service_scopes(obj) := scopes if {
	scopes := hosts.export_scopes(split(obj.metadata.annotations["networking.istio.io/exportTo"], ","), lib.namespace(obj))
} else := {"*"}

# service_entry_protocols maps "<host FQDN>:<port>" to the ServiceEntries
# defining that port of the host, {"id", "scopes", "protocol"} (protocol in
# upper case, "" when unset).
service_entry_protocols := by_key if {
	by_key := {key: defs |
		some key in {key | some [key, _] in _service_entry_ports}
		defs := {def | [key, def] = _service_entry_ports[_]}
	}
}

_service_entry_ports := [[sprintf("%s:%d", [lib.fqdn(name, ns), p.number]), {"id": lib.id(obj), "scopes": scopes, "protocol": upper(object.get(p, "protocol", ""))}] |
	some obj in _analyzed
	obj.kind == "ServiceEntry"
	ns := lib.namespace(obj)
	scopes := hosts.export_scopes(object.get(obj.spec, "exportTo", []), ns)
	some name in obj.spec.hosts
	some p in object.get(obj.spec, "ports", [])
]

# destination_rule_merges maps a host FQDN with several DestinationRules to
# those Istio may merge: {"id", "namespace", "scopes"} of each one without
# workloadSelector. Hosts with one DestinationRule are left out.
destination_rule_merges := by_host if {
	by_host := {host: defs |
		some host, ids in destination_rules
		count(ids) > 1
		defs := {def |
			[host, id, obj] = _destination_rules[_]
			not obj.spec.workloadSelector
			ns := lib.namespace(obj)
			def := {"id": id, "namespace": ns, "scopes": hosts.export_scopes(object.get(obj.spec, "exportTo", []), ns)}
		}
	}
}

# selectors maps "<Kind>/<namespace>" (Sidecar, Telemetry) to
# {"id", "labels"} of each such object of the namespace; labels are the
# workload selector's labels, null when it has none. A Telemetry with
# targetRefs is left out: it attaches to a Gateway or Service, not by
# labels.
selectors := by_key if {
	by_key := {key: defs |
		some key in {key | some [key, _] in _selectors}
		defs := {def | [key, def] = _selectors[_]}
	}
}

_selectors := [[concat("/", [obj.kind, lib.namespace(obj)]), {"id": lib.id(obj), "labels": _selector_labels(obj)}] |
	some obj in _analyzed
	obj.kind in {"Sidecar", "Telemetry"}
	not obj.spec.targetRef
	not obj.spec.targetRefs
]

_selector_labels(obj) := labels if {
	obj.kind == "Sidecar"
	labels := obj.spec.workloadSelector.labels
	count(labels) > 0
} else := labels if {
	obj.kind == "Telemetry"
	labels := obj.spec.selector.matchLabels
	count(labels) > 0
} else := null

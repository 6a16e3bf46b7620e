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
# {"namespace", "gateway", "id"} for each gateway ("mesh" for the sidecars)
# each applies to.
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

# _virtual_services are [host FQDN, {"namespace", "gateway", "id"}] for each
# host and gateway of each VirtualService.
_virtual_services := [[lib.fqdn(name, ns), {"namespace": ns, "gateway": gateway, "id": lib.id(obj)}] |
	some obj in data.meshintent.objects
	obj.kind == "VirtualService"
	ns := object.get(obj.metadata, "namespace", "")
	some name in obj.spec.hosts
	some gateway in lib.gateways(obj)
]

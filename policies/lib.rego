# Package meshintent.lib holds helpers shared by the built-in policies.
# Repository policies may import it too (import data.meshintent.lib).
package meshintent.lib

import data.meshintent.index
import data.meshintent.lib.hosts

# config is data.meshintent.config: data.yaml merged with the repository's
# overrides. (The built-in policies read data.meshintent.config directly: a
# rule is evaluated again for every object, a data reference is cached.)
config := data.meshintent.config

# id names an object as Kind/namespace/name, or Kind/name when it has no
# namespace, the form results and the meshintent.io/intent annotation use.
id(obj) := concat("/", [obj.kind, ns, obj.metadata.name]) if {
	ns := obj.metadata.namespace
	ns != ""
} else := concat("/", [obj.kind, obj.metadata.name])

# namespace is the object's metadata.namespace, or "" when it has none.
namespace(obj) := object.get(obj, ["metadata", "namespace"], "")

# fqdn resolves a host the way Istio does: a name without a dot is short for
# <name>.<namespace>.svc.<clusterDomain>; any other name, and "*", is taken as
# written ("reviews.bookinfo" is not completed). It is hosts.fqdn, the one
# host model (package meshintent.lib.hosts), and returns lower case.
fqdn(host, ns) := hosts.fqdn(host, ns)

# gateways are the gateways a VirtualService applies to: spec.gateways, or
# "mesh" (every sidecar) when it names none.
gateways(vs) := vs.spec.gateways if {
	count(vs.spec.gateways) > 0
} else := ["mesh"]

# duration_ns parses a duration as Istio writes them ("5s", "0.500s", "1m",
# "250ms") into nanoseconds. It is undefined for anything that is not one.
duration_ns(d) := time.parse_duration_ns(d)

# production holds for a namespace that counts as production (see
# data.meshintent.config.production): its NamespaceIntent's spec.environment
# is one of environments, it is one of namespaces, or its Namespace object
# carries one of labels.
production(ns) if index.namespace_intents[ns].intent.spec.environment in data.meshintent.config.production.environments

production(ns) if ns in data.meshintent.config.production.namespaces

production(ns) if {
	some key, value in data.meshintent.config.production.labels
	index.namespaces[ns].metadata.labels[key] == value
}

# fault_injection_allowed holds for a namespace whose NamespaceIntent sets
# spec.allowFaultInjection, or that
# data.meshintent.config.faultInjection.allowNamespaces lists.
fault_injection_allowed(ns) if index.namespace_intents[ns].intent.spec.allowFaultInjection == true

fault_injection_allowed(ns) if ns in data.meshintent.config.faultInjection.allowNamespaces

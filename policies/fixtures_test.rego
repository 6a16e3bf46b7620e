# Package meshintent.fixtures builds the objects and intents the Rego unit
# tests of the built-in policies use. Being a _test.rego file, it is loaded by
# `reconciler policy test` but never by the gate.
package meshintent.fixtures

vs(ns, name, hosts, http) := {
	"apiVersion": "networking.istio.io/v1",
	"kind": "VirtualService",
	"metadata": {"name": name, "namespace": ns},
	"spec": {"hosts": hosts, "http": http},
}

dr(ns, name, host, subsets) := {
	"apiVersion": "networking.istio.io/v1",
	"kind": "DestinationRule",
	"metadata": {"name": name, "namespace": ns},
	"spec": {"host": host, "subsets": [{"name": s, "labels": {"version": s}} | some s in subsets]},
}

namespace(name, labels) := {
	"apiVersion": "v1",
	"kind": "Namespace",
	"metadata": {"name": name, "labels": labels},
}

# route is a weighted destination.
route(host, subset, weight) := {"destination": {"host": host, "subset": subset}, "weight": weight}

# to is an unweighted destination.
to(host, subset) := {"destination": {"host": host, "subset": subset}}

service_intent(ns, name, spec) := {
	"apiVersion": "meshintent.io/v1alpha1",
	"kind": "ServiceIntent",
	"metadata": {"name": name, "namespace": ns},
	"spec": spec,
}

namespace_intent(name, spec) := {
	"apiVersion": "meshintent.io/v1alpha1",
	"kind": "NamespaceIntent",
	"metadata": {"name": name},
	"spec": spec,
}

# entry wraps an intent the way data.meshintent.intents holds it.
entry(intent) := {
	"id": data.meshintent.lib.id(intent),
	"kind": intent.kind,
	"source": sprintf("intents/%s.yaml", [intent.metadata.name]),
	"line": 1,
	"intent": intent,
}

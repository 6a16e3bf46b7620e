# Package meshintent.faults: no fault injection in production namespaces unless
# allowed. A namespace is production when its NamespaceIntent's environment is
# in data.meshintent.config.production.environments (or by the namespace list
# or labels there); faults are allowed by spec.allowFaultInjection on the
# NamespaceIntent or by config.faultInjection.allowNamespaces.
#
# The abort that spec.suspend.all renders is a suspension, not fault
# injection: a VirtualService generated (meshintent.io/intent) from a
# ServiceIntent with suspend.all is left alone.
package meshintent.faults

import data.meshintent.index
import data.meshintent.lib

deny contains {"msg": msg, "field": sprintf("spec.http[%d].fault", [i])} if {
	input.kind == "VirtualService"
	some i, rule in input.spec.http
	rule.fault
	ns := object.get(input.metadata, "namespace", "")
	lib.production(ns)
	not lib.fault_injection_allowed(ns)
	not suspended
	msg := sprintf("http[%d] injects faults in production namespace %s: set spec.allowFaultInjection on NamespaceIntent/%s to allow it", [i, ns, ns])
}

suspended if {
	id := input.metadata.annotations["meshintent.io/intent"]
	index.intents[id].intent.spec.suspend.all == true
}

# Package meshintent.tenancy: an IntentSync may be fenced to some namespaces
# (spec.allowedNamespaces, passed in as data.meshintent.config.allowedNamespaces).
# Then every intent and every object must stay inside the fence; one that
# does not is denied, and nothing of that revision is applied. No fence (an
# empty list) allows every namespace.
package meshintent.tenancy

allowed := object.get(data.meshintent.config, "allowedNamespaces", [])

# namespace_of is the namespace an input lives in or, for Namespaces and
# NamespaceIntents, the one it is.
namespace_of(obj) := obj.metadata.name if {
	obj.kind in {"Namespace", "NamespaceIntent"}
}

namespace_of(obj) := object.get(obj.metadata, "namespace", "") if {
	not obj.kind in {"Namespace", "NamespaceIntent"}
}

deny contains {"msg": msg, "field": field} if {
	count(allowed) > 0
	ns := namespace_of(input)
	not ns in allowed
	field := fence_field(input)
	msg := sprintf("namespace %q is outside the allowed namespaces %v", [ns, allowed])
}

fence_field(obj) := "metadata.name" if obj.kind in {"Namespace", "NamespaceIntent"}

fence_field(obj) := "metadata.namespace" if not obj.kind in {"Namespace", "NamespaceIntent"}

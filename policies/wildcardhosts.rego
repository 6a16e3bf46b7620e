# Package meshintent.wildcardhosts: no "*" host. A VirtualService or
# DestinationRule for "*" captures every host in its scope, including those of
# other teams.
package meshintent.wildcardhosts

deny contains {"msg": msg, "field": sprintf("spec.hosts[%d]", [i])} if {
	input.kind == "VirtualService"
	some i, host in input.spec.hosts
	host == "*"
	msg := "hosts has \"*\", which routes every host: name the hosts"
}

deny contains {"msg": msg, "field": "spec.host"} if {
	input.kind == "DestinationRule"
	input.spec.host == "*"
	msg := "host is \"*\", which applies to every host: name the host"
}

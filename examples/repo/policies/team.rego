# Package bookinfo.team holds the bookinfo team's own rules, evaluated after
# the built-in policies (see meshintent.yaml).
package bookinfo.team

# Every ServiceIntent names an owning team, so a page reaches someone.
deny contains {"msg": msg, "field": "metadata.labels.team"} if {
	input.kind == "ServiceIntent"
	not input.metadata.labels.team
	msg := sprintf("ServiceIntent %s has no team label", [input.metadata.name])
}

# Canary splits keep at least 50% on the stable version in production.
warn contains msg if {
	input.kind == "VirtualService"
	input.metadata.namespace == "bookinfo"
	some route in input.spec.http
	some dest in route.route
	dest.destination.subset == "v3"
	dest.weight > 50
	msg := sprintf("%s sends %d%% to v3; keep canaries at or under 50%%", [input.metadata.name, dest.weight])
}

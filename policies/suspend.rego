# Package meshintent.suspend: suspending a service says why, so that whoever
# finds its traffic stopped knows who to ask; and suspending all of it is
# reported every time.
package meshintent.suspend

deny contains {"msg": msg, "field": "spec.suspend.reason"} if {
	input.kind == "ServiceIntent"
	is_object(input.spec.suspend)
	trim_space(object.get(input.spec.suspend, "reason", "")) == ""
	msg := "spec.suspend has no reason: say why the traffic is suspended"
}

warn contains {"msg": msg, "field": "spec.suspend.all"} if {
	input.kind == "ServiceIntent"
	input.spec.suspend.all == true
	status := object.get(input.spec.suspend, "httpStatus", 503)
	msg := sprintf("every request is aborted with HTTP %v (%s)", [status, object.get(input.spec.suspend, "reason", "")])
}

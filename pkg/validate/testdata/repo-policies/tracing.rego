# A repository's own policy: its deny/warn rules join the built-ins.
package team.tracing

import data.meshintent.lib

# warn_sampling reports Telemetry sampling above the team's budget, a limit
# from this directory's data.yaml.
warn_sampling contains {"msg": msg, "field": sprintf("spec.tracing[%d].randomSamplingPercentage", [i]), "policy": "team.tracing.budget"} if {
	input.kind == "Telemetry"
	some i, tracing in input.spec.tracing
	tracing.randomSamplingPercentage > data.team.maxSamplingPercentage
	msg := sprintf("samples %v%% of requests, above the team budget of %v%%", [tracing.randomSamplingPercentage, data.team.maxSamplingPercentage])
}

# deny_unowned has no kind test, so it is evaluated for every input; it is
# a complete rule with a string value.
deny_unowned := sprintf("%s has no owner annotation", [lib.id(input)]) if {
	input.kind in {"Telemetry", "ServiceEntry"}
	not input.metadata.annotations.owner
}

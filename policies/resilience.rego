# Package meshintent.resilience: timeouts and retries stay within the limits of
# data.meshintent.config (timeout.max, retries.maxAttempts,
# retries.maxPerTryTimeout), and are durations Istio understands.
package meshintent.resilience

import data.meshintent.lib

deny contains {"msg": not_a_duration(rule.timeout), "field": sprintf("spec.http[%d].timeout", [i])} if {
	input.kind == "VirtualService"
	some i, rule in input.spec.http
	rule.timeout
	not time.parse_duration_ns(rule.timeout)
}

deny contains {"msg": not_a_duration(value), "field": sprintf("spec.http[%d].retries.perTryTimeout", [i])} if {
	input.kind == "VirtualService"
	some i, rule in input.spec.http
	value := rule.retries.perTryTimeout
	not time.parse_duration_ns(value)
}

deny contains {"msg": above(rule.timeout, data.meshintent.config.timeout.max), "field": sprintf("spec.http[%d].timeout", [i])} if {
	input.kind == "VirtualService"
	some i, rule in input.spec.http
	time.parse_duration_ns(rule.timeout) > time.parse_duration_ns(data.meshintent.config.timeout.max)
}

deny contains {"msg": above(value, data.meshintent.config.retries.maxPerTryTimeout), "field": field} if {
	input.kind == "VirtualService"
	some i, rule in input.spec.http
	value := rule.retries.perTryTimeout
	time.parse_duration_ns(value) > time.parse_duration_ns(data.meshintent.config.retries.maxPerTryTimeout)
	field := sprintf("spec.http[%d].retries.perTryTimeout", [i])
}

deny contains {"msg": msg, "field": sprintf("spec.http[%d].retries.attempts", [i])} if {
	input.kind == "VirtualService"
	some i, rule in input.spec.http
	rule.retries.attempts > data.meshintent.config.retries.maxAttempts
	msg := sprintf("%v retry attempts are above the maximum of %v", [rule.retries.attempts, data.meshintent.config.retries.maxAttempts])
}

# warn reports retries that cannot all run: every try may take perTryTimeout,
# and the request as a whole times out before the last ones start.
warn contains {"msg": msg, "field": sprintf("spec.http[%d].retries", [i])} if {
	input.kind == "VirtualService"
	some i, rule in input.spec.http
	tries := rule.retries.attempts + 1
	timeout := time.parse_duration_ns(rule.timeout)
	timeout > 0
	tries * time.parse_duration_ns(rule.retries.perTryTimeout) > timeout
	msg := sprintf("%v tries of up to %s do not fit in the %s timeout: the last retries never run", [tries, rule.retries.perTryTimeout, rule.timeout])
}

not_a_duration(value) := sprintf("%v is not a duration such as \"5s\" or \"0.500s\"", [value])

above(value, limit) := sprintf("%s is above the maximum of %s", [value, limit])

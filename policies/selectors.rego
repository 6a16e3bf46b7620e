# Package meshintent.selectors: one Sidecar and one Telemetry per workload.
#
#   - Two Sidecars of a namespace without workloadSelector:
#     MultipleSidecarsWithoutWorkloadSelectors (IST0111); two whose
#     selectors select the same workloads (one's labels hold the other's):
#     ConflictingSidecarWorkloadSelectors (IST0110). Istio applies one of
#     them.
#   - The same for Telemetry (spec.selector.matchLabels):
#     MultipleTelemetriesWithoutWorkloadSelectors (IST0160),
#     ConflictingTelemetryWorkloadSelectors (IST0159). A Telemetry with
#     targetRefs is not checked.
#
# Offline the pods are unknown: nested selectors are taken to select a
# common workload (when none exists, both select nothing, which Istio
# reports too).
#
# The severity is data.meshintent.config.severity["meshintent.selectors"]
# (deny, as Istio's error level; "off" turns it off).
package meshintent.selectors

import data.meshintent.index
import data.meshintent.lib

deny contains finding if {
	input.kind == "Sidecar"
	not data.meshintent.config.severity["meshintent.selectors"] in {"warn", "off"}
	some finding in findings
}

deny contains finding if {
	input.kind == "Telemetry"
	not data.meshintent.config.severity["meshintent.selectors"] in {"warn", "off"}
	some finding in findings
}

warn contains finding if {
	input.kind == "Sidecar"
	data.meshintent.config.severity["meshintent.selectors"] == "warn"
	some finding in findings
}

warn contains finding if {
	input.kind == "Telemetry"
	data.meshintent.config.severity["meshintent.selectors"] == "warn"
	some finding in findings
}

_codes := {
	"Sidecar": {"none": "IST0111", "nested": "IST0110", "field": "spec.workloadSelector"},
	"Telemetry": {"none": "IST0160", "nested": "IST0159", "field": "spec.selector"},
}

findings contains {"msg": msg, "field": "metadata.name", "code": _codes[input.kind].none} if {
	defs := index.selectors[concat("/", [input.kind, lib.namespace(input)])]
	count(defs) > 1
	self := lib.id(input)
	some me in defs
	me.id == self
	me.labels == null
	others := {def.id | some def in defs; def.id != self; def.labels == null}
	count(others) > 0
	msg := sprintf("%s selects every workload of namespace %s, and so does %s: Istio applies only one", [input.kind, lib.namespace(input), concat(", ", sort(others))])
}

findings contains {"msg": msg, "field": _codes[input.kind].field, "code": _codes[input.kind].nested} if {
	defs := index.selectors[concat("/", [input.kind, lib.namespace(input)])]
	count(defs) > 1
	self := lib.id(input)
	some me in defs
	me.id == self
	me.labels != null
	others := {def.id |
		some def in defs
		def.id != self
		def.labels != null
		_nested(me.labels, def.labels)
	}
	count(others) > 0
	msg := sprintf("%s selects the workloads labelled %s, as does %s: Istio applies only one", [input.kind, _labels(me.labels), concat(", ", sort(others))])
}

_nested(a, b) if {
	every key, value in a {
		b[key] == value
	}
}

_nested(a, b) if {
	every key, value in b {
		a[key] == value
	}
}

_labels(labels) := concat(",", sort([sprintf("%s=%s", [k, v]) | some k, v in labels]))

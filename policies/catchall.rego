# Package meshintent.catchall: every route rule of a VirtualService can be
# used. Istio tries the http, tcp and tls rules in order and the first match
# wins, so
#
#   - a rule after one that matches every request (no match, or a match
#     entry with no condition but uri prefix "/" or regex ".*"), and a rule
#     each of whose match entries an earlier rule already matches, is never
#     used: Istio's VirtualServiceUnreachableRule (IST0130);
#   - a match entry (one clause of the OR) that an earlier rule already
#     matches never selects its rule: Istio's VirtualServiceIneffectiveMatch
#     (IST0131).
#
# "Already matches" is Istio's duplicate match (the same conditions, the
# entry's name aside) and more: an earlier entry whose every condition the
# later one has too (headers, query parameters and labels entry by entry,
# TLS SNI hosts and subnets as sets, wildcards included), its uri prefix
# covering the later uri.
#
# The severity is data.meshintent.config.severity["meshintent.catchall"]
# (warn, as Istio's warning and info levels; "off" turns it off).
package meshintent.catchall

import data.meshintent.lib.hosts

deny contains finding if {
	input.kind == "VirtualService"
	data.meshintent.config.severity["meshintent.catchall"] == "deny"
	some finding in findings
}

warn contains finding if {
	input.kind == "VirtualService"
	not data.meshintent.config.severity["meshintent.catchall"] in {"deny", "off"}
	some finding in findings
}

# findings are the unused rules and match entries of input.
findings contains {"msg": msg, "field": sprintf("spec.%s[%d]", [protocol, j]), "code": "IST0130"} if {
	some protocol, first in _first_catch_all
	some j, _ in input.spec[protocol]
	j > first
	msg := sprintf("%s[%d] is unreachable: %s[%d] before it matches every request", [protocol, j, protocol, first])
}

findings contains {"msg": msg, "field": sprintf("spec.%s[%d]", [protocol, j]), "code": "IST0130"} if {
	some [protocol, j] in {[p, j] | some [p, j, _, _, _] in _covered}
	entries := {k | some [p, r, k, _, _] in _covered; p == protocol; r == j}
	count(entries) == count(input.spec[protocol][j].match)
	earlier := {i | some [p, r, _, i, _] in _covered; p == protocol; r == j}
	msg := sprintf("%s[%d] is unreachable: each of its matches is matched before by %s", [protocol, j, _rules(protocol, earlier)])
}

findings contains {"msg": msg, "field": sprintf("spec.%s[%d].match[%d]", [protocol, j, k]), "code": "IST0131"} if {
	some [protocol, j] in {[p, j] | some [p, j, _, _, _] in _covered}
	entries := {k | some [p, r, k, _, _] in _covered; p == protocol; r == j}
	count(entries) < count(input.spec[protocol][j].match)
	some k in entries
	[i, l] := min({[i, l] | some [p, r, m, i, l] in _covered; p == protocol; r == j; m == k})
	msg := sprintf("%s[%d].match[%d] is never used: %s[%d].match[%d] before it matches every request it matches", [protocol, j, k, protocol, i, l])
}

# _first_catch_all maps a protocol (http, tcp, tls) to the index of the
# first rule of input that matches every request, when one does before the
# last rule.
_first_catch_all := {protocol: first |
	some protocol in ["http", "tcp", "tls"]
	rules := input.spec[protocol]
	count(rules) > 1
	first := min({i | some i, rule in rules; catch_all(protocol, rule)})
	first < count(rules) - 1
}

# _covered are [protocol, j, k, i, l]: entry k of rule j of input is matched
# before by entry l of rule i (i < j), neither after a catch-all. Computed
# once per input.
_covered := {[protocol, j, k, i, l] |
	some protocol in ["http", "tcp", "tls"]
	rules := input.spec[protocol]
	count(rules) > 1
	last := object.get(_first_catch_all, protocol, count(rules))
	some j, rule in rules
	j > 0
	j <= last
	some k, b in rule.match
	some i, earlier in rules
	i < j
	some l, a in earlier.match
	covers(protocol, a, b)
}

_rules(protocol, indexes) := concat(", ", [sprintf("%s[%d]", [protocol, i]) | some i in sort(indexes)])

# catch_all holds for a rule without match conditions, or with a match entry
# that matches everything (entries are ORed).
catch_all(_, rule) if not rule.match

catch_all(_, rule) if rule.match == null

catch_all(_, rule) if count(rule.match) == 0

catch_all("http", rule) if {
	some entry in rule.match
	matches_everything(entry)
}

catch_all(protocol, rule) if {
	protocol != "http"
	some entry in rule.match
	count(entry) == 0
}

# matches_everything holds for a match entry with no condition other than a
# URI that every path has, such as prefix "/".
matches_everything(entry) if {
	every key, _ in entry {
		key in {"name", "uri", "ignoreUriCase", "statPrefix"}
	}
	uri_matches_everything(entry)
}

uri_matches_everything(entry) if not entry.uri

uri_matches_everything(entry) if entry.uri.prefix == "/"

uri_matches_everything(entry) if entry.uri.regex in {".*", "/.*", "^.*", "^/.*"}

# covers holds when match entry a matches every request entry b matches:
# each condition of a is one of b's, or looser.
covers("http", a, b) if {
	_uri_covers(a, b)
	every key, value in a {
		_http_condition_covers(key, value, b)
	}
}

covers(protocol, a, b) if {
	protocol != "http"
	every key, value in a {
		_l4_condition_covers(key, value, b)
	}
}

_not_conditions := {"name", "statPrefix", "uri", "ignoreUriCase"}

_maps := {"headers", "queryParams", "withoutHeaders", "sourceLabels"}

_http_condition_covers(key, _, _) if key in _not_conditions

_http_condition_covers(key, value, b) if {
	key in _maps
	every name, condition in value {
		b[key][name] == condition
	}
}

_http_condition_covers(key, value, b) if {
	not key in _not_conditions
	not key in _maps
	b[key] == value
}

_uri_covers(a, _) if not a.uri

_uri_covers(a, _) if uri_matches_everything(a)

_uri_covers(a, b) if {
	object.get(a, "ignoreUriCase", false) == object.get(b, "ignoreUriCase", false)
	a.uri == b.uri
}

_uri_covers(a, b) if {
	object.get(a, "ignoreUriCase", false) == object.get(b, "ignoreUriCase", false)
	some kind in ["prefix", "exact"]
	startswith(b.uri[kind], a.uri.prefix)
}

_l4_condition_covers("sniHosts", value, b) if {
	count(b.sniHosts) > 0
	every h in b.sniHosts {
		hosts.covered_by_any(value, h)
	}
}

_l4_condition_covers("destinationSubnets", value, b) if {
	count(b.destinationSubnets) > 0
	every subnet in b.destinationSubnets {
		subnet in value
	}
}

_l4_condition_covers("sourceLabels", value, b) if {
	every name, label in value {
		b.sourceLabels[name] == label
	}
}

_l4_condition_covers(key, value, b) if {
	not key in {"sniHosts", "destinationSubnets", "sourceLabels"}
	b[key] == value
}

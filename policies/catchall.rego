# Package meshintent.catchall: no http rule of a VirtualService follows a
# catch-all rule. Istio tries the rules in order and the first match wins, so
# rules after one that matches every request are never used.
package meshintent.catchall

deny contains {"msg": msg, "field": sprintf("spec.http[%d]", [j])} if {
	input.kind == "VirtualService"
	last := count(input.spec.http) - 1
	catch_alls := [i | some i, rule in input.spec.http; i < last; catch_all(rule)]
	count(catch_alls) > 0
	first := catch_alls[0]
	some j, _ in input.spec.http
	j > first
	msg := sprintf("http[%d] is unreachable: http[%d] before it matches every request", [j, first])
}

# catch_all holds for a rule without match conditions, or with a match entry
# that matches everything (entries are ORed).
catch_all(rule) if not rule.match

catch_all(rule) if rule.match == null

catch_all(rule) if count(rule.match) == 0

catch_all(rule) if {
	some entry in rule.match
	matches_everything(entry)
}

# matches_everything holds for a match entry with no condition other than a
# URI that every path has, such as prefix "/".
matches_everything(entry) if {
	every key, _ in entry {
		key in {"name", "uri", "ignoreUriCase"}
	}
	uri_matches_everything(entry)
}

uri_matches_everything(entry) if not entry.uri

uri_matches_everything(entry) if entry.uri.prefix == "/"

uri_matches_everything(entry) if entry.uri.regex in {".*", "/.*", "^.*", "^/.*"}

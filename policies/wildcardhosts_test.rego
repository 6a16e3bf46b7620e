package meshintent.wildcardhosts

import data.meshintent.fixtures as f

test_allows_named_hosts if {
	count(deny) == 0 with input as f.vs("bookinfo", "edge", ["bookinfo.example.com", "*.apps.example.com"], [])
	count(deny) == 0 with input as f.dr("bookinfo", "reviews", "reviews", [])
}

test_denies_star_hosts if {
	deny == {{"msg": "hosts has \"*\", which routes every host: name the hosts", "field": "spec.hosts[1]"}} with input as f.vs("bookinfo", "edge", ["bookinfo.example.com", "*"], [])
	deny == {{"msg": "host is \"*\", which applies to every host: name the host", "field": "spec.host"}} with input as f.dr("bookinfo", "all", "*", [])
}

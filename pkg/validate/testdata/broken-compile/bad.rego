package team.broken

import data.meshintent.lib

deny contains msg if {
	input.kind == "VirtualService"
	msg := lib.no_such_function(input)
}

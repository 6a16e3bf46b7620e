package team.broken

deny contains msg if {
	input.kind == "VirtualService"
	msg := "unterminated
}

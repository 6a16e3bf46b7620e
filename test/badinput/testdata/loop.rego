package hostile

deny contains "never" if {
	input.kind == "VirtualService"
	some a in numbers.range(1, 1000000)
	some b in numbers.range(1, 1000000)
	a * b == -1
}

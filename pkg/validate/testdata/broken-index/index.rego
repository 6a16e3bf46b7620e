# Index rules are computed once per run, without input: this one is refused.
package meshintent.index.team

hosts := {host | some host in input.spec.hosts}

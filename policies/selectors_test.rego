package meshintent.selectors

sidecar(name, labels) := {
	"apiVersion": "networking.istio.io/v1",
	"kind": "Sidecar",
	"metadata": {"name": name, "namespace": "bookinfo"},
	"spec": object.union({"egress": [{"hosts": ["./*"]}]}, _workload_selector(labels)),
}

_workload_selector(null) := {}

_workload_selector(labels) := {"workloadSelector": {"labels": labels}} if labels != null

telemetry(name, spec) := {
	"apiVersion": "telemetry.istio.io/v1",
	"kind": "Telemetry",
	"metadata": {"name": name, "namespace": "bookinfo"},
	"spec": spec,
}

test_allows_one_sidecar_per_workload if {
	objects := [sidecar("default", null), sidecar("reviews", {"app": "reviews"}), sidecar("ratings", {"app": "ratings", "version": "v1"})]
	every obj in objects {
		count(deny) == 0 with input as obj with data.meshintent.objects as objects
	}
}

test_denies_two_sidecars_without_selector if {
	objects := [sidecar("default", null), sidecar("other", null)]
	deny == {{
		"msg": "Sidecar selects every workload of namespace bookinfo, and so does Sidecar/bookinfo/other: Istio applies only one",
		"field": "metadata.name",
		"code": "IST0111",
	}} with input as objects[0]
		with data.meshintent.objects as objects
}

test_denies_sidecars_selecting_the_same_workloads if {
	objects := [sidecar("reviews", {"app": "reviews"}), sidecar("reviews-v2", {"app": "reviews", "version": "v2"})]
	deny == {{
		"msg": "Sidecar selects the workloads labelled app=reviews, as does Sidecar/bookinfo/reviews-v2: Istio applies only one",
		"field": "spec.workloadSelector",
		"code": "IST0110",
	}} with input as objects[0]
		with data.meshintent.objects as objects
}

test_denies_telemetries_without_and_with_the_same_selector if {
	objects := [
		telemetry("a", {"tracing": [{"randomSamplingPercentage": 1}]}),
		telemetry("b", {"accessLogging": [{"providers": [{"name": "envoy"}]}]}),
		telemetry("c", {"selector": {"matchLabels": {"app": "reviews"}}}),
		telemetry("d", {"selector": {"matchLabels": {"app": "reviews"}}}),
		telemetry("gw", {"targetRefs": [{"kind": "Gateway", "group": "gateway.networking.k8s.io", "name": "gw"}]}),
	]
	{x.code | some x in deny} == {"IST0160"} with input as objects[0] with data.meshintent.objects as objects
	{x.code | some x in deny} == {"IST0159"} with input as objects[2] with data.meshintent.objects as objects
	count(deny) == 0 with input as objects[4] with data.meshintent.objects as objects
}

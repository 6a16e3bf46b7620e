package controller

// The controller's RBAC, as kubebuilder markers: `make generate`
// (hack/generate.sh) turns them into config/rbac/role.yaml with
// controller-gen, and api/v1alpha1's TestGeneratedFilesAreFresh fails when
// that file no longer matches them. test/e2e's TestDeployedRBACIsEnough runs
// the controller as the installed ServiceAccount against a real API server to
// prove the rules are enough. Three roles come out of them:
//
// ClusterRole meshintent-reconciler (bound cluster-wide by
// config/rbac/role_binding.yaml), least privilege across the cluster:
//   - its own CRD: IntentSyncs, their status and finalizers;
//   - Namespaces: read, and patch of the labels it owns. It never creates or
//     deletes a Namespace: an IntentSync with createNamespaces needs "create"
//     added here;
//   - Events;
//   - the drift report ConfigMap (<name>-drift-report) in each IntentSync's
//     namespace, written with server-side apply;
//   - the live policy checks (pkg/live): the Services of the namespaces a set
//     routes to, whether a subset selects a Pod (metadata, one at most), and
//     Gateway API Gateways a VirtualService binds to. Listed, never watched;
//   - the mesh kinds it renders or passes through, and EnvoyFilters (listed
//     only, to warn about them): the table of managed kinds in
//     pkg/meshkinds, whose Kind.Verbs say what each needs.
//     kinds_table_test.go fails when these markers grant more or less;
//   - "impersonate" on ServiceAccounts, for spec.serviceAccountName and
//     --default-service-account: such a sync makes every request as the
//     ServiceAccount, with its rights only (fleet.go);
//   - TokenReviews and SubjectAccessReviews, for the web UI of
//     --ui-bind-address (internal/ui): each request's bearer token is
//     reviewed, and each page checked against what its user may get.
//
// No Secrets in it: those are granted per namespace.
//
// Role meshintent-reconciler in meshintent-system (bound by
// config/rbac/namespace_role_binding.yaml), in its own namespace only: the
// inventory ConfigMaps, the leader-election Lease, and the Secrets its
// IntentSyncs name (spec.source.secretRef, report webhooks), read one by one
// (never listed, watched or cached).
//
// ClusterRole meshintent-reconciler-secrets (SecretReaderClusterRole), bound
// nowhere by the install: Secret access for IntentSyncs outside
// meshintent-system. The controller reads a Secret an IntentSync names only in
// the IntentSync's own namespace, and only where it has been granted "get"
// there. A namespace whose IntentSyncs need credentials grants it with a
// RoleBinding of its own, as Flux's multi-tenancy does:
//
//	kubectl -n team-a create rolebinding meshintent-reconciler-secrets \
//	  --clusterrole=meshintent-reconciler-secrets \
//	  --serviceaccount=meshintent-system:meshintent-reconciler
//
// Without it such an IntentSync fails with a Forbidden error naming the
// Secret, and no Secret of that namespace can be read by the controller.

// ClusterRole meshintent-reconciler.
// +kubebuilder:rbac:groups=meshintent.io,resources=intentsyncs,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=meshintent.io,resources=intentsyncs/status,verbs=get;patch
// +kubebuilder:rbac:groups=meshintent.io,resources=intentsyncs/finalizers,verbs=update
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch
// +kubebuilder:rbac:groups="",resources=configmaps,verbs=get;create;patch
// +kubebuilder:rbac:groups="",resources=services;pods,verbs=list
// +kubebuilder:rbac:groups=gateway.networking.k8s.io,resources=gateways,verbs=get
// +kubebuilder:rbac:groups=networking.istio.io,resources=virtualservices;destinationrules;gateways;serviceentries;sidecars;workloadentries;workloadgroups,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=networking.istio.io,resources=envoyfilters,verbs=list
// +kubebuilder:rbac:groups=security.istio.io,resources=peerauthentications;authorizationpolicies;requestauthentications,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=telemetry.istio.io,resources=telemetries,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups="",resources=serviceaccounts,verbs=impersonate
// +kubebuilder:rbac:groups=authentication.k8s.io,resources=tokenreviews,verbs=create
// +kubebuilder:rbac:groups=authorization.k8s.io,resources=subjectaccessreviews,verbs=create

// Role meshintent-reconciler in meshintent-system.
// +kubebuilder:rbac:groups="",namespace=meshintent-system,resources=configmaps,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=coordination.k8s.io,namespace=meshintent-system,resources=leases,verbs=get;list;watch;create;update;patch
// +kubebuilder:rbac:groups="",namespace=meshintent-system,resources=secrets,verbs=get

// ClusterRole meshintent-reconciler-secrets, bound nowhere by the install.
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get,roleName=meshintent-reconciler-secrets

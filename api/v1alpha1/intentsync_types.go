package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// IntentSyncKind is the kind of IntentSync objects.
const IntentSyncKind = "IntentSync"

// DriftMode says what the controller does about drift.
// +kubebuilder:validation:Enum=report;correct
type DriftMode string

// Drift modes.
const (
	// DriftModeReport records drift in status and events and leaves it.
	DriftModeReport DriftMode = "report"
	// DriftModeCorrect also re-applies, taking fields back from other managers.
	DriftModeCorrect DriftMode = "correct"
)

// Condition types of an IntentSync (kstatus).
const (
	// ConditionReady is True when the last fetched revision is applied and in sync.
	ConditionReady = "Ready"
	// ConditionReconciling is True while a reconcile is in progress.
	ConditionReconciling = "Reconciling"
	// ConditionStalled is True when the controller will not retry until the
	// spec or the revision changes (a bad commit, a bad spec).
	ConditionStalled = "Stalled"
)

// Condition reasons.
const (
	ReasonFetchFailed   = "FetchFailed"
	ReasonRenderFailed  = "RenderFailed"
	ReasonPolicyDenied  = "PolicyDenied"
	ReasonDryRunFailed  = "DryRunFailed"
	ReasonApplyFailed   = "ApplyFailed"
	ReasonDriftDetected = "DriftDetected"
	ReasonSynced        = "Synced"
	ReasonProgressing   = "Progressing"
	ReasonSuspended     = "Suspended"
	// ReasonPolicyError: the policies themselves failed (a policy that does
	// not compile, calls a builtin outside the sandbox or is over a size
	// limit); nothing of the revision is applied.
	ReasonPolicyError = "PolicyError"
	// ReasonPolicyTimeout: the policy evaluation overran spec.policyTimeout,
	// which load on the controller may cause; nothing of the revision is
	// applied, and it is retried with backoff.
	ReasonPolicyTimeout = "PolicyTimeout"
	// ReasonVerificationFailed: the revision does not carry a good signature
	// by a trusted key (spec.source.verify); nothing of it is applied.
	ReasonVerificationFailed = "VerificationFailed"
	// ReasonClusterUnreachable: the remote cluster of spec.kubeConfig could
	// not be reached or its kubeconfig not read; retried with backoff.
	ReasonClusterUnreachable = "ClusterUnreachable"
	// ReasonImpersonationDenied: the API server refused a request made as
	// spec.serviceAccountName (or the default service account).
	ReasonImpersonationDenied = "ImpersonationDenied"
)

// IntentSyncSpec is what to sync from where, and how.
type IntentSyncSpec struct {
	// Source is the Git repository holding the intents.
	Source GitSource `json:"source"`

	// Interval is how often the repository is polled; webhooks trigger at once.
	// +kubebuilder:default="1m"
	// +optional
	Interval metav1.Duration `json:"interval,omitempty"`

	// RetryInterval is the longest wait between retries of transient errors
	// (they back off exponentially up to it). Default: Interval.
	// +optional
	RetryInterval *metav1.Duration `json:"retryInterval,omitempty"`

	// Prune deletes objects that left Git (for Namespaces, only the labels
	// meshintent set).
	// +optional
	Prune bool `json:"prune,omitempty"`

	// DriftMode is report (record drift) or correct (also revert it).
	// +kubebuilder:default=report
	// +optional
	DriftMode DriftMode `json:"driftMode,omitempty"`

	// Suspend stops reconciling; the cluster is left as it is.
	// +optional
	Suspend bool `json:"suspend,omitempty"`

	// AllowedNamespaces fences this IntentSync: an intent or object for any
	// other namespace is a policy violation and nothing of that revision is
	// applied. Empty means any namespace.
	// +optional
	AllowedNamespaces []string `json:"allowedNamespaces,omitempty"`

	// SharedGateways are gateways outside allowedNamespaces, as
	// "namespace/name" (e.g. istio-system/ingressgateway), that the
	// VirtualServices of a fenced IntentSync may bind to. Gateways of allowed
	// namespaces and "mesh" need no entry. Only read under a fence.
	// +optional
	SharedGateways []string `json:"sharedGateways,omitempty"`

	// AllowedExternalHosts are hosts outside allowedNamespaces that the
	// objects of a fenced IntentSync may name (VirtualService and
	// DestinationRule hosts, route destinations, ServiceEntry hosts exported
	// beyond the fence, Sidecar egress hosts of other namespaces): external
	// hosts such as api.stripe.com, wildcards such as *.googleapis.com
	// (covering the names under them), or another namespace's Service FQDN.
	// Only read under a fence; empty allows none.
	// +optional
	AllowedExternalHosts []string `json:"allowedExternalHosts,omitempty"`

	// CreateNamespaces creates namespaces that do not exist.
	// +optional
	CreateNamespaces bool `json:"createNamespaces,omitempty"`

	// PolicyDirs are extra Rego policy directories inside the repository,
	// read after the built-ins and the repository's meshintent.yaml policies.
	// +optional
	PolicyDirs []string `json:"policyDirs,omitempty"`

	// PolicyTimeout is the time budget of the policy evaluation of a
	// revision; a policy running longer fails the revision (PolicyError).
	// Default 5s.
	// +optional
	PolicyTimeout *metav1.Duration `json:"policyTimeout,omitempty"`

	// DriftReport schedules drift reports.
	// +optional
	DriftReport *DriftReportSpec `json:"driftReport,omitempty"`

	// Ignore are drift ignore rules, added to those of meshintent.yaml.
	// +optional
	Ignore []IgnoreRule `json:"ignore,omitempty"`

	// KubeConfig points at a kubeconfig for a remote cluster: the sync
	// renders once and applies, detects drift and prunes in that cluster.
	// Unset means the cluster the controller runs in.
	// +optional
	KubeConfig *KubeConfigReference `json:"kubeConfig,omitempty"`

	// ServiceAccountName makes every request of this sync (dry-run, apply,
	// prune, drift reads) impersonate this ServiceAccount of the
	// IntentSync's namespace. Default: the controller's
	// --default-service-account, or the controller itself when unset.
	// +optional
	ServiceAccountName string `json:"serviceAccountName,omitempty"`
}

// KubeConfigReference names the Secret holding a kubeconfig.
type KubeConfigReference struct {
	// SecretRef names a Secret in the IntentSync's namespace and the key
	// holding the kubeconfig.
	SecretRef SecretKeyReference `json:"secretRef"`
}

// SecretKeyReference names a key of a Secret in the same namespace.
type SecretKeyReference struct {
	// Name of the Secret.
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
	// Key of the Secret's data. Default: value.
	// +optional
	Key string `json:"key,omitempty"`
}

// VerificationMode says which object of the revision must be signed.
// +kubebuilder:validation:Enum=HEAD;Tag;TagAndHEAD
type VerificationMode string

// Verification modes.
const (
	// VerifyHEAD checks the signature of the commit to apply.
	VerifyHEAD VerificationMode = "HEAD"
	// VerifyTag checks the signature of the annotated tag (spec.source.tag).
	VerifyTag VerificationMode = "Tag"
	// VerifyTagAndHEAD checks both.
	VerifyTagAndHEAD VerificationMode = "TagAndHEAD"
)

// GitVerification asks for signed commits (or tags).
type GitVerification struct {
	// Mode is what must carry a good signature. Default: HEAD.
	// +kubebuilder:default=HEAD
	// +optional
	Mode VerificationMode `json:"mode,omitempty"`
	// SecretRef names a Secret in the IntentSync's namespace whose keys
	// hold trusted keys: ASCII-armored OpenPGP public keys, or SSH signing
	// keys in allowed_signers format (one key per line, principals first).
	SecretRef LocalObjectReference `json:"secretRef"`
}

// GitSource locates the intents in Git.
type GitSource struct {
	// URL of the repository: https://, http://, ssh:// or file://.
	// +kubebuilder:validation:MinLength=1
	URL string `json:"url"`
	// Branch to follow. Default: the remote HEAD. At most one of branch, tag, commit.
	// +optional
	Branch string `json:"branch,omitempty"`
	// Tag to apply.
	// +optional
	Tag string `json:"tag,omitempty"`
	// Commit (full SHA) to apply.
	// +kubebuilder:validation:Pattern=`^([0-9a-f]{40})?$`
	// +optional
	Commit string `json:"commit,omitempty"`
	// Path of the kustomization inside the repository.
	// +kubebuilder:default="."
	// +optional
	Path string `json:"path,omitempty"`
	// SecretRef names a Secret in the IntentSync's namespace with Git
	// credentials: username and password (HTTPS basic auth or a token),
	// bearerToken, or identity (an SSH private key) and known_hosts.
	// +optional
	SecretRef *LocalObjectReference `json:"secretRef,omitempty"`
	// Timeout of each Git network call.
	// +kubebuilder:default="60s"
	// +optional
	Timeout *metav1.Duration `json:"timeout,omitempty"`
	// Verify, when set, applies only commits (or tags) carrying a good
	// signature by one of the trusted keys; any other revision stalls the
	// sync with VerificationFailed and nothing of it is applied.
	// +optional
	Verify *GitVerification `json:"verify,omitempty"`
}

// LocalObjectReference names an object in the same namespace.
type LocalObjectReference struct {
	// Name of the object.
	Name string `json:"name"`
}

// DriftReportSpec schedules drift reports.
type DriftReportSpec struct {
	// Schedule in cron syntax (5 fields, or @every/@hourly...), e.g. "0 7 * * 1-5".
	Schedule string `json:"schedule"`
	// TimeZone of the schedule, an IANA name such as "Europe/Berlin". Default UTC.
	// +optional
	TimeZone string `json:"timeZone,omitempty"`
	// WebhookSecretRef names a Secret whose "url" key is a Slack-compatible
	// webhook that receives each report.
	// +optional
	WebhookSecretRef *LocalObjectReference `json:"webhookSecretRef,omitempty"`
}

// IgnoreRule leaves fields out of drift detection.
type IgnoreRule struct {
	// Paths are JSON pointers such as "/spec/http/0/retries"; "*" matches one
	// key or index.
	// +kubebuilder:validation:MinItems=1
	Paths []string `json:"paths"`
	// Group, Kind, Namespace and Name limit the rule; empty matches any.
	// +optional
	Group string `json:"group,omitempty"`
	// +optional
	Kind string `json:"kind,omitempty"`
	// +optional
	Namespace string `json:"namespace,omitempty"`
	// +optional
	Name string `json:"name,omitempty"`
}

// IntentSyncStatus is what the controller observed and did.
type IntentSyncStatus struct {
	// ObservedGeneration is the generation Ready was last decided for.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Conditions: Ready, Reconciling, Stalled (kstatus), and
	// DriftReportScheduled when spec.driftReport is set.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// LastFetchedRevision is the newest revision fetched, e.g. "main@sha1:…".
	// +optional
	LastFetchedRevision string `json:"lastFetchedRevision,omitempty"`
	// LastAttemptedRevision is the revision of the last apply attempt.
	// +optional
	LastAttemptedRevision string `json:"lastAttemptedRevision,omitempty"`
	// LastAppliedRevision is the revision the cluster was last made equal to.
	// +optional
	LastAppliedRevision string `json:"lastAppliedRevision,omitempty"`
	// LastAppliedTime is when that happened.
	// +optional
	LastAppliedTime *metav1.Time `json:"lastAppliedTime,omitempty"`
	// LastAppliedCommit is the subject, author and time of the commit of
	// LastAppliedRevision, for people reading the status.
	// +optional
	LastAppliedCommit *CommitInfo `json:"lastAppliedCommit,omitempty"`

	// Inventory lists what is applied.
	// +optional
	Inventory *InventoryStatus `json:"inventory,omitempty"`
	// Policy has the last policy results (capped).
	// +optional
	Policy *PolicyStatus `json:"policy,omitempty"`
	// Drift summarises the last drift check (capped).
	// +optional
	Drift *DriftStatus `json:"drift,omitempty"`
	// History holds the last 5 attempts, newest first.
	// +kubebuilder:validation:MaxItems=5
	// +optional
	History []Attempt `json:"history,omitempty"`
	// DriftReport says how the scheduled reports are going.
	// +optional
	DriftReport *DriftReportStatus `json:"driftReport,omitempty"`
	// Cluster is the API server URL the sync applies to (never
	// credentials); empty for the controller's own cluster.
	// +optional
	Cluster string `json:"cluster,omitempty"`
	// LastVerifiedCommit is the commit whose signature was last verified,
	// and by whom: "<sha> by <signer>".
	// +optional
	LastVerifiedCommit string `json:"lastVerifiedCommit,omitempty"`
}

// InventoryStatus lists the applied objects.
type InventoryStatus struct {
	// Entries are object IDs, Kind/namespace/name (Kind/name when cluster-scoped).
	// +optional
	Entries []string `json:"entries,omitempty"`
	// Total counts the entries.
	Total int `json:"total"`
}

// PolicyStatus is the policy gate's last verdict.
type PolicyStatus struct {
	// Revision evaluated.
	Revision string `json:"revision,omitempty"`
	// Denials and Warnings count all results.
	Denials  int `json:"denials"`
	Warnings int `json:"warnings"`
	// Results, denials first, capped at 20.
	// +optional
	Results []PolicyResult `json:"results,omitempty"`
}

// PolicyResult is one deny or warn.
type PolicyResult struct {
	// Severity is deny, warn, or waived (a denial an exception waives;
	// Waived says why).
	Severity string `json:"severity"`
	// Policy is the rule's package, e.g. meshintent.weights.
	Policy string `json:"policy"`
	// Code is the Istio analyzer message code, e.g. IST0101; empty for
	// results no istioctl analyze message matches.
	// +optional
	Code string `json:"code,omitempty"`
	// Object is Kind/namespace/name of the object or intent.
	Object string `json:"object"`
	// Source is the repository file.
	// +optional
	Source string `json:"source,omitempty"`
	// Line is the line in Source that wrote Field (0 when unknown).
	// +optional
	Line int `json:"line,omitempty"`
	// Field is the offending field's path.
	// +optional
	Field string `json:"field,omitempty"`
	// Message says what is wrong.
	Message string `json:"message"`
	// Waived says which exception waives the denial, when Severity is
	// waived.
	// +optional
	Waived *PolicyWaiver `json:"waived,omitempty"`
}

// PolicyWaiver is the exception that waives a denial.
type PolicyWaiver struct {
	// Reason is the exception's reason.
	Reason string `json:"reason"`
	// Expires is when the exception lapses and the denial blocks again;
	// unset when it does not lapse.
	// +optional
	Expires *metav1.Time `json:"expires,omitempty"`
	// By locates the exception, e.g. meshintent.yaml:12, or the Rego
	// exception rule and its file.
	// +optional
	By string `json:"by,omitempty"`
}

// DriftStatus summarises the last drift check.
type DriftStatus struct {
	// CheckedAt is when it ran.
	CheckedAt metav1.Time `json:"checkedAt"`
	// Drifted, Missing, Unmanaged count fields and objects.
	Drifted   int `json:"drifted"`
	Missing   int `json:"missing"`
	Unmanaged int `json:"unmanaged"`
	// Entries describe drift, capped at 20: "VirtualService/ns/n .spec.http[0].route[0].weight: want 80, have 50 (kubectl-edit)".
	// +optional
	Entries []string `json:"entries,omitempty"`
	// Corrected counts objects re-applied in correct mode since the last apply.
	// +optional
	Corrected int `json:"corrected,omitempty"`
}

// Attempt is one reconcile of a revision.
type Attempt struct {
	// Revision attempted.
	Revision string `json:"revision"`
	// Result is a condition reason: Synced, PolicyDenied, FetchFailed...
	Result string `json:"result"`
	// StartedAt is when the attempt began.
	StartedAt metav1.Time `json:"startedAt"`
	// Duration of the attempt.
	Duration metav1.Duration `json:"duration"`
	// Message, for failures.
	// +optional
	Message string `json:"message,omitempty"`
	// Commit is the subject, author and time of the revision's commit.
	// +optional
	Commit *CommitInfo `json:"commit,omitempty"`
	// Pruned lists the objects this attempt deleted because they left Git,
	// Kind/namespace/name (capped at 20).
	// +kubebuilder:validation:MaxItems=20
	// +optional
	Pruned []string `json:"pruned,omitempty"`
}

// CommitInfo is what people read of a commit: its subject line (capped),
// its author's name and when it was committed. Never an e-mail address.
type CommitInfo struct {
	// Subject is the first line of the commit message.
	Subject string `json:"subject"`
	// Author is the author's name.
	// +optional
	Author string `json:"author,omitempty"`
	// Time is the committer's time.
	// +optional
	Time *metav1.Time `json:"time,omitempty"`
}

// DriftReportStatus is the state of scheduled drift reports.
type DriftReportStatus struct {
	// LastRunTime of a report.
	// +optional
	LastRunTime *metav1.Time `json:"lastRunTime,omitempty"`
	// NextRunTime per the schedule.
	// +optional
	NextRunTime *metav1.Time `json:"nextRunTime,omitempty"`
	// Summary of the last report.
	// +optional
	Summary string `json:"summary,omitempty"`
	// ConfigMap holding the full report.
	// +optional
	ConfigMap string `json:"configMap,omitempty"`
	// MissedRuns counts runs that could not start on time.
	// +optional
	MissedRuns int `json:"missedRuns,omitempty"`
}

// IntentSync keeps a cluster's mesh config equal to intents in Git.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=isync
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Cluster",type=string,JSONPath=`.status.cluster`,priority=1
// +kubebuilder:printcolumn:name="Revision",type=string,JSONPath=`.status.lastAppliedRevision`
// +kubebuilder:printcolumn:name="Objects",type=integer,JSONPath=`.status.inventory.total`
// +kubebuilder:printcolumn:name="Drifted",type=integer,JSONPath=`.status.drift.drifted`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:printcolumn:name="Message",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].message`,priority=1
type IntentSync struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   IntentSyncSpec   `json:"spec,omitempty"`
	Status IntentSyncStatus `json:"status,omitempty"`
}

// IntentSyncList is a list of IntentSyncs.
//
// +kubebuilder:object:root=true
type IntentSyncList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []IntentSync `json:"items"`
}

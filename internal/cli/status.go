package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/duration"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/watch"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/meshintent/meshintent/api/v1alpha1"
	"github.com/meshintent/meshintent/pkg/report"
)

// statusFlags are the flags of reconciler status.
type statusFlags struct {
	cl            clusterFlags
	namespace     string
	allNamespaces bool
	watch         bool
	output        string
}

func newStatusCommand(a *app) *cobra.Command {
	var f statusFlags
	cmd := &cobra.Command{
		Use:   "status [NAME]",
		Short: "Show IntentSyncs: revision, readiness, drift and policy at a glance",
		Long: `status prints one line per IntentSync of a namespace (or of all, with -A),
like flux get kustomizations: the applied revision, the Ready condition, the
drift and policy summaries, the Ready message and the age. -o wide adds the
cluster, the source and when the last revision was applied.

With a NAME it prints that IntentSync in detail: conditions, source and
revisions, objects, drift findings (object, field, want, have, manager),
policy results (severity, policy, file, object, message), the scheduled drift
reports and the last attempts.

-w watches: after the table, a new line each time an IntentSync's line
changes, until interrupted. -o json and -o yaml print the objects as stored
(with -w, one document per change).

It reads the cluster of --kubeconfig and --context; the namespace defaults
to the context's.`,
		Example: `  reconciler status -A
  reconciler status -n meshintent-system -w
  reconciler status -n meshintent-system bookinfo-prod`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(f.output, "table", "wide", "json", "yaml"); err != nil {
				return err
			}
			if f.allNamespaces && (len(args) > 0 || cmd.Flags().Changed("namespace")) {
				return usageError(errors.New("-A lists every namespace: drop NAME and --namespace"))
			}
			return f.run(cmd.Context(), a.stdout, a.stderr, args)
		},
	}
	f.cl.register(cmd)
	fs := cmd.Flags()
	for _, n := range []string{"inventory", "inventory-namespace"} {
		_ = fs.MarkHidden(n) // clusterFlags' own; status reads no inventory
	}
	fs.StringVarP(&f.namespace, "namespace", "n", "", "namespace of the IntentSyncs (default: the kubeconfig context's)")
	fs.BoolVarP(&f.allNamespaces, "all-namespaces", "A", false, "list the IntentSyncs of every namespace")
	fs.BoolVarP(&f.watch, "watch", "w", false, "after listing, print a line each time an IntentSync changes")
	fs.StringVarP(&f.output, "output", "o", "table", "output format: table, wide, json or yaml")
	return cmd
}

// run lists (or gets NAME), prints, and watches with -w. It exits 1 when
// an IntentSync printed is not Ready.
func (f *statusFlags) run(ctx context.Context, stdout, stderr io.Writer, args []string) error {
	cfg, err := f.cl.restConfig()
	if err != nil {
		return err
	}
	ns := f.namespace
	if ns == "" && !f.allNamespaces {
		if ns, err = f.cl.contextNamespace(); err != nil {
			return err
		}
	}
	c, err := client.NewWithWatch(cfg, client.Options{Scheme: intentSyncScheme()})
	if err != nil {
		return fmt.Errorf("connecting to %s: %w", cfg.Host, err)
	}
	opts := []client.ListOption{}
	if !f.allNamespaces {
		opts = append(opts, client.InNamespace(ns))
	}
	if len(args) == 1 {
		opts = append(opts, client.MatchingFieldsSelector{Selector: fields.OneTermEqualSelector("metadata.name", args[0])})
	}
	list := &v1alpha1.IntentSyncList{}
	if err := c.List(ctx, list, opts...); err != nil {
		return fmt.Errorf("listing IntentSyncs: %w", err)
	}
	if len(args) == 1 && len(list.Items) == 0 {
		return fmt.Errorf("IntentSync %s/%s: %w", ns, args[0],
			apierrors.NewNotFound(v1alpha1.GroupVersion.WithResource("intentsyncs").GroupResource(), args[0]))
	}
	if len(list.Items) == 0 && !f.watch {
		where := "namespace " + ns
		if f.allNamespaces {
			where = "any namespace"
		}
		fmt.Fprintf(stderr, "No IntentSyncs found in %s.\n", where)
		return nil
	}
	p := &statusPrinter{w: stdout, wide: f.output == "wide", allNamespaces: f.allNamespaces, now: time.Now, last: map[string]string{}}
	switch {
	case f.output == "json" || f.output == "yaml":
		if err := printObjects(stdout, f.output, list, len(args) == 1 && !f.watch); err != nil {
			return err
		}
	case len(args) == 1 && !f.watch:
		writeStatusDetail(stdout, &list.Items[0], time.Now())
	default:
		p.table(list.Items)
	}
	if f.watch {
		return f.watchChanges(ctx, c, list, opts, p)
	}
	for i := range list.Items {
		if !isReady(&list.Items[i]) {
			return denied()
		}
	}
	return nil
}

// intentSyncScheme knows the built-in kinds and meshintent.io/v1alpha1.
func intentSyncScheme() *runtime.Scheme {
	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(v1alpha1.AddToScheme(scheme))
	return scheme
}

// contextNamespace is the namespace of the kubeconfig context, "default"
// when it names none.
func (f *clusterFlags) contextNamespace() (string, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = f.kubeconfig
	ns, _, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules,
		&clientcmd.ConfigOverrides{CurrentContext: f.context}).Namespace()
	if err != nil {
		return "", fmt.Errorf("loading kubeconfig: %w", err)
	}
	return ns, nil
}

// watchChanges watches from list's resourceVersion and prints each change
// until ctx is done. A watch the server closes is resumed from the last
// resourceVersion seen; one that expired (410 Gone) starts over from a new
// list, whose changes are printed like events.
func (f *statusFlags) watchChanges(ctx context.Context, c client.WithWatch, list *v1alpha1.IntentSyncList, opts []client.ListOption, p *statusPrinter) error {
	rv := list.ResourceVersion
	for ctx.Err() == nil {
		w, err := c.Watch(ctx, &v1alpha1.IntentSyncList{}, append(opts, &client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: rv, AllowWatchBookmarks: true}})...)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			return fmt.Errorf("watching IntentSyncs: %w", err)
		}
		rv, err = f.drain(ctx, w, rv, p)
		w.Stop()
		if err == nil {
			continue
		}
		if !apierrors.IsResourceExpired(err) && !apierrors.IsGone(err) {
			return fmt.Errorf("watching IntentSyncs: %w", err)
		}
		fresh := &v1alpha1.IntentSyncList{}
		if err := c.List(ctx, fresh, opts...); err != nil {
			return fmt.Errorf("listing IntentSyncs: %w", err)
		}
		for i := range fresh.Items {
			if err := f.printChange(p, watch.Modified, &fresh.Items[i]); err != nil {
				return err
			}
		}
		rv = fresh.ResourceVersion
	}
	return nil
}

// drain prints the events of w until it closes or ctx is done, and returns
// the last resourceVersion seen. An error event is returned as an error.
func (f *statusFlags) drain(ctx context.Context, w watch.Interface, rv string, p *statusPrinter) (string, error) {
	for {
		select {
		case <-ctx.Done():
			return rv, nil
		case ev, ok := <-w.ResultChan():
			if !ok {
				return rv, nil
			}
			switch ev.Type {
			case watch.Error:
				if st, ok := ev.Object.(*metav1.Status); ok {
					return rv, apierrors.FromObject(st)
				}
				return rv, fmt.Errorf("unexpected watch error %v", ev.Object)
			case watch.Bookmark:
				if m, err := apimeta.Accessor(ev.Object); err == nil {
					rv = m.GetResourceVersion()
				}
				continue
			}
			obj, ok := ev.Object.(*v1alpha1.IntentSync)
			if !ok {
				continue
			}
			rv = obj.ResourceVersion
			if err := f.printChange(p, ev.Type, obj); err != nil {
				return rv, err
			}
		}
	}
}

// printChange prints one watched change as the output format asks.
func (f *statusFlags) printChange(p *statusPrinter, typ watch.EventType, obj *v1alpha1.IntentSync) error {
	if f.output == "json" || f.output == "yaml" {
		if !p.changed(obj, typ) {
			return nil
		}
		return printObjects(p.w, f.output, obj, true)
	}
	p.row(obj, typ)
	return nil
}

// printObjects prints v as JSON or YAML. Lists and single objects get their
// apiVersion and kind; a stream of objects (watch) gets one document each.
func printObjects(w io.Writer, format string, v any, single bool) error {
	switch o := v.(type) {
	case *v1alpha1.IntentSyncList:
		o.APIVersion, o.Kind = "v1", "List"
		for i := range o.Items {
			o.Items[i].APIVersion, o.Items[i].Kind = v1alpha1.GroupVersion.String(), v1alpha1.IntentSyncKind
		}
		if single && len(o.Items) == 1 {
			v = &o.Items[0]
		}
	case *v1alpha1.IntentSync:
		o.APIVersion, o.Kind = v1alpha1.GroupVersion.String(), v1alpha1.IntentSyncKind
	}
	if format == "yaml" {
		b, err := yaml.Marshal(v)
		if err != nil {
			return fmt.Errorf("encoding YAML: %w", err)
		}
		_, err = fmt.Fprintf(w, "---\n%s", b)
		return err
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// statusPrinter prints the table of IntentSyncs and, when watching, a new
// row each time a row changes.
type statusPrinter struct {
	w             io.Writer
	wide          bool
	allNamespaces bool
	now           func() time.Time
	// last is the last row printed per namespace/name, without the age
	// (which changes by itself), so that a change of status that does not
	// show in the row prints nothing.
	last map[string]string
	tw   *tabwriter.Writer
}

// header returns the column names.
func (p *statusPrinter) header() []string {
	cols := []string{"NAME", "REVISION", "READY", "DRIFT", "POLICY", "MESSAGE", "AGE"}
	if p.allNamespaces {
		cols = append([]string{"NAMESPACE"}, cols...)
	}
	if p.wide {
		cols = append(cols, "CLUSTER", "SOURCE", "LAST APPLIED")
	}
	return cols
}

// table prints the header and one row per IntentSync. With -w the rows
// that follow keep the same column widths, as kubectl get -w does: the
// tabwriter is flushed per row, and widths come from this first table.
func (p *statusPrinter) table(items []v1alpha1.IntentSync) {
	p.tw = tabwriter.NewWriter(p.w, 0, 4, 3, ' ', 0)
	fmt.Fprintln(p.tw, strings.Join(p.header(), "\t"))
	for i := range items {
		p.writeRow(&items[i], "")
	}
	_ = p.tw.Flush()
}

// row prints a watched change when its row differs from the last printed.
func (p *statusPrinter) row(obj *v1alpha1.IntentSync, typ watch.EventType) {
	if !p.changed(obj, typ) {
		return
	}
	if p.tw == nil {
		p.table(nil)
	}
	p.writeRow(obj, typ)
	_ = p.tw.Flush()
}

// changed records obj's row and says whether it differs from the last one
// printed for it, leaving out the cells that change with the clock (age,
// last applied); a deletion always counts.
func (p *statusPrinter) changed(obj *v1alpha1.IntentSync, typ watch.EventType) bool {
	key := obj.Namespace + "/" + obj.Name
	if typ == watch.Deleted {
		delete(p.last, key)
		return true
	}
	sig := strings.Join(p.cells(obj, typ, false), "\x00")
	if p.last[key] == sig {
		return false
	}
	p.last[key] = sig
	return true
}

// writeRow writes obj's row to the table; a row of the first table is
// recorded as printed.
func (p *statusPrinter) writeRow(obj *v1alpha1.IntentSync, typ watch.EventType) {
	if typ == "" {
		p.changed(obj, typ)
	}
	fmt.Fprintln(p.tw, strings.Join(p.cells(obj, typ, true), "\t"))
}

// cells are the row of obj. The cells that change with the clock (age,
// last applied) are left empty unless clock is set; see changed.
func (p *statusPrinter) cells(obj *v1alpha1.IntentSync, typ watch.EventType, clock bool) []string {
	ago := func(t time.Time) string {
		if !clock {
			return ""
		}
		return age(t, p.now())
	}
	ready, message := readyCell(obj)
	if typ == watch.Deleted {
		ready, message = "-", "deleted"
	}
	if !p.wide {
		message = truncateCell(message, 72)
	}
	row := []string{obj.Name, shortRevision(obj.Status.LastAppliedRevision), ready, driftCell(obj.Status.Drift), policyCell(obj.Status.Policy), message, ago(obj.CreationTimestamp.Time)}
	if p.allNamespaces {
		row = append([]string{obj.Namespace}, row...)
	}
	if p.wide {
		applied := "-"
		if t := obj.Status.LastAppliedTime; t != nil {
			applied = ago(t.Time) + " ago"
		}
		row = append(row, clusterCell(obj.Status.Cluster), sourceCell(obj.Spec.Source), applied)
	}
	for i, c := range row {
		row[i] = oneLine(c)
	}
	return row
}

// isReady says whether obj's Ready condition is True.
func isReady(obj *v1alpha1.IntentSync) bool {
	return apimeta.IsStatusConditionTrue(obj.Status.Conditions, v1alpha1.ConditionReady)
}

// readyCell is the READY column and the message: the Ready condition's
// status and message, "Suspended" for a suspended IntentSync, "Unknown"
// before the first reconcile.
func readyCell(obj *v1alpha1.IntentSync) (ready, message string) {
	c := apimeta.FindStatusCondition(obj.Status.Conditions, v1alpha1.ConditionReady)
	switch {
	case obj.Spec.Suspend:
		ready, message = "Suspended", "reconciliation is suspended"
		if c != nil {
			message += "; last: " + c.Message
		}
	case c == nil:
		ready, message = "Unknown", "waiting for the controller"
	default:
		ready, message = string(c.Status), c.Message
		if c.Status != metav1.ConditionTrue && c.Reason != "" {
			message = c.Reason + ": " + message
		}
	}
	return ready, message
}

// driftCell summarises status.drift: "in sync", or the counts that are
// not zero; "-" before the first drift check.
func driftCell(d *v1alpha1.DriftStatus) string {
	if d == nil {
		return "-"
	}
	var parts []string
	for _, c := range []struct {
		n    int
		what string
	}{{d.Drifted, "drifted"}, {d.Missing, "missing"}, {d.Unmanaged, "unmanaged"}} {
		if c.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", c.n, c.what))
		}
	}
	if len(parts) == 0 {
		return "in sync"
	}
	return strings.Join(parts, ", ")
}

// policyCell summarises status.policy: "pass", or the denials and
// warnings; "-" before the first evaluation.
func policyCell(p *v1alpha1.PolicyStatus) string {
	switch {
	case p == nil:
		return "-"
	case p.Denials == 0 && p.Warnings == 0:
		return "pass"
	}
	var parts []string
	if p.Denials > 0 {
		parts = append(parts, fmt.Sprintf("%d deny", p.Denials))
	}
	if p.Warnings > 0 {
		parts = append(parts, fmt.Sprintf("%d warn", p.Warnings))
	}
	return strings.Join(parts, ", ")
}

// clusterCell is status.cluster, "in-cluster" when empty.
func clusterCell(cluster string) string {
	if cluster == "" {
		return "in-cluster"
	}
	return cluster
}

// sourceCell is the repository URL (without credentials) @ what it follows.
func sourceCell(src v1alpha1.GitSource) string {
	ref := src.Branch
	switch {
	case src.Commit != "":
		ref = src.Commit
	case src.Tag != "":
		ref = src.Tag
	case ref == "":
		ref = "HEAD"
	}
	return report.RedactURL(src.URL) + "@" + ref
}

var shaRevision = regexp.MustCompile(`sha1:([0-9a-f]{12})[0-9a-f]{28}$`)

// shortRevision shortens the commit of a revision such as
// "main@sha1:<40 hex>" to 12 digits; "-" when empty.
func shortRevision(rev string) string {
	if rev == "" {
		return "-"
	}
	return shaRevision.ReplaceAllString(rev, "sha1:$1")
}

// truncateCell cuts s to n runes, ending with "…".
func truncateCell(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// age is kubectl's age of t.
func age(t, now time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return duration.HumanDuration(now.Sub(t))
}

// driftEntry is a status.drift entry taken apart.
type driftEntry struct {
	object, field, want, have, manager string
}

var (
	driftFieldEntry   = regexp.MustCompile(`^(\S+) (\S+): want (.*), have (.*?)(?: \(([^()]*)\))?$`)
	driftMissingEntry = regexp.MustCompile(`^(\S+): (missing.*)$`)
)

// parseDriftEntry takes apart an entry as the controller writes it:
// "VirtualService/ns/n .spec.x: want 80, have 50 (kubectl-edit)" or
// "VirtualService/ns/n: missing (deleted from the cluster)". An entry of
// another shape is returned whole as the object.
func parseDriftEntry(s string) driftEntry {
	if m := driftFieldEntry.FindStringSubmatch(s); m != nil {
		return driftEntry{object: m[1], field: m[2], want: m[3], have: m[4], manager: m[5]}
	}
	if m := driftMissingEntry.FindStringSubmatch(s); m != nil {
		return driftEntry{object: m[1], field: "-", want: "-", have: m[2], manager: "-"}
	}
	return driftEntry{object: s}
}

// writeStatusDetail prints one IntentSync in detail.
func writeStatusDetail(w io.Writer, obj *v1alpha1.IntentSync, now time.Time) {
	st := obj.Status
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	field := func(name, value string) { fmt.Fprintf(tw, "%s:\t%s\n", name, oneLine(value)) }
	when := func(t *metav1.Time) string {
		if t == nil {
			return "-"
		}
		return t.UTC().Format(time.RFC3339) + " (" + relative(t.Time, now) + ")"
	}
	orDash := func(s string) string {
		if s == "" {
			return "-"
		}
		return s
	}
	field("Name", obj.Name)
	field("Namespace", obj.Namespace)
	field("Cluster", clusterCell(st.Cluster))
	src := sourceCell(obj.Spec.Source)
	if p := obj.Spec.Source.Path; p != "" && p != "." {
		src += " (path " + p + ")"
	}
	field("Source", src)
	applied := orDash(st.LastAppliedRevision)
	if c := st.LastAppliedCommit; c != nil {
		applied += fmt.Sprintf(" %q", c.Subject)
		if c.Author != "" {
			applied += " by " + c.Author
		}
	}
	field("Applied revision", applied)
	field("Fetched revision", orDash(st.LastFetchedRevision))
	if st.LastAttemptedRevision != "" && st.LastAttemptedRevision != st.LastAppliedRevision {
		field("Attempted revision", st.LastAttemptedRevision)
	}
	if st.LastVerifiedCommit != "" {
		field("Verified commit", st.LastVerifiedCommit)
	}
	field("Last applied", when(st.LastAppliedTime))
	objects := "-"
	if st.Inventory != nil {
		objects = strconv.Itoa(st.Inventory.Total)
	}
	field("Objects", objects)
	if obj.Spec.Suspend {
		field("Suspended", "yes: reconciliation is suspended")
	}
	_ = tw.Flush()

	fmt.Fprintln(w, "\nConditions:")
	rows := [][]string{{"TYPE", "STATUS", "REASON", "MESSAGE"}}
	for _, c := range st.Conditions {
		rows = append(rows, []string{c.Type, string(c.Status), c.Reason, c.Message})
	}
	writeIndentedTable(w, rows, "none yet: the controller has not reconciled it")

	drift := "none yet"
	if d := st.Drift; d != nil {
		drift = fmt.Sprintf("%s, checked %s", driftCell(d), relative(d.CheckedAt.Time, now))
		if d.Corrected > 0 {
			drift += fmt.Sprintf(", %d corrected", d.Corrected)
		}
	}
	fmt.Fprintf(w, "\nDrift: %s\n", oneLine(drift))
	if d := st.Drift; d != nil && len(d.Entries) > 0 {
		rows = [][]string{{"OBJECT", "FIELD", "WANT", "HAVE", "MANAGER"}}
		for _, e := range d.Entries {
			p := parseDriftEntry(e)
			rows = append(rows, []string{p.object, p.field, p.want, p.have, orDash(p.manager)})
		}
		writeIndentedTable(w, rows, "")
	}

	policy := "not evaluated yet"
	if p := st.Policy; p != nil {
		policy = fmt.Sprintf("%s (revision %s)", policyCell(p), orDash(p.Revision))
	}
	fmt.Fprintf(w, "\nPolicy: %s\n", oneLine(policy))
	if p := st.Policy; p != nil && len(p.Results) > 0 {
		rows = [][]string{{"SEVERITY", "POLICY", "FILE:LINE", "OBJECT", "MESSAGE"}}
		for _, r := range p.Results {
			msg := r.Message
			if r.Waived != nil {
				msg += " (waived: " + r.Waived.Reason + ")"
			}
			file := orDash(r.Source)
			if r.Line > 0 {
				file += ":" + strconv.Itoa(r.Line)
			}
			rows = append(rows, []string{r.Severity, r.Policy, file, r.Object, msg})
		}
		writeIndentedTable(w, rows, "")
	}

	if st.DriftReport == nil {
		fmt.Fprintln(w, "\nDrift reports: not scheduled (spec.driftReport)")
	}
	if dr := st.DriftReport; dr != nil {
		fmt.Fprintln(w, "\nDrift reports:")
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		field := func(name, value string) { fmt.Fprintf(tw, "  %s:\t%s\n", name, oneLine(value)) }
		field("Last", when(dr.LastRunTime))
		field("Next", when(dr.NextRunTime))
		field("Summary", orDash(dr.Summary))
		if dr.ConfigMap != "" {
			field("ConfigMap", dr.ConfigMap)
		}
		if dr.MissedRuns > 0 {
			field("Missed runs", strconv.Itoa(dr.MissedRuns))
		}
		_ = tw.Flush()
	}

	if len(st.History) > 0 {
		fmt.Fprintln(w, "\nHistory:")
		rows = [][]string{{"STARTED", "REVISION", "RESULT", "DURATION", "MESSAGE"}}
		for _, h := range st.History {
			rows = append(rows, []string{relative(h.StartedAt.Time, now), shortRevision(h.Revision), h.Result, h.Duration.Round(time.Millisecond).String(), h.Message})
		}
		writeIndentedTable(w, rows, "")
	}
}

// relative is "5m ago", or "in 5m" for a time to come.
func relative(t, now time.Time) string {
	if t.After(now) {
		return "in " + duration.HumanDuration(t.Sub(now))
	}
	return duration.HumanDuration(now.Sub(t)) + " ago"
}

// writeIndentedTable prints rows (the first is the header) indented by two
// spaces, each cell escaped for the terminal; with only the header it
// prints empty instead, when that is not "".
func writeIndentedTable(w io.Writer, rows [][]string, empty string) {
	if len(rows) == 1 {
		if empty != "" {
			fmt.Fprintf(w, "  %s\n", empty)
		}
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, r := range rows {
		cells := make([]string, len(r))
		for i, c := range r {
			cells[i] = oneLine(c)
		}
		fmt.Fprintf(tw, "  %s\n", strings.Join(cells, "\t"))
	}
	_ = tw.Flush()
}

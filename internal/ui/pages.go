package ui

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/meshintent/meshintent/api/v1alpha1"
	"github.com/meshintent/meshintent/pkg/graph"
)

// page is what every template gets.
type page struct {
	Title string
	// Events is the event stream URL the script listens to; empty for none.
	Events string
	// Refresh is the page's own URL, for the no-JavaScript refresh link.
	Refresh string
	// User is the signed-in user's name (Auth only).
	User string
}

var funcs = template.FuncMap{
	"short": shortRevision,
	"ago":   func(t time.Time, now time.Time) string { return age(now.Sub(t)) },
	"took":  func(d metav1.Duration) string { return d.Round(time.Millisecond).String() },
}

// render executes a template into a buffer first, so that a failure never
// sends half a page.
func (s *Server) render(w http.ResponseWriter, status int, name string, data any) {
	var buf bytes.Buffer
	if err := s.tmpl.ExecuteTemplate(&buf, name, data); err != nil {
		s.opts.Logger.Error(err, "rendering page", "template", name)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

type errorData struct {
	page
	Status  int
	Message string
}

// fail renders an error page that holds nothing but message.
func (s *Server) fail(w http.ResponseWriter, _ *http.Request, status int, message string) {
	s.render(w, status, "error.html", errorData{page: page{Title: http.StatusText(status)}, Status: status, Message: message})
}

func (s *Server) basePage(r *http.Request, title string) page {
	p := page{Title: title, Refresh: r.URL.RequestURI()}
	if a := accessFrom(r.Context()); a.user != nil {
		p.User = a.user.Username
	}
	return p
}

// state is an IntentSync's state as a word and a CSS class; the word is
// always shown, the colour only repeats it.
type state struct {
	Word, Class string
	// Rank orders states for sorting: problems first.
	Rank int
}

func stateOf(o *v1alpha1.IntentSync) state {
	ready := apimeta.FindStatusCondition(o.Status.Conditions, v1alpha1.ConditionReady)
	switch {
	case o.Spec.Suspend:
		return state{"Suspended", "suspended", 3}
	case apimeta.IsStatusConditionTrue(o.Status.Conditions, v1alpha1.ConditionStalled):
		return state{"Stalled", "stalled", 0}
	case apimeta.IsStatusConditionTrue(o.Status.Conditions, v1alpha1.ConditionReconciling):
		return state{"Reconciling", "reconciling", 2}
	case ready != nil && ready.Status == metav1.ConditionTrue:
		return state{"Ready", "ready", 4}
	case ready != nil && ready.Status == metav1.ConditionFalse:
		return state{"Not ready", "failed", 1}
	default:
		return state{"Unknown", "unknown", 2}
	}
}

// row is one IntentSync of the list page.
type row struct {
	Namespace, Name string
	Link            string
	Source          string
	Revision        string
	Subject         string // the applied commit's subject line
	State           state
	Reason, Message string
	Objects         int
	Drift           int
	Denials         int
	Warnings        int
	Applied         *time.Time
	AppliedAge      string
	Cluster         string
	// Pending is true when a revision is fetched but not applied, or
	// failed (PendingFailed); PendingRevision names it.
	Pending         bool
	PendingFailed   bool
	PendingRevision string
}

func rowOf(o *v1alpha1.IntentSync, now time.Time) row {
	r := row{
		Namespace: o.Namespace, Name: o.Name,
		Link:     "/intentsyncs/" + url.PathEscape(o.Namespace) + "/" + url.PathEscape(o.Name),
		Source:   redactURL(o.Spec.Source.URL),
		Revision: o.Status.LastAppliedRevision,
		State:    stateOf(o),
		Cluster:  o.Status.Cluster,
	}
	if c := o.Status.LastAppliedCommit; c != nil {
		r.Subject = c.Subject
	}
	if rev := pendingRevision(o); rev != "" {
		r.Pending, r.PendingRevision = true, rev
		r.PendingFailed = rev == o.Status.LastAttemptedRevision
	}
	if c := apimeta.FindStatusCondition(o.Status.Conditions, v1alpha1.ConditionReady); c != nil {
		r.Reason, r.Message = c.Reason, c.Message
	}
	if inv := o.Status.Inventory; inv != nil {
		r.Objects = inv.Total
	}
	if d := o.Status.Drift; d != nil {
		r.Drift = d.Drifted + d.Missing + d.Unmanaged
	}
	if p := o.Status.Policy; p != nil {
		r.Denials, r.Warnings = p.Denials, p.Warnings
	}
	if t := o.Status.LastAppliedTime; t != nil {
		applied := t.Time
		r.Applied = &applied
		r.AppliedAge = age(now.Sub(applied))
	}
	return r
}

// column is a sortable column heading: its link sorts by it (reversing the
// order when it already does) and its aria-sort says the current order.
type column struct {
	Key, Label string
	Link       string
	Sort       string // ascending, descending or none (aria-sort)
}

type listData struct {
	page
	Rows      []row
	Columns   []column
	Query     string
	Namespace string
	Status    string
	Statuses  []string
	Total     int
	Now       time.Time
}

var listColumns = []struct{ key, label string }{
	{"namespace", "Namespace"}, {"name", "Name"}, {"source", "Source"}, {"status", "Status"},
	{"objects", "Objects"}, {"drift", "Drift"}, {"policy", "Policy"}, {"applied", "Last applied"}, {"cluster", "Cluster"},
}

// listPage lists the IntentSyncs the caller may see, filtered by q (a
// substring of namespace, name or source), ns and status, sorted by sort
// and order.
func (s *Server) listPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	a := accessFrom(ctx)
	var list v1alpha1.IntentSyncList
	if err := s.cache.List(ctx, &list); err != nil {
		s.opts.Logger.Error(err, "listing IntentSyncs")
		s.fail(w, r, http.StatusServiceUnavailable, "The IntentSyncs could not be listed; try again.")
		return
	}
	allowed := a.namespaceFilter(ctx)
	q := r.URL.Query()
	query, ns, status := strings.TrimSpace(q.Get("q")), q.Get("ns"), q.Get("status")
	now := s.opts.Now()
	rows := make([]row, 0, len(list.Items))
	visible := 0
	for i := range list.Items {
		o := &list.Items[i]
		if !allowed(o.Namespace) {
			continue
		}
		visible++
		if ns != "" && o.Namespace != ns {
			continue
		}
		rw := rowOf(o, now)
		if status != "" && !strings.EqualFold(rw.State.Word, status) {
			continue
		}
		if query != "" && !strings.Contains(strings.ToLower(o.Namespace+"/"+o.Name+" "+rw.Source), strings.ToLower(query)) {
			continue
		}
		rows = append(rows, rw)
	}
	if !a.all && visible == 0 {
		// May see no IntentSync at all: nothing, not even their number.
		s.fail(w, r, http.StatusForbidden, "You may not get IntentSyncs in any namespace.")
		return
	}
	key, order := q.Get("sort"), q.Get("order")
	sortRows(rows, key, order == "desc")

	d := listData{page: s.basePage(r, "IntentSyncs"), Rows: rows, Query: query, Namespace: ns, Status: status,
		Statuses: []string{"Ready", "Not ready", "Stalled", "Reconciling", "Suspended", "Unknown"}, Total: visible, Now: now}
	d.Events = "/events"
	for _, c := range listColumns {
		col := column{Key: c.key, Label: c.label, Sort: "none"}
		next := url.Values{}
		for k, v := range q {
			next[k] = v
		}
		next.Set("sort", c.key)
		next.Del("order")
		if key == c.key || (key == "" && c.key == "namespace") {
			col.Sort = "ascending"
			if order == "desc" {
				col.Sort = "descending"
			} else {
				next.Set("order", "desc")
			}
		}
		col.Link = "/?" + next.Encode()
		d.Columns = append(d.Columns, col)
	}
	s.render(w, http.StatusOK, "list.html", d)
}

func sortRows(rows []row, key string, desc bool) {
	by := func(a, b row) int {
		switch key {
		case "name":
			return cmp.Compare(a.Name, b.Name)
		case "source":
			return cmp.Compare(a.Source, b.Source)
		case "status":
			return cmp.Compare(a.State.Rank, b.State.Rank)
		case "objects":
			return cmp.Compare(a.Objects, b.Objects)
		case "drift":
			return cmp.Compare(a.Drift, b.Drift)
		case "policy":
			return cmp.Or(cmp.Compare(a.Denials, b.Denials), cmp.Compare(a.Warnings, b.Warnings))
		case "applied":
			var ta, tb time.Time
			if a.Applied != nil {
				ta = *a.Applied
			}
			if b.Applied != nil {
				tb = *b.Applied
			}
			return ta.Compare(tb)
		case "cluster":
			return cmp.Compare(a.Cluster, b.Cluster)
		}
		return 0
	}
	slices.SortStableFunc(rows, func(a, b row) int {
		c := by(a, b)
		if desc {
			c = -c
		}
		// Ties by namespace and name, always ascending.
		return cmp.Or(c, cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
}

// trafficGraph is one service's graph on the detail page.
type trafficGraph struct {
	ID      string
	Title   string
	Summary string
	SVG     template.HTML
	Link    string
	Source  string
}

// comparison is one service's graph in the applied revision and in the
// pending (or failed) one, when they differ; a side is nil when the
// service is only in the other.
type comparison struct {
	Title         string
	Before, After *trafficGraph
}

// graphView is g as the detail page shows it; idPrefix tells apart the
// same service's graph in two revisions.
func graphView(g graph.Graph, idPrefix, syncLink string) trafficGraph {
	return trafficGraph{
		ID:      idPrefix + g.Namespace + "-" + g.Name,
		Title:   g.Namespace + "/" + g.Name,
		Summary: g.Summary(),
		SVG:     template.HTML(graph.SVG(g)), //nolint:gosec // graph.SVG escapes every text it writes
		Link:    syncLink + "/graph/" + url.PathEscape(g.Namespace) + "/" + url.PathEscape(g.Name),
		Source:  g.Source,
	}
}

type detailData struct {
	page
	Sync       *v1alpha1.IntentSync
	Row        row
	Conditions []metav1.Condition
	History    []v1alpha1.Attempt
	Objects    []object
	Drift      *v1alpha1.DriftStatus
	Policy     *v1alpha1.PolicyStatus
	Report     *v1alpha1.DriftReportStatus
	Graphs     []trafficGraph
	GraphError string
	// Unmanaged is mesh config in the inventory's namespaces that Git does
	// not manage; UnmanagedError says why it could not be listed.
	Unmanaged      unmanagedResult
	UnmanagedError string
	// Pruned is how many objects the last apply deleted.
	Pruned  int
	Pending string
	// PendingRevision is the revision not applied; Compare holds its
	// graphs that differ from the applied ones, CompareError why they
	// could not be drawn.
	PendingRevision string
	Compare         []comparison
	CompareError    string
	Branch          string
	Path            string
	Now             time.Time
}

// detailPage shows one IntentSync: 404 when it does not exist, 403 (and
// nothing of it) when the caller may not get IntentSyncs in its namespace.
func (s *Server) detailPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	o, ok := s.authorizedSync(w, r)
	if !ok {
		return
	}
	now := s.opts.Now()
	d := detailData{page: s.basePage(r, o.Namespace+"/"+o.Name), Sync: o, Row: rowOf(o, now),
		Conditions: o.Status.Conditions, History: o.Status.History, Drift: o.Status.Drift,
		Policy: o.Status.Policy, Report: o.Status.DriftReport, Now: now,
		Branch: cmp.Or(o.Spec.Source.Branch, o.Spec.Source.Tag, o.Spec.Source.Commit, "(remote HEAD)"), Path: cmp.Or(o.Spec.Source.Path, ".")}
	d.Events = "/events?" + url.Values{"ns": {o.Namespace}, "name": {o.Name}}.Encode()
	d.Objects = objectsOf(o)
	d.Pruned = prunedCount(o.Status.History)
	// The lists of unmanaged config run while the graphs are read.
	unmanagedDone := make(chan error, 1)
	go func() {
		var err error
		d.Unmanaged, err = s.unmanaged(ctx, o)
		unmanagedDone <- err
	}()
	d.PendingRevision = pendingRevision(o)
	if d.PendingRevision != "" {
		what := "is fetched but not applied yet"
		if d.PendingRevision == o.Status.LastAttemptedRevision {
			what = "failed"
			if c := apimeta.FindStatusCondition(o.Status.Conditions, v1alpha1.ConditionReady); c != nil && c.Status == metav1.ConditionFalse {
				what += " (" + c.Reason + ")"
			}
		}
		d.Pending = fmt.Sprintf("Revision %s %s; applied: %s. The graphs show what is live.",
			shortRevision(d.PendingRevision), what, cmp.Or(shortRevision(o.Status.LastAppliedRevision), "none"))
	}
	graphs, err := s.liveGraphs(ctx, o)
	if err != nil {
		s.opts.Logger.Error(err, "reading the live routing", "intentsync", o.Namespace+"/"+o.Name)
		d.GraphError = "The live VirtualServices and DestinationRules could not be read: " + err.Error()
	}
	for _, g := range graphs {
		d.Graphs = append(d.Graphs, graphView(g, "graph-", d.Row.Link))
	}
	if err := <-unmanagedDone; err != nil {
		s.opts.Logger.Error(err, "listing unmanaged mesh config", "intentsync", o.Namespace+"/"+o.Name)
		d.UnmanagedError = "Some mesh config could not be listed: " + err.Error()
	}
	if d.PendingRevision != "" && s.revisions != nil && err == nil {
		d.Compare, d.CompareError = s.compare(ctx, o, d.PendingRevision, graphs, d.Row.Link)
	}
	s.render(w, http.StatusOK, "detail.html", d)
}

// compare renders the pending revision of o and pairs its graphs with the
// live ones, keeping the services whose routing differs; the string says
// why it could not.
func (s *Server) compare(ctx context.Context, o *v1alpha1.IntentSync, revision string, live []graph.Graph, link string) ([]comparison, string) {
	after, err := s.revisions.graphs(ctx, o, revision)
	if err != nil {
		s.opts.Logger.Error(err, "rendering the pending revision", "intentsync", o.Namespace+"/"+o.Name)
		return nil, "The graphs of " + shortRevision(revision) + " could not be drawn: " + err.Error()
	}
	var out []comparison
	for _, p := range graph.Compare(live, after) {
		if !p.Changed() {
			continue
		}
		c := comparison{Title: p.Namespace + "/" + p.Name}
		if p.Before != nil {
			v := graphView(*p.Before, "applied-", link)
			c.Before = &v
		}
		if p.After != nil {
			v := graphView(*p.After, "pending-", link)
			v.Link = "" // the SVG link serves the live graph only
			c.After = &v
		}
		out = append(out, c)
	}
	return out, ""
}

// graphSVG serves one service's graph as an SVG document.
func (s *Server) graphSVG(w http.ResponseWriter, r *http.Request) {
	o, ok := s.authorizedSync(w, r)
	if !ok {
		return
	}
	graphs, err := s.liveGraphs(r.Context(), o)
	if err != nil {
		s.fail(w, r, http.StatusServiceUnavailable, "The live routing could not be read.")
		return
	}
	for _, g := range graphs {
		if g.Namespace == r.PathValue("vsnamespace") && g.Name == r.PathValue("vsname") {
			w.Header().Set("Content-Type", "image/svg+xml")
			_, _ = w.Write(graph.SVG(g))
			return
		}
	}
	s.fail(w, r, http.StatusNotFound, "No such VirtualService in this IntentSync's inventory.")
}

// authorizedSync reads the IntentSync of the request's path after checking
// the caller may get it; otherwise it has answered the request.
func (s *Server) authorizedSync(w http.ResponseWriter, r *http.Request) (*v1alpha1.IntentSync, bool) {
	ctx := r.Context()
	ns, name := r.PathValue("namespace"), r.PathValue("name")
	ok, err := accessFrom(ctx).canGet(ctx, ns)
	switch {
	case err != nil:
		s.opts.Logger.Error(err, "access review failed")
		s.fail(w, r, http.StatusServiceUnavailable, "The API server could not review access; try again.")
		return nil, false
	case !ok:
		s.fail(w, r, http.StatusForbidden, "You may not get IntentSyncs in this namespace.")
		return nil, false
	}
	o := &v1alpha1.IntentSync{}
	if err := s.cache.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, o); err != nil {
		if apierrors.IsNotFound(err) {
			s.fail(w, r, http.StatusNotFound, "No such IntentSync.")
		} else {
			s.opts.Logger.Error(err, "reading IntentSync")
			s.fail(w, r, http.StatusServiceUnavailable, "The IntentSync could not be read; try again.")
		}
		return nil, false
	}
	return o, true
}

var (
	vsGVK = schema.GroupVersionKind{Group: "networking.istio.io", Version: "v1", Kind: "VirtualService"}
	drGVK = schema.GroupVersionKind{Group: "networking.istio.io", Version: "v1", Kind: "DestinationRule"}
)

// liveGraphs reads the VirtualServices and DestinationRules of o's
// inventory from the API server and builds their graphs. Objects the
// inventory lists that are gone are skipped (the objects table says
// missing).
func (s *Server) liveGraphs(ctx context.Context, o *v1alpha1.IntentSync) ([]graph.Graph, error) {
	if o.Status.Inventory == nil {
		return nil, nil
	}
	var objs []*unstructured.Unstructured
	for _, id := range o.Status.Inventory.Entries {
		kind, ns, name, ok := splitID(id)
		if !ok {
			continue
		}
		var gvk schema.GroupVersionKind
		switch kind {
		case "VirtualService":
			gvk = vsGVK
		case "DestinationRule":
			gvk = drGVK
		default:
			continue
		}
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(gvk)
		if err := s.reader.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, u); err != nil {
			if apierrors.IsNotFound(err) {
				continue
			}
			return nil, fmt.Errorf("%s: %w", id, err)
		}
		objs = append(objs, u)
	}
	return graph.Build(objs), nil
}

// splitID splits Kind/namespace/name.
func splitID(id string) (kind, ns, name string, ok bool) {
	parts := strings.Split(id, "/")
	if len(parts) != 3 {
		return "", "", "", false
	}
	return parts[0], parts[1], parts[2], true
}

// redactURL drops credentials from a repository URL.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		if err != nil && strings.Contains(raw, "@") && strings.Contains(raw, "://") {
			return "(unparsable URL)"
		}
		return raw
	}
	u.User = nil
	return u.String()
}

// shortRevision shortens "main@sha1:<40 hex>" to "main@sha1:<12 hex>".
func shortRevision(rev string) string {
	i := strings.LastIndex(rev, ":")
	if i < 0 || len(rev)-i-1 <= 12 {
		return rev
	}
	return rev[:i+13]
}

// age formats a duration as kubectl does: 45s, 12m, 5h, 3d.
func age(d time.Duration) string {
	switch {
	case d < 0:
		return "0s"
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	default:
		return fmt.Sprintf("%dd", int(d.Hours()/24))
	}
}

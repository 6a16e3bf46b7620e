package ui

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sync"
	"time"

	"github.com/meshintent/meshintent/api/v1alpha1"
	"github.com/meshintent/meshintent/pkg/graph"
	"github.com/meshintent/meshintent/pkg/pipeline"
	"github.com/meshintent/meshintent/pkg/source"
)

// revisionCommit finds the commit of a "main@sha1:<sha>" revision.
var revisionCommit = regexp.MustCompile(`sha1:([0-9a-f]{40})$`)

// pendingFetchTimeout bounds the fetch and render of a pending revision
// for one page.
const pendingFetchTimeout = 20 * time.Second

// maxRenderedRevisions bounds the cache of rendered revisions; past it the
// cache is reset.
const maxRenderedRevisions = 64

// errCredentials: the UI reads no Secret, so a repository that needs one
// is not fetched.
var errCredentials = errors.New("the repository needs credentials (spec.source.secretRef) and the UI reads no Secret")

// revisions fetches and renders revisions of IntentSyncs' sources, for the
// graphs of a pending or failed revision. A revision is a commit, so its
// graphs never change: they are kept by URL, path and commit.
type revisions struct {
	fetcher *source.Fetcher

	mu    sync.Mutex
	cache map[string][]graph.Graph
}

func newRevisions(dir string) (*revisions, error) {
	f, err := source.NewFetcher(dir)
	if err != nil {
		return nil, fmt.Errorf("ui: Git cache: %w", err)
	}
	return &revisions{fetcher: f, cache: map[string][]graph.Graph{}}, nil
}

// pendingRevision is the revision of o that is not applied: the last
// attempted one when it failed, else the last fetched one; "" when what
// was fetched is applied.
func pendingRevision(o *v1alpha1.IntentSync) string {
	st := o.Status
	switch {
	case st.LastAttemptedRevision != "" && st.LastAttemptedRevision != st.LastAppliedRevision:
		return st.LastAttemptedRevision
	case st.LastFetchedRevision != "" && st.LastFetchedRevision != st.LastAppliedRevision:
		return st.LastFetchedRevision
	}
	return ""
}

// graphs renders revision of o's source and returns its graphs.
func (rv *revisions) graphs(ctx context.Context, o *v1alpha1.IntentSync, revision string) ([]graph.Graph, error) {
	src := o.Spec.Source
	if src.SecretRef != nil {
		return nil, errCredentials
	}
	m := revisionCommit.FindStringSubmatch(revision)
	if m == nil {
		return nil, fmt.Errorf("revision %q names no commit", revision)
	}
	key := src.URL + "\x00" + src.Path + "\x00" + m[1]
	rv.mu.Lock()
	g, ok := rv.cache[key]
	rv.mu.Unlock()
	if ok {
		return g, nil
	}
	ctx, cancel := context.WithTimeout(ctx, pendingFetchTimeout)
	defer cancel()
	art, err := rv.fetcher.Fetch(ctx, source.Options{URL: src.URL, Ref: source.Ref{Commit: m[1]}, Timeout: pendingFetchTimeout})
	if err != nil {
		return nil, fmt.Errorf("fetching %s: %w", shortRevision(revision), err)
	}
	out, err := pipeline.Build(ctx, pipeline.Options{Root: art.Dir, Path: src.Path, SkipPolicy: true})
	if err != nil {
		return nil, fmt.Errorf("rendering %s: %w", shortRevision(revision), err)
	}
	g = graph.FromSet(out.Render.Objects)
	rv.mu.Lock()
	if len(rv.cache) >= maxRenderedRevisions {
		rv.cache = map[string][]graph.Graph{}
	}
	rv.cache[key] = g
	rv.mu.Unlock()
	return g, nil
}

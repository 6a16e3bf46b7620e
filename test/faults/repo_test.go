package faults

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/meshintent/meshintent/internal/gitfixture"
	"github.com/meshintent/meshintent/pkg/manifest"
	"github.com/meshintent/meshintent/pkg/render"
)

// intentRepo is a Git repository of ServiceIntents for one namespace,
// served over smart HTTP: services/<name>.yaml per service and a
// kustomization listing them.
type intentRepo struct {
	*gitfixture.Repo
	srv *gitfixture.Server
	ns  string
	// first is what the first commit holds.
	first state
	// owner is the test the repository belongs to.
	owner testing.TB
}

// state is what a commit of an intentRepo holds: the services and the
// weight of v2 in their split (v1 has the rest).
type state struct {
	services []string
	v2       int
}

// serviceNames returns prefix-00 … prefix-<n-1>.
func serviceNames(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%02d", prefix, i)
	}
	return out
}

// newScene starts most fault scenarios: the test runs in parallel with the
// package's others, in a namespace of its own, with a repository of n
// services svc-00… served over HTTP whose first commit, c1, sends 10% of
// their traffic to v2.
func newScene(t *testing.T, n int) (ns string, repo *intentRepo, c1 string) {
	t.Helper()
	t.Parallel()
	ns = env.Namespace(t)
	repo, c1 = newIntentRepo(t, ns, state{services: serviceNames("svc", n), v2: 10})
	return ns, repo, c1
}

// newIntentRepo commits s as the first commit and serves the repository.
func newIntentRepo(t *testing.T, ns string, s state) (*intentRepo, string) {
	t.Helper()
	r := &intentRepo{Repo: gitfixture.New(t), ns: ns, first: s, owner: t}
	sha := r.commit(s)
	r.srv = gitfixture.Serve(t, r.Dir)
	return r, sha
}

// commit makes the work tree hold exactly s and commits it.
func (r *intentRepo) commit(s state) string {
	r.owner.Helper()
	if err := os.RemoveAll(filepath.Join(r.Dir, "services")); err != nil {
		r.owner.Fatal(err)
	}
	var resources []string
	for _, name := range slices.Sorted(slices.Values(s.services)) {
		r.Write("services/"+name+".yaml", serviceIntent(r.ns, name, s.v2))
		resources = append(resources, "services/"+name+".yaml")
	}
	r.Write("kustomization.yaml", gitfixture.Kustomization(resources...))
	return r.Commit(fmt.Sprintf("%d services, v2 at %d%%", len(s.services), s.v2))
}

// serviceIntent is a ServiceIntent splitting traffic between v1 and v2
// (v2 percent), over mutual TLS.
func serviceIntent(ns, name string, v2 int) string {
	return gitfixture.SplitIntent(ns, name, 100-v2, v2) + "  trafficPolicy:\n    tls: ISTIO_MUTUAL\n"
}

// rendered renders the tree of commit sha as the controller would, from
// a copy exported with git archive.
func (r *intentRepo) rendered(t *testing.T, sha string) manifest.Set {
	t.Helper()
	dir := t.TempDir()
	tarball := filepath.Join(t.TempDir(), "tree.tar")
	r.Git("archive", "--format=tar", "-o", tarball, sha)
	if out, err := exec.Command("tar", "-x", "-f", tarball, "-C", dir).CombinedOutput(); err != nil {
		t.Fatalf("extracting %s: %v\n%s", sha, err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := render.Render(ctx, render.Options{Root: dir, Path: "."})
	if err != nil {
		t.Fatalf("rendering %s: %v", sha, err)
	}
	return res.Objects
}

// revision is the revision the controller reports for a commit of main.
func revision(sha string) string { return "main@sha1:" + sha }

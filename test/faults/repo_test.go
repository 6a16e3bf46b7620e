package faults

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
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

// newIntentRepo commits s as the first commit and serves the repository.
func newIntentRepo(t *testing.T, ns string, s state) (*intentRepo, string) {
	t.Helper()
	r := &intentRepo{Repo: gitfixture.New(t), ns: ns, owner: t}
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
	var k strings.Builder
	k.WriteString("resources:\n")
	for _, name := range slices.Sorted(slices.Values(s.services)) {
		r.Write("services/"+name+".yaml", serviceIntent(r.ns, name, s.v2))
		k.WriteString("- services/" + name + ".yaml\n")
	}
	r.Write("kustomization.yaml", k.String())
	return r.Commit(fmt.Sprintf("%d services, v2 at %d%%", len(s.services), s.v2))
}

// serviceIntent is a ServiceIntent splitting traffic between v1 and v2.
func serviceIntent(ns, name string, v2 int) string {
	return fmt.Sprintf(`apiVersion: meshintent.io/v1alpha1
kind: ServiceIntent
metadata:
  name: %s
  namespace: %s
spec:
  versions:
  - name: v1
  - name: v2
  split:
  - version: v1
    weight: %d
  - version: v2
    weight: %d
  trafficPolicy:
    tls: ISTIO_MUTUAL
`, name, ns, 100-v2, v2)
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

package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/meshintent/meshintent/pkg/pipeline"
	"github.com/meshintent/meshintent/pkg/source"
	"github.com/meshintent/meshintent/pkg/validate"
)

// Environment variables that carry Git credentials. Credentials are never
// taken as flags: flags show up in process listings and shell history.
const (
	envGitUsername = "MESHINTENT_GIT_USERNAME"
	envGitPassword = "MESHINTENT_GIT_PASSWORD"
	envGitToken    = "MESHINTENT_GIT_TOKEN"
)

// inputFlags say where the intents come from: a local directory (the
// positional argument) or a Git repository (--repo, --ref, --path).
type inputFlags struct {
	repo       string
	ref        string
	path       string
	root       string
	cacheDir   string
	timeout    time.Duration
	sshKey     string
	knownHosts string
	policyDirs []string
	allowedNS  []string
	// sharedGateways and externalHosts widen the fence (see controller.Fence).
	sharedGateways []string
	externalHosts  []string
	remote         bool
	// policyTimeout is the time budget of the policy evaluation.
	policyTimeout time.Duration
	// yamlLimits bound the YAML a render reads.
	yamlLimits yamlLimitFlags
	// verify is --verify-keys and --verify-mode (verify.go).
	verify verifyFlags
}

func (f *inputFlags) register(cmd *cobra.Command, withRef bool) {
	fs := cmd.Flags()
	f.yamlLimits.register(fs)
	f.verify.register(fs)
	fs.StringVar(&f.repo, "repo", "", "Git repository URL or local clone (file://, https://, ssh://, git@host:org/repo)")
	if withRef {
		fs.StringVar(&f.ref, "ref", "", "with --repo: branch, tag or full commit SHA to fetch (default: the remote HEAD); with a local directory: any revision git rev-parse takes (HEAD~1, origin/main, a short SHA), read from the local clone without fetching (default: the files on disk)")
	}
	fs.StringVar(&f.path, "path", ".", "path of the kustomization inside the repository")
	fs.StringVar(&f.root, "root", "", "local mode: the repository root that kustomize may read below (default: nearest ancestor holding meshintent.yaml or .git)")
	fs.StringVar(&f.cacheDir, "cache-dir", defaultCacheDir(), "where fetched repositories are cached")
	fs.DurationVar(&f.timeout, "timeout", 60*time.Second, "timeout of each network call to the Git server")
	fs.StringVar(&f.sshKey, "ssh-key", "", "private key file for SSH repositories")
	fs.StringVar(&f.knownHosts, "known-hosts", "", "known_hosts file for SSH repositories (default ~/.ssh/known_hosts)")
	fs.StringSliceVar(&f.policyDirs, "policy-dir", nil, "extra Rego policy directory (repeatable); the repository's own policies/ is always read")
	fs.StringSliceVar(&f.allowedNS, "allowed-namespaces", nil, "tenancy fence: deny any intent or object outside these namespaces, and any host, gateway or exportTo reaching beyond them (policy meshintent.tenancy)")
	fs.StringSliceVar(&f.sharedGateways, "shared-gateways", nil, "with --allowed-namespaces: gateways (namespace/name) outside the fence that VirtualServices may bind to")
	fs.StringSliceVar(&f.externalHosts, "allowed-external-hosts", nil, "with --allowed-namespaces: hosts outside the fence (api.stripe.com, *.googleapis.com) that objects may name")
	fs.BoolVar(&f.remote, "allow-remote-bases", false, "let kustomizations load remote bases (off: only files inside the repository)")
	fs.DurationVar(&f.policyTimeout, "policy-timeout", validate.DefaultTimeout, "time budget of the policy evaluation: a policy running longer is an error (exit 2)")
}

func defaultCacheDir() string {
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "meshintent", "git")
	}
	return filepath.Join(os.TempDir(), "meshintent-git")
}

// tree is a checked-out tree to build: the root kustomize is confined to and
// the kustomization path inside it.
type tree struct {
	// Root is the directory kustomize may read below.
	Root string
	// Path is the kustomization's path relative to Root.
	Path string
	// Revision names the commit ("main@sha1:…"), "local" (a directory
	// read as it is) or "working tree" (a Git work tree's snapshot).
	Revision string
	// Prefix is Root's slash path inside the Git repository it comes from:
	// "" at the repository's top or when unknown.
	Prefix string
	// cleanup removes a temporary snapshot; nil when there is none.
	cleanup func()
}

// close removes the tree's temporary snapshot, if it has one.
func (t tree) close() {
	if t.cleanup != nil {
		t.cleanup()
	}
}

// localTree resolves a local directory argument. The root is --root, or the
// nearest ancestor holding meshintent.yaml or .git, or the directory itself.
func (f *inputFlags) localTree(dir string) (tree, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return tree{}, fmt.Errorf("resolving %s: %w", dir, err)
	}
	st, err := os.Stat(abs)
	if err != nil {
		return tree{}, fmt.Errorf("reading %s: %w", dir, err)
	}
	if !st.IsDir() {
		return tree{}, fmt.Errorf("%s is not a directory: pass the directory holding kustomization.yaml", dir)
	}
	root := f.root
	if root == "" {
		root = findRoot(abs)
	}
	if root, err = filepath.Abs(root); err != nil {
		return tree{}, fmt.Errorf("resolving root: %w", err)
	}
	rel, err := filepath.Rel(root, abs)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return tree{}, fmt.Errorf("%s is outside the root %s", dir, root)
	}
	return tree{Root: root, Path: filepath.ToSlash(rel), Revision: "local"}, nil
}

func findRoot(dir string) string {
	for d := dir; ; {
		for _, marker := range []string{pipeline.RepoConfigFile, ".git"} {
			if _, err := os.Stat(filepath.Join(d, marker)); err == nil {
				return d
			}
		}
		parent := filepath.Dir(d)
		if parent == d {
			return dir
		}
		d = parent
	}
}

var commitSHA = regexp.MustCompile(`^[0-9a-f]{40}$`)

// fetch resolves --repo at ref into a checked-out tree. A ref is a commit when
// it is a full SHA; otherwise a branch, and a tag when no branch has the name.
// With verify, the signatures --verify-keys asks for are checked.
func (f *inputFlags) fetch(ctx context.Context, ref string, verify bool) (tree, error) {
	fetcher, err := source.NewFetcher(f.cacheDir)
	if err != nil {
		return tree{}, err
	}
	auth, err := f.auth()
	if err != nil {
		return tree{}, err
	}
	opts := source.Options{URL: f.repo, Auth: auth, Timeout: f.timeout}
	var art *source.Artifact
	switch {
	case ref == "":
		art, err = fetcher.Fetch(ctx, opts)
	case commitSHA.MatchString(ref):
		opts.Ref = source.Ref{Commit: ref}
		art, err = fetcher.Fetch(ctx, opts)
	default:
		opts.Ref = source.Ref{Branch: strings.TrimPrefix(ref, "refs/heads/")}
		art, err = fetcher.Fetch(ctx, opts)
		if errors.Is(err, source.ErrRefNotFound) {
			opts.Ref = source.Ref{Tag: strings.TrimPrefix(ref, "refs/tags/")}
			art, err = fetcher.Fetch(ctx, opts)
		}
	}
	if err != nil {
		return tree{}, err
	}
	if verify {
		if err := f.verify.verifyFetched(ctx, fetcher, opts, art); err != nil {
			return tree{}, err
		}
	}
	path := filepath.ToSlash(filepath.Clean(f.path))
	if filepath.IsAbs(path) || path == ".." || strings.HasPrefix(path, "../") {
		return tree{}, fmt.Errorf("--path %s must be relative and inside the repository", f.path)
	}
	return tree{Root: art.Dir, Path: path, Revision: art.Revision}, nil
}

// auth reads credentials from the environment and key files.
func (f *inputFlags) auth() (*source.Auth, error) {
	a := &source.Auth{
		Username:    os.Getenv(envGitUsername),
		Password:    os.Getenv(envGitPassword),
		BearerToken: os.Getenv(envGitToken),
	}
	if f.sshKey != "" {
		key, err := os.ReadFile(f.sshKey)
		if err != nil {
			return nil, fmt.Errorf("reading --ssh-key: %w", err)
		}
		a.SSHPrivateKey = key
		kh := f.knownHosts
		if kh == "" {
			if home, err := os.UserHomeDir(); err == nil {
				kh = filepath.Join(home, ".ssh", "known_hosts")
			}
		}
		if a.SSHKnownHosts, err = os.ReadFile(kh); err != nil {
			return nil, fmt.Errorf("reading known hosts: %w", err)
		}
	}
	if a.Username == "" && a.Password == "" && a.BearerToken == "" && a.SSHPrivateKey == nil {
		return nil, nil
	}
	return a, nil
}

// resolve gives the tree a command works on: the positional directory, or
// --repo at --ref.
func (f *inputFlags) resolve(ctx context.Context, args []string) (tree, error) {
	if err := f.verify.check(f.repo); err != nil {
		return tree{}, err
	}
	switch {
	case f.repo != "" && len(args) > 0:
		return tree{}, usageError(errors.New("give either a local directory or --repo, not both"))
	case f.repo != "":
		return f.fetch(ctx, f.ref, true)
	case len(args) == 1 && f.ref != "":
		repo, dirRel, err := openLocal(args[0])
		if err != nil {
			return tree{}, err
		}
		t, err := f.localRevision(ctx, repo, dirRel, f.ref)
		if err != nil {
			return tree{}, fmt.Errorf("--ref %s: %w", f.ref, err)
		}
		return t, nil
	case len(args) == 1:
		return f.localTree(args[0])
	default:
		return tree{}, usageError(errors.New("give a local directory or --repo URL"))
	}
}

func usageError(err error) error { return &exitError{code: ExitError, err: err} }

// planTrees gives the two trees plan compares. With --repo both revisions
// are fetched, and head's signatures checked (--verify-keys: the base is
// what is deployed, and may predate signing). Otherwise args[0] is a
// directory in a local clone, read as it is without fetching: base and head
// are any revisions git rev-parse takes, and an empty head is the work tree
// on disk. The caller closes head.
func (f *inputFlags) planTrees(ctx context.Context, args []string, base, head string) (baseTree, headTree tree, err error) {
	if err := f.verify.check(f.repo); err != nil {
		return tree{}, tree{}, err
	}
	if f.repo != "" {
		if baseTree, err = f.fetch(ctx, base, false); err != nil {
			return tree{}, tree{}, fmt.Errorf("base %s: %w", base, err)
		}
		if headTree, err = f.fetch(ctx, head, true); err != nil {
			return tree{}, tree{}, fmt.Errorf("head %s: %w", head, err)
		}
		return baseTree, headTree, nil
	}
	repo, dirRel, err := openLocal(args[0])
	if err != nil {
		return tree{}, tree{}, err
	}
	if baseTree, err = f.localRevision(ctx, repo, dirRel, base); err != nil {
		return tree{}, tree{}, fmt.Errorf("base %s: %w", base, err)
	}
	if head == "" {
		if headTree, err = f.localWorkTree(ctx, repo, dirRel); err != nil {
			return tree{}, tree{}, fmt.Errorf("head (the working tree): %w", err)
		}
		return baseTree, headTree, nil
	}
	if headTree, err = f.localRevision(ctx, repo, dirRel, head); err != nil {
		return tree{}, tree{}, fmt.Errorf("head %s: %w", head, err)
	}
	return baseTree, headTree, nil
}

// openLocal opens the Git repository holding dir and returns dir's slash
// path inside its work tree.
func openLocal(dir string) (*source.LocalRepo, string, error) {
	abs, err := filepath.Abs(dir)
	if err == nil {
		abs, err = filepath.EvalSymlinks(abs)
	}
	if err != nil {
		return nil, "", fmt.Errorf("reading %s: %w", dir, err)
	}
	repo, err := source.OpenLocal(abs)
	if err != nil {
		return nil, "", fmt.Errorf("%w: revisions are read from a Git repository; give a directory inside a clone, or --repo URL", err)
	}
	rel, err := filepath.Rel(repo.Top(), abs)
	if err != nil || !filepath.IsLocal(rel) && rel != "." {
		return nil, "", fmt.Errorf("%s is outside the work tree %s", dir, repo.Top())
	}
	return repo, filepath.ToSlash(rel), nil
}

// kustomizationIn is the kustomization's slash path in the repository:
// --path below the directory argument (dirRel).
func (f *inputFlags) kustomizationIn(dirRel string) (string, error) {
	p := filepath.ToSlash(filepath.Clean(f.path))
	if filepath.IsAbs(f.path) || p == ".." || strings.HasPrefix(p, "../") {
		return "", usageError(fmt.Errorf("--path %s must be relative and inside the repository", f.path))
	}
	return path.Join(dirRel, p), nil
}

// rootIn picks the directory kustomize is confined to, as a slash path in
// the repository whose files lie under top: --root, else the nearest
// ancestor of kpath holding meshintent.yaml, else the repository's top.
func (f *inputFlags) rootIn(repo *source.LocalRepo, top, kpath string) (string, error) {
	if f.root != "" {
		abs, err := filepath.Abs(f.root)
		if err == nil {
			abs, err = filepath.EvalSymlinks(abs)
		}
		if err != nil {
			return "", fmt.Errorf("resolving --root: %w", err)
		}
		rel, err := filepath.Rel(repo.Top(), abs)
		if err != nil || !filepath.IsLocal(rel) && rel != "." {
			return "", fmt.Errorf("--root %s is outside the repository %s", f.root, repo.Top())
		}
		root := path.Clean(filepath.ToSlash(rel))
		if root != "." && kpath != root && !strings.HasPrefix(kpath, root+"/") {
			return "", fmt.Errorf("%s is outside --root %s", kpath, f.root)
		}
		if root == "." {
			root = ""
		}
		return root, nil
	}
	for d := kpath; d != "." && d != "/" && d != ""; d = path.Dir(d) {
		if _, err := os.Stat(filepath.Join(top, filepath.FromSlash(d), pipeline.RepoConfigFile)); err == nil {
			return d, nil
		}
	}
	return "", nil
}

// rooted makes the tree for kpath below root in the files under top.
func rooted(top, root, kpath, revision string) tree {
	rel := strings.TrimPrefix(strings.TrimPrefix(kpath, root), "/")
	if rel == "" {
		rel = "."
	}
	return tree{Root: filepath.Join(top, filepath.FromSlash(root)), Path: rel, Revision: revision, Prefix: root}
}

// localRevision checks out rev of a local clone (nothing is fetched).
func (f *inputFlags) localRevision(ctx context.Context, repo *source.LocalRepo, dirRel, rev string) (tree, error) {
	res, err := repo.Resolve(rev)
	if err != nil {
		return tree{}, err
	}
	kpath, err := f.kustomizationIn(dirRel)
	if err != nil {
		return tree{}, err
	}
	dir, err := repo.Checkout(ctx, res.Commit, f.cacheDir)
	if err != nil {
		return tree{}, err
	}
	root, err := f.rootIn(repo, dir, kpath)
	if err != nil {
		return tree{}, err
	}
	return rooted(dir, root, kpath, res.Revision), nil
}

// localWorkTree snapshots the work tree of a local clone below the root
// (as git diff HEAD sees it: uncommitted and untracked files, not ignored
// ones) into a temporary directory that closing the tree removes.
func (f *inputFlags) localWorkTree(ctx context.Context, repo *source.LocalRepo, dirRel string) (tree, error) {
	if repo.Bare() {
		return tree{}, usageError(fmt.Errorf("%s is a bare repository: give --head", repo.Top()))
	}
	kpath, err := f.kustomizationIn(dirRel)
	if err != nil {
		return tree{}, err
	}
	root, err := f.rootIn(repo, repo.Top(), kpath)
	if err != nil {
		return tree{}, err
	}
	tmp, err := os.MkdirTemp("", "meshintent-worktree-")
	if err != nil {
		return tree{}, fmt.Errorf("snapshot the working tree: %w", err)
	}
	cleanup := func() { os.RemoveAll(tmp) }
	if err := repo.Snapshot(ctx, root, tmp, source.SnapshotOptions{}); err != nil {
		cleanup()
		return tree{}, err
	}
	t := rooted(tmp, root, kpath, "working tree")
	t.cleanup = cleanup
	if err := os.MkdirAll(t.Root, 0o755); err != nil {
		cleanup()
		return tree{}, fmt.Errorf("snapshot the working tree: %w", err)
	}
	return t, nil
}

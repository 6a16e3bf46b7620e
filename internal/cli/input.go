package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/meshintent/meshintent/pkg/pipeline"
	"github.com/meshintent/meshintent/pkg/source"
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
	remote     bool
}

func (f *inputFlags) register(cmd *cobra.Command, withRef bool) {
	fs := cmd.Flags()
	fs.StringVar(&f.repo, "repo", "", "Git repository URL or local clone (file://, https://, ssh://, git@host:org/repo)")
	if withRef {
		fs.StringVar(&f.ref, "ref", "", "branch, tag or full commit SHA to fetch (default: the remote HEAD)")
	}
	fs.StringVar(&f.path, "path", ".", "path of the kustomization inside the repository")
	fs.StringVar(&f.root, "root", "", "local mode: the repository root that kustomize may read below (default: nearest ancestor holding meshintent.yaml or .git)")
	fs.StringVar(&f.cacheDir, "cache-dir", defaultCacheDir(), "where fetched repositories are cached")
	fs.DurationVar(&f.timeout, "timeout", 60*time.Second, "timeout of each network call to the Git server")
	fs.StringVar(&f.sshKey, "ssh-key", "", "private key file for SSH repositories")
	fs.StringVar(&f.knownHosts, "known-hosts", "", "known_hosts file for SSH repositories (default ~/.ssh/known_hosts)")
	fs.StringSliceVar(&f.policyDirs, "policy-dir", nil, "extra Rego policy directory (repeatable); the repository's own policies/ is always read")
	fs.StringSliceVar(&f.allowedNS, "allowed-namespaces", nil, "tenancy fence: deny any intent or object outside these namespaces (policy meshintent.tenancy)")
	fs.BoolVar(&f.remote, "allow-remote-bases", false, "let kustomizations load remote bases (off: only files inside the repository)")
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
	// Revision names the commit ("main@sha1:…") or "local".
	Revision string
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
func (f *inputFlags) fetch(ctx context.Context, ref string) (tree, error) {
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
	switch {
	case f.repo != "" && len(args) > 0:
		return tree{}, usageError(errors.New("give either a local directory or --repo, not both"))
	case f.repo != "":
		return f.fetch(ctx, f.ref)
	case len(args) == 1:
		return f.localTree(args[0])
	default:
		return tree{}, usageError(errors.New("give a local directory or --repo URL"))
	}
}

func usageError(err error) error { return &exitError{code: ExitError, err: err} }

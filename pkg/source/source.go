// Package source fetches Git repositories into a local cache and
// materialises the tree of a commit as a plain directory.
//
// A Fetcher keeps one bare repository per remote URL under its cache
// directory and fetches shallowly and incrementally into it. The tree of
// each commit is written once to <cache>/<repo>/trees/<sha>/ and reused, so
// several commits of the same repository can be read side by side.
//
// Local paths, file:// URLs, HTTPS (plain HTTP only for anonymous access or
// for loopback hosts), git:// and SSH URLs are supported.
package source

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
)

// DefaultTimeout bounds each network call when Options.Timeout is zero.
const DefaultTimeout = 60 * time.Second

// Ref selects what to fetch. At most one field may be set; when all are
// empty the remote's HEAD (its default branch) is fetched.
type Ref struct {
	// Branch is a branch name such as "main".
	Branch string
	// Tag is a tag name such as "v1.2.0"; annotated tags are peeled to
	// their commit.
	Tag string
	// Commit is a full 40-character hexadecimal commit SHA. A commit that
	// is already in the cache is served without contacting the remote.
	Commit string
}

// String describes the ref for humans, e.g. "branch main".
func (r Ref) String() string {
	switch {
	case r.Commit != "":
		return "commit " + r.Commit
	case r.Tag != "":
		return "tag " + r.Tag
	case r.Branch != "":
		return "branch " + r.Branch
	default:
		return "HEAD"
	}
}

// Auth holds credentials. Only the fields relevant to the URL's scheme are
// used: Username, Password and BearerToken for HTTP(S); the SSH fields for
// SSH.
type Auth struct {
	// Username is the HTTP basic auth user name.
	Username string
	// Password is the HTTP basic auth password or access token.
	Password string
	// BearerToken is sent as "Authorization: Bearer <token>" over HTTP(S).
	// It cannot be combined with Username or Password.
	BearerToken string
	// SSHPrivateKey is a PEM or OpenSSH encoded private key.
	SSHPrivateKey []byte
	// SSHPassphrase decrypts SSHPrivateKey when it is encrypted.
	SSHPassphrase string
	// SSHKnownHosts is the content of a known_hosts file; it is required
	// for SSH, host keys are never accepted blindly.
	SSHKnownHosts []byte
	// SSHUser is the SSH login; it defaults to the user in the URL, then
	// to "git".
	SSHUser string
}

// Options describes one fetch.
type Options struct {
	// URL is a local path, or a file://, http(s)://, git:// or ssh:// URL,
	// or an scp-like address such as git@host:org/repo.git. Credentials in
	// an HTTP(S) URL are used as basic auth when Auth is nil.
	URL string
	// Ref selects the branch, tag or commit; empty means the remote HEAD.
	Ref Ref
	// Auth holds credentials; nil means anonymous access.
	Auth *Auth
	// Timeout bounds every network call; zero means DefaultTimeout.
	Timeout time.Duration
}

// Artifact is the result of a fetch.
type Artifact struct {
	// URL is the fetched URL with any credentials stripped.
	URL string
	// Ref is what was asked for, e.g. "branch main".
	Ref string
	// Commit is the full SHA of the fetched commit.
	Commit string
	// Revision is the Flux-style revision, e.g. "main@sha1:<sha>" for a
	// branch or the remote HEAD, "v1.0.0@sha1:<sha>" for a tag and
	// "sha1:<sha>" for a commit.
	Revision string
	// Dir holds the checked-out tree of Commit. It is shared and stable per
	// commit: callers must only read it.
	Dir string
	// Meta is what people read of the commit (subject, author, time); zero
	// when the cache could not say.
	Meta CommitMeta
}

// CommitMeta is what people read of a commit: the first line of its
// message, its author's name (never the e-mail address) and its committer
// time.
type CommitMeta struct {
	Subject string
	Author  string
	Time    time.Time
}

// commitMeta reads the meta of c.
func commitMeta(c *object.Commit) CommitMeta {
	subject, _, _ := strings.Cut(strings.TrimSpace(c.Message), "\n")
	return CommitMeta{Subject: strings.TrimSpace(subject), Author: c.Author.Name, Time: c.Committer.When}
}

// Fetcher fetches repositories into a cache directory. It is safe for
// concurrent use; fetches of the same URL are serialised.
type Fetcher struct {
	dir string

	mu    sync.Mutex
	locks map[string]chan struct{}
	// metas remembers the meta of the commits fetched, for a fetch that
	// finds the tree materialised already and so opens no repository.
	metas map[string]CommitMeta
}

// NewFetcher returns a Fetcher that caches repositories under cacheDir,
// creating it if needed.
func NewFetcher(cacheDir string) (*Fetcher, error) {
	if cacheDir == "" {
		return nil, errors.New("cache directory is empty")
	}
	dir, err := filepath.Abs(cacheDir)
	if err != nil {
		return nil, fmt.Errorf("resolve cache directory: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create cache directory: %w", err)
	}
	return &Fetcher{dir: dir, locks: map[string]chan struct{}{}}, nil
}

// Fetch fetches opts.Ref from opts.URL and returns the commit and a
// directory holding its tree.
//
// Errors can be tested with errors.Is against ErrAuthFailed,
// ErrRefNotFound, ErrUnreachable and ErrUntrustedHostKey; they never
// contain credentials.
func (f *Fetcher) Fetch(ctx context.Context, opts Options) (*Artifact, error) {
	opts.Ref.Commit = strings.ToLower(opts.Ref.Commit)
	secrets := secretsOf(opts)
	a, err := f.fetch(ctx, opts)
	if err != nil {
		return nil, redact(fmt.Errorf("fetch %s (%s): %w", displayURL(opts.URL), opts.Ref, err), secrets)
	}
	return a, nil
}

func (f *Fetcher) fetch(ctx context.Context, opts Options) (*Artifact, error) {
	if err := validateRef(opts.Ref); err != nil {
		return nil, err
	}
	op, unlock, err := f.newOp(ctx, opts, opts.Ref)
	if err != nil {
		return nil, err
	}
	defer op.release(unlock)

	a, fresh, err := op.run(ctx)
	if err != nil && !fresh && isCacheError(err) && ctx.Err() == nil {
		// The cached repository is unusable: start over from a clean clone.
		if rmErr := os.RemoveAll(op.gitDir()); rmErr != nil {
			return nil, errors.Join(err, fmt.Errorf("remove broken cache: %w", rmErr))
		}
		a, _, err = op.run(ctx)
	}
	if err != nil {
		return nil, err
	}
	return a, nil
}

// newOp prepares an operation on ref of opts.URL's cached repository: it
// parses the URL, builds the auth method and takes the repository's lock,
// which the caller gives back with op.release(unlock).
func (f *Fetcher) newOp(ctx context.Context, opts Options, ref Ref) (op *fetchOp, unlock func(), err error) {
	src, err := parseSource(opts.URL)
	if err != nil {
		return nil, nil, err
	}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	auth, err := src.authMethod(opts.Auth, timeout, f.dir)
	if err != nil {
		return nil, nil, err
	}
	if unlock, err = f.lock(ctx, src.key); err != nil {
		return nil, nil, err
	}
	return &fetchOp{
		f:        f,
		src:      src,
		auth:     auth,
		ref:      ref,
		timeout:  timeout,
		repoDir:  filepath.Join(f.dir, src.key),
		treesDir: filepath.Join(f.dir, src.key, "trees"),
	}, unlock, nil
}

// lock serialises work on one cached repository.
func (f *Fetcher) lock(ctx context.Context, key string) (func(), error) {
	f.mu.Lock()
	ch, ok := f.locks[key]
	if !ok {
		ch = make(chan struct{}, 1)
		f.locks[key] = ch
	}
	f.mu.Unlock()
	select {
	case ch <- struct{}{}:
		return func() { <-ch }, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("wait for another fetch of the same url: %w", ctx.Err())
	}
}

// fetchOp is the state of one Fetch call.
type fetchOp struct {
	f        *Fetcher
	src      *source
	auth     transport.AuthMethod
	ref      Ref
	timeout  time.Duration
	repoDir  string
	treesDir string

	// pending holds network calls abandoned after their timeout; the
	// repository stays locked until they return.
	pending []chan struct{}
	// objects makes a commit's objects come into the repository even when
	// its tree is materialised already (Fetcher.Verify reads them).
	objects bool
}

func (op *fetchOp) gitDir() string { return filepath.Join(op.repoDir, "git") }

func (op *fetchOp) release(unlock func()) {
	if len(op.pending) == 0 {
		unlock()
		return
	}
	pending := op.pending
	go func() {
		for _, done := range pending {
			<-done
		}
		unlock()
	}()
}

// run performs the fetch. fresh reports whether the repository was created
// by this call, in which case a retry cannot help.
func (op *fetchOp) run(ctx context.Context) (a *Artifact, fresh bool, err error) {
	if op.ref.Commit != "" {
		return op.runCommit(ctx)
	}

	refs, err := op.list(ctx)
	if err != nil {
		return nil, false, err
	}
	name, hash, peeled, err := findRef(refs, op.ref)
	if err != nil {
		return nil, false, err
	}
	revName := name.Short()
	if name == plumbing.HEAD {
		revName = "HEAD"
	}
	// Only commits get a tree directory, so finding one proves that the
	// ref points to that commit.
	if dir, ok := op.treeDir(peeled); ok {
		return op.artifact(peeled, nil, revName, dir), false, nil
	}

	repo, has, fresh, err := op.openWith(hash)
	if err != nil {
		return nil, fresh, err
	}
	if !has {
		depth, err := op.depthFor(repo, name)
		if err != nil {
			return nil, fresh, err
		}
		if err := op.fetchRefs(ctx, repo, depth, refSpec(name)); err != nil {
			return nil, fresh, err
		}
		// The ref may have moved since it was listed: use what was fetched.
		local, err := repo.Storer.Reference(localName(name))
		if err != nil {
			return nil, fresh, cacheError(fmt.Errorf("read fetched ref %s: %w", name, err))
		}
		hash = local.Hash()
	}
	commit, err := peelToCommit(repo, hash)
	if err != nil {
		return nil, fresh, err
	}
	dir, err := op.materialise(ctx, repo, commit)
	if err != nil {
		return nil, fresh, err
	}
	return op.artifact(commit.Hash, commit, revName, dir), fresh, nil
}

// runCommit fetches a commit by SHA: from the cache if present, else via
// the branch or tag whose tip it is, else with a full fetch.
func (op *fetchOp) runCommit(ctx context.Context) (*Artifact, bool, error) {
	hash := plumbing.NewHash(op.ref.Commit)
	if dir, ok := op.treeDir(hash); ok && !op.objects {
		return op.artifact(hash, nil, "", dir), false, nil
	}
	repo, has, fresh, err := op.openWith(hash)
	if err != nil {
		return nil, fresh, err
	}
	if !has {
		refs, err := op.list(ctx)
		if err != nil {
			return nil, fresh, err
		}
		if tip, ok := refWithCommit(refs, hash); ok {
			depth, err := op.depthFor(repo, tip)
			if err != nil {
				return nil, fresh, err
			}
			if err := op.fetchRefs(ctx, repo, depth, refSpec(tip)); err != nil {
				return nil, fresh, err
			}
		}
		if has, err = hasObject(repo, hash); err != nil {
			return nil, fresh, err
		}
	}
	if !has {
		depth := 0
		if shallow, err := repo.Storer.Shallow(); err != nil {
			return nil, fresh, cacheError(fmt.Errorf("read shallow commits: %w", err))
		} else if len(shallow) > 0 {
			depth = unshallowDepth
		}
		err := op.fetchRefs(ctx, repo, depth,
			"+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*")
		if err != nil {
			return nil, fresh, err
		}
		if has, err = hasObject(repo, hash); err != nil {
			return nil, fresh, err
		}
		if !has {
			return nil, fresh, fmt.Errorf("%w: commit %s is not reachable from any branch or tag", ErrRefNotFound, hash)
		}
	}
	commit, err := peelToCommit(repo, hash)
	if err != nil {
		if errors.Is(err, errNotCommit) {
			return nil, fresh, fmt.Errorf("%w: %w", ErrRefNotFound, err)
		}
		return nil, fresh, err
	}
	dir, err := op.materialise(ctx, repo, commit)
	if err != nil {
		return nil, fresh, err
	}
	return op.artifact(hash, commit, "", dir), fresh, nil
}

// depthFor returns the fetch depth for the remote ref name: 1 for a ref
// fetched for the first time, and 0 (everything since the commit we have)
// for a ref already in the cache. go-git cannot receive thin packs, and a
// depth-1 fetch without a thin pack resends the whole tree, while a fetch
// without depth only sends the new objects, as git fetch in a shallow clone
// does.
func (op *fetchOp) depthFor(repo *git.Repository, name plumbing.ReferenceName) (int, error) {
	local, err := repo.Storer.Reference(localName(name))
	if err != nil {
		return 1, nil
	}
	has, err := hasObject(repo, local.Hash())
	if err != nil || !has {
		return 1, err
	}
	return 0, nil
}

// unshallowDepth is Git's "infinite" depth, used to deepen a shallow
// repository to its full history.
const unshallowDepth = 0x7fffffff

// artifact is the Artifact of commit, checked out in dir. c is the commit
// object when the fetch read it; without it the meta comes from what this
// Fetcher remembers, else from the cached repository.
func (op *fetchOp) artifact(commit plumbing.Hash, c *object.Commit, revName, dir string) *Artifact {
	rev := "sha1:" + commit.String()
	if revName != "" {
		rev = revName + "@" + rev
	}
	return &Artifact{
		URL:      op.src.display,
		Ref:      op.ref.String(),
		Commit:   commit.String(),
		Revision: rev,
		Dir:      dir,
		Meta:     op.meta(commit, c),
	}
}

// maxRememberedMetas bounds the commit metas a long-running Fetcher keeps.
const maxRememberedMetas = 1024

// meta returns the CommitMeta of commit, remembering it.
func (op *fetchOp) meta(commit plumbing.Hash, c *object.Commit) CommitMeta {
	key := op.src.key + "/" + commit.String()
	op.f.mu.Lock()
	m, ok := op.f.metas[key]
	op.f.mu.Unlock()
	if ok {
		return m
	}
	if c == nil {
		repo, _, err := op.openRepo()
		if err != nil {
			return CommitMeta{}
		}
		if c, err = peelToCommit(repo, commit); err != nil {
			return CommitMeta{}
		}
	}
	m = commitMeta(c)
	op.f.mu.Lock()
	if op.f.metas == nil || len(op.f.metas) >= maxRememberedMetas {
		// Forgetting is cheap: a fetch that misses reads the commit again.
		op.f.metas = map[string]CommitMeta{}
	}
	op.f.metas[key] = m
	op.f.mu.Unlock()
	return m
}

// openWith opens the cached repository like openRepo and reports whether
// it has the object hash.
func (op *fetchOp) openWith(hash plumbing.Hash) (repo *git.Repository, has, fresh bool, err error) {
	if repo, fresh, err = op.openRepo(); err != nil {
		return nil, false, fresh, err
	}
	has, err = hasObject(repo, hash)
	return repo, has, fresh, err
}

// openRepo opens the cached bare repository, creating it if it is missing
// and recreating it if it cannot be opened.
func (op *fetchOp) openRepo() (repo *git.Repository, fresh bool, err error) {
	dir := op.gitDir()
	repo, err = git.PlainOpen(dir)
	if err == nil {
		return repo, false, nil
	}
	if err := os.RemoveAll(dir); err != nil {
		return nil, true, fmt.Errorf("remove broken cache: %w", err)
	}
	if err := os.MkdirAll(op.repoDir, 0o755); err != nil {
		return nil, true, fmt.Errorf("create cache: %w", err)
	}
	repo, err = git.PlainInit(dir, true)
	if err != nil {
		return nil, true, fmt.Errorf("init cache repository: %w", err)
	}
	return repo, true, nil
}

// list returns the remote's references, with peeled tags as "<tag>^{}".
func (op *fetchOp) list(ctx context.Context) ([]*plumbing.Reference, error) {
	var refs []*plumbing.Reference
	err := op.network(ctx, "list remote refs", func(ctx context.Context) error {
		remote := git.NewRemote(nil, op.remoteConfig())
		var err error
		refs, err = remote.ListContext(ctx, &git.ListOptions{Auth: op.auth, PeelingOption: git.AppendPeeled})
		return err
	})
	if err != nil {
		// refs may still be written by a call abandoned after its timeout.
		return nil, err
	}
	return refs, nil
}

// fetchRefs fetches refspecs into repo; depth 0 means everything missing.
func (op *fetchOp) fetchRefs(ctx context.Context, repo *git.Repository, depth int, specs ...config.RefSpec) error {
	var before map[plumbing.Hash]bool
	if depth == 0 {
		shallow, err := repo.Storer.Shallow()
		if err != nil {
			return cacheError(fmt.Errorf("read shallow commits: %w", err))
		}
		if len(shallow) > 0 {
			if before, err = refHashes(repo); err != nil {
				return err
			}
		}
	}
	err := op.network(ctx, "fetch objects", func(ctx context.Context) error {
		remote := git.NewRemote(repo.Storer, op.remoteConfig())
		err := remote.FetchContext(ctx, &git.FetchOptions{
			RefSpecs: specs,
			Depth:    depth,
			Auth:     op.auth,
			Tags:     git.NoTags,
			Force:    true,
		})
		if errors.Is(err, git.NoErrAlreadyUpToDate) {
			return nil
		}
		return err
	})
	if err != nil {
		if !isClassified(err) {
			// Not a network or remote failure: most likely the cached
			// repository could not take the objects.
			return cacheError(err)
		}
		return err
	}
	if before == nil {
		return nil
	}
	return markShallow(repo, before)
}

// refHashes returns the hashes the references of repo point to.
func refHashes(repo *git.Repository) (map[plumbing.Hash]bool, error) {
	iter, err := repo.Storer.IterReferences()
	if err != nil {
		return nil, cacheError(fmt.Errorf("list cached refs: %w", err))
	}
	hashes := map[plumbing.Hash]bool{}
	err = iter.ForEach(func(ref *plumbing.Reference) error {
		if ref.Type() == plumbing.HashReference {
			hashes[ref.Hash()] = true
		}
		return nil
	})
	if err != nil {
		return nil, cacheError(fmt.Errorf("list cached refs: %w", err))
	}
	return hashes, nil
}

// markShallow records as shallow the newly fetched commits whose parents
// are missing. go-git only tells the server about shallow commits when it
// fetches with a depth, so a fetch without one into a shallow repository
// can bring commits whose history is cut somewhere the shallow file does
// not say; later fetches must report those cuts or the server will assume
// we have the missing history. before holds the ref hashes from before the
// fetch: history below them is already accounted for.
func markShallow(repo *git.Repository, before map[plumbing.Hash]bool) error {
	shallow, err := repo.Storer.Shallow()
	if err != nil {
		return cacheError(fmt.Errorf("read shallow commits: %w", err))
	}
	after, err := refHashes(repo)
	if err != nil {
		return err
	}
	seen := map[plumbing.Hash]bool{}
	for h := range before {
		seen[h] = true
	}
	for _, h := range shallow {
		seen[h] = true
	}
	var stack, cut []plumbing.Hash
	for h := range after {
		if before[h] {
			continue
		}
		if commit, err := peelToCommit(repo, h); err == nil {
			stack = append(stack, commit.Hash)
		}
	}
	for len(stack) > 0 {
		h := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[h] {
			continue
		}
		seen[h] = true
		commit, err := object.GetCommit(repo.Storer, h)
		if err != nil {
			return cacheError(fmt.Errorf("read commit %s: %w", h, err))
		}
		missing := false
		for _, p := range commit.ParentHashes {
			has, err := hasObject(repo, p)
			if err != nil {
				return err
			}
			if has {
				stack = append(stack, p)
			} else {
				missing = true
			}
		}
		if missing {
			cut = append(cut, h)
		}
	}
	if len(cut) == 0 {
		return nil
	}
	if err := repo.Storer.SetShallow(append(shallow, cut...)); err != nil {
		return cacheError(fmt.Errorf("write shallow commits: %w", err))
	}
	return nil
}

func (op *fetchOp) remoteConfig() *config.RemoteConfig {
	return &config.RemoteConfig{Name: "origin", URLs: []string{op.src.endpoint}}
}

// network runs fn with a deadline of op.timeout and classifies its error.
// If fn ignores the deadline (an SSH handshake can), network returns anyway
// and the call is recorded in op.pending.
func (op *fetchOp) network(ctx context.Context, what string, fn func(context.Context) error) error {
	callCtx, cancel := context.WithTimeout(ctx, op.timeout)
	defer cancel()
	res := make(chan error, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		res <- fn(callCtx)
	}()
	var err error
	select {
	case err = <-res:
	case <-callCtx.Done():
		op.pending = append(op.pending, done)
		err = callCtx.Err()
	}
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return fmt.Errorf("%s: %w", what, ctx.Err())
	}
	if callCtx.Err() != nil {
		return fmt.Errorf("%w: %s timed out after %s: %w", ErrUnreachable, what, op.timeout, context.DeadlineExceeded)
	}
	return fmt.Errorf("%s: %w", what, classify(err))
}

// findRef picks the listed reference for r. It returns the reference name,
// the hash it points to and the hash it peels to, which is the commit
// unless the server did not advertise the peeled value of a tag.
func findRef(refs []*plumbing.Reference, r Ref) (name plumbing.ReferenceName, hash, peeled plumbing.Hash, err error) {
	byName := make(map[plumbing.ReferenceName]*plumbing.Reference, len(refs))
	for _, ref := range refs {
		byName[ref.Name()] = ref
	}
	switch {
	case r.Branch != "":
		name = plumbing.NewBranchReferenceName(r.Branch)
	case r.Tag != "":
		name = plumbing.NewTagReferenceName(r.Tag)
	default:
		name = plumbing.HEAD
	}
	ref, ok := byName[name]
	if !ok {
		if len(refs) == 0 {
			return "", plumbing.ZeroHash, plumbing.ZeroHash, fmt.Errorf("%w: remote repository is empty", ErrRefNotFound)
		}
		return "", plumbing.ZeroHash, plumbing.ZeroHash, fmt.Errorf("%w: no %s on the remote", ErrRefNotFound, r)
	}
	if ref.Type() == plumbing.SymbolicReference {
		target, ok := byName[ref.Target()]
		if !ok {
			return "", plumbing.ZeroHash, plumbing.ZeroHash, fmt.Errorf("%w: %s points to missing %s", ErrRefNotFound, name, ref.Target())
		}
		name, ref = target.Name(), target
	}
	hash, peeled = ref.Hash(), ref.Hash()
	if p, ok := byName[name+"^{}"]; ok {
		peeled = p.Hash()
	}
	return name, hash, peeled, nil
}

// refWithCommit finds a branch or tag whose tip is commit.
func refWithCommit(refs []*plumbing.Reference, commit plumbing.Hash) (plumbing.ReferenceName, bool) {
	for _, ref := range refs {
		if ref.Type() != plumbing.HashReference || ref.Hash() != commit {
			continue
		}
		name := plumbing.ReferenceName(trimPeeled(ref.Name().String()))
		if name.IsBranch() || name.IsTag() {
			return name, true
		}
	}
	return "", false
}

func trimPeeled(s string) string {
	if len(s) > 3 && s[len(s)-3:] == "^{}" {
		return s[:len(s)-3]
	}
	return s
}

// localName is where a remote ref is stored in the cache repository.
func localName(name plumbing.ReferenceName) plumbing.ReferenceName {
	if name == plumbing.HEAD {
		return "refs/remotes/origin/HEAD"
	}
	return name
}

func refSpec(name plumbing.ReferenceName) config.RefSpec {
	return config.RefSpec("+" + name.String() + ":" + localName(name).String())
}

func hasObject(repo *git.Repository, hash plumbing.Hash) (bool, error) {
	err := repo.Storer.HasEncodedObject(hash)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, plumbing.ErrObjectNotFound):
		return false, nil
	default:
		return false, cacheError(fmt.Errorf("look up object %s: %w", hash, err))
	}
}

var errNotCommit = errors.New("not a commit")

// peelToCommit follows annotated tags from hash to a commit.
func peelToCommit(repo *git.Repository, hash plumbing.Hash) (*object.Commit, error) {
	for range 16 {
		obj, err := object.GetObject(repo.Storer, hash)
		if err != nil {
			return nil, cacheError(fmt.Errorf("read object %s: %w", hash, err))
		}
		switch o := obj.(type) {
		case *object.Commit:
			return o, nil
		case *object.Tag:
			hash = o.Target
		default:
			return nil, fmt.Errorf("object %s is a %s: %w", hash, obj.Type(), errNotCommit)
		}
	}
	return nil, fmt.Errorf("object %s: too many nested tags: %w", hash, errNotCommit)
}

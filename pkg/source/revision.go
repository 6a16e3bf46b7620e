package source

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
)

// ErrAmbiguousRevision means a short SHA matches more than one commit.
var ErrAmbiguousRevision = errors.New("ambiguous revision")

// minShortSHA is the shortest hexadecimal prefix taken as an object name,
// as in Git.
const minShortSHA = 4

// Resolved is a revision resolved in a LocalRepo.
type Resolved struct {
	// Spec is the revision as given, e.g. "origin/main" or "HEAD~1".
	Spec string
	// Commit is the full SHA of the commit it names.
	Commit string
	// Revision is the Flux-style revision: "<spec>@sha1:<sha>", or
	// "sha1:<sha>" when spec is itself a full or short SHA.
	Revision string
}

// revisionError is a failed resolution: its message is for people (with
// the command that would fetch what is missing), kind is for errors.Is.
type revisionError struct {
	msg  string
	kind error
}

func (e *revisionError) Error() string { return e.msg }
func (e *revisionError) Unwrap() error { return e.kind }

// Resolve finds the commit that spec names, as `git rev-parse spec^{commit}`
// does, from what is in the repository (nothing is fetched):
//
//   - a full or short SHA (at least 4 hex digits; a short SHA that matches
//     several commits is an error listing them, wrapping
//     ErrAmbiguousRevision),
//   - a ref, tried as Git does: as given, refs/, refs/tags/, refs/heads/,
//     refs/remotes/ and refs/remotes/<name>/HEAD (so HEAD, main,
//     origin/main, v1.0, heads/main, refs/remotes/pull/7/merge all work);
//     FETCH_HEAD reads the first line Git wrote there; "@" is HEAD,
//   - followed by any chain of ~N and ^N (parent steps) and ^{commit} or
//     ^{} (peel).
//
// Annotated tags are peeled to their commit. Reflog forms (@{…}), ^{/text}
// searches and rev:path are not supported. A revision that is not in the
// repository, including a parent cut off by a shallow clone, wraps
// ErrRefNotFound and says which git fetch would bring it.
func (r *LocalRepo) Resolve(spec string) (*Resolved, error) {
	name, steps, err := splitRevision(spec)
	if err != nil {
		return nil, err
	}
	hash, bySHA, err := r.resolveName(spec, name)
	if err != nil {
		return nil, err
	}
	commit, err := r.commitOf(spec, name, hash)
	if err != nil {
		return nil, err
	}
	depth := 0
	for _, s := range steps {
		if s.op == '~' {
			depth += s.n
		} else if s.n > 0 {
			depth++
		}
	}
	for _, s := range steps {
		if commit, err = r.step(spec, commit, s, depth); err != nil {
			return nil, err
		}
	}
	rev := "sha1:" + commit.Hash.String()
	if !bySHA || len(steps) > 0 {
		rev = spec + "@" + rev
	}
	return &Resolved{Spec: spec, Commit: commit.Hash.String(), Revision: rev}, nil
}

// revStep is one ~N or ^N suffix; n is 0 for ^0 (the commit itself).
type revStep struct {
	op byte
	n  int
}

// splitRevision splits spec into the object name and its parent steps.
func splitRevision(spec string) (string, []revStep, error) {
	bad := func(why string) error {
		return fmt.Errorf("revision %q: %s", spec, why)
	}
	switch {
	case spec == "":
		return "", nil, errors.New("empty revision")
	case strings.Contains(spec, "@{"):
		return "", nil, bad("reflog and upstream forms (@{…}) are not supported: give a branch, tag or SHA")
	case strings.Contains(spec, ":"):
		return "", nil, bad("names a path in a commit, not a commit")
	case strings.ContainsAny(spec, " \t\n\r\\?*[") || strings.Contains(spec, "..") || strings.HasPrefix(spec, "-") || strings.HasPrefix(spec, "/"):
		return "", nil, bad("not a valid revision (a branch, tag, SHA or ref, optionally followed by ~N or ^N)")
	}
	for _, c := range spec {
		if c < 0x20 || c == 0x7f {
			return "", nil, bad("contains a control character")
		}
	}
	cut := strings.IndexAny(spec, "~^")
	if cut < 0 {
		cut = len(spec)
	}
	name, rest := spec[:cut], spec[cut:]
	if name == "" || name == "@" {
		name = "HEAD"
	}
	var steps []revStep
	for rest != "" {
		op := rest[0]
		rest = rest[1:]
		if op == '^' && strings.HasPrefix(rest, "{") {
			end := strings.IndexByte(rest, '}')
			if end < 0 {
				return "", nil, bad("unterminated ^{…}")
			}
			switch rest[1:end] {
			case "", "commit":
			default:
				return "", nil, bad(fmt.Sprintf("^{%s} is not supported: only ^{commit} and ^{}", rest[1:end]))
			}
			rest = rest[end+1:]
			continue
		}
		digits := len(rest) - len(strings.TrimLeft(rest, "0123456789"))
		n := 1
		if digits > 0 {
			var err error
			if n, err = strconv.Atoi(rest[:digits]); err != nil || n > 1<<20 {
				return "", nil, bad("step count out of range")
			}
		}
		steps = append(steps, revStep{op: op, n: n})
		rest = rest[digits:]
		if rest != "" && rest[0] != '~' && rest[0] != '^' {
			return "", nil, bad("not a valid revision (a branch, tag, SHA or ref, optionally followed by ~N or ^N)")
		}
	}
	return name, steps, nil
}

// resolveName returns the object that name (a SHA or a ref) points to, and
// whether name was taken as a SHA.
func (r *LocalRepo) resolveName(spec, name string) (plumbing.Hash, bool, error) {
	lower := strings.ToLower(name)
	// Like Git, a full SHA is always an object name, never a ref.
	if len(lower) == 40 && isHex(lower) {
		hash := plumbing.NewHash(lower)
		has, err := hasObject(r.repo, hash)
		if err != nil {
			return plumbing.ZeroHash, false, err
		}
		if !has {
			return plumbing.ZeroHash, false, r.missing(spec, lower)
		}
		return hash, true, nil
	}
	hash, err := r.resolveRef(spec, name)
	if err == nil || !errors.Is(err, errNoSuchRef) {
		return hash, false, err
	}
	if len(lower) >= minShortSHA && isHex(lower) {
		hash, err := r.resolveShort(spec, lower)
		return hash, err == nil, err
	}
	return plumbing.ZeroHash, false, r.missing(spec, name)
}

// errNoSuchRef means no ref has the name; it may still be a short SHA.
var errNoSuchRef = errors.New("no such ref")

// resolveRef resolves a ref name (or FETCH_HEAD); the error is
// errNoSuchRef when no ref has the name.
func (r *LocalRepo) resolveRef(spec, name string) (plumbing.Hash, error) {
	if name == "FETCH_HEAD" {
		return r.fetchHead(spec)
	}
	for _, rule := range plumbing.RefRevParseRules {
		ref, err := storer.ResolveReference(r.repo.Storer, plumbing.ReferenceName(fmt.Sprintf(rule, name)))
		if err == nil && ref.Type() == plumbing.HashReference {
			return ref.Hash(), nil
		}
	}
	return plumbing.ZeroHash, errNoSuchRef
}

// fetchHead reads the commit of the first line of FETCH_HEAD, which is what
// `git fetch origin main` leaves when it updates no ref.
func (r *LocalRepo) fetchHead(spec string) (plumbing.Hash, error) {
	f, err := os.Open(filepath.Join(r.gitDir, "FETCH_HEAD"))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return plumbing.ZeroHash, &revisionError{
				msg:  fmt.Sprintf("revision %q: nothing was fetched into %s yet", spec, r.top),
				kind: ErrRefNotFound,
			}
		}
		return plumbing.ZeroHash, fmt.Errorf("read FETCH_HEAD: %w", err)
	}
	defer f.Close()
	line, _ := bufio.NewReader(f).ReadString('\n')
	sha, _, _ := strings.Cut(line, "\t")
	if len(sha) != 40 || !isHex(sha) {
		return plumbing.ZeroHash, fmt.Errorf("revision %q: FETCH_HEAD does not start with a commit SHA", spec)
	}
	hash := plumbing.NewHash(sha)
	if has, err := hasObject(r.repo, hash); err != nil || !has {
		return plumbing.ZeroHash, errors.Join(err, r.missing(spec, sha))
	}
	return hash, nil
}

// resolveShort finds the one commit whose SHA starts with prefix. Trees and
// blobs that share the prefix do not make it ambiguous, as for Git's
// commit-ish arguments.
func (r *LocalRepo) resolveShort(spec, prefix string) (plumbing.Hash, error) {
	hashes, err := r.hashesWithPrefix(prefix)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	var commits []plumbing.Hash
	var others []string
	for _, h := range hashes {
		obj, err := r.repo.Storer.EncodedObject(plumbing.AnyObject, h)
		if err != nil {
			continue
		}
		if _, err := peelToCommit(r.repo, h); err == nil {
			commits = append(commits, h)
		} else {
			others = append(others, h.String()[:12]+" "+obj.Type().String())
		}
	}
	switch {
	case len(commits) == 1:
		return commits[0], nil
	case len(commits) > 1:
		var list []string
		for _, h := range commits {
			list = append(list, r.describe(h))
		}
		slices.Sort(list)
		return plumbing.ZeroHash, &revisionError{
			msg: fmt.Sprintf("short SHA %q is ambiguous: it matches %s; give more digits",
				spec, strings.Join(list, "; ")),
			kind: ErrAmbiguousRevision,
		}
	case len(others) > 0:
		return plumbing.ZeroHash, fmt.Errorf("revision %q names %s, not a commit", spec, strings.Join(others, ", "))
	}
	return plumbing.ZeroHash, r.missing(spec, prefix)
}

// hashesWithPrefix lists the objects whose SHA starts with the hex prefix.
func (r *LocalRepo) hashesWithPrefix(prefix string) ([]plumbing.Hash, error) {
	even := prefix[:len(prefix)&^1]
	raw := make([]byte, len(even)/2)
	for i := range raw {
		b, err := strconv.ParseUint(even[2*i:2*i+2], 16, 8)
		if err != nil {
			return nil, fmt.Errorf("short SHA %q: %w", prefix, err)
		}
		raw[i] = byte(b)
	}
	var hashes []plumbing.Hash
	if fast, ok := r.repo.Storer.(interface {
		HashesWithPrefix([]byte) ([]plumbing.Hash, error)
	}); ok {
		found, err := fast.HashesWithPrefix(raw)
		if err != nil {
			return nil, fmt.Errorf("look up short SHA %q: %w", prefix, err)
		}
		hashes = found
	} else {
		iter, err := r.repo.Storer.IterEncodedObjects(plumbing.AnyObject)
		if err != nil {
			return nil, fmt.Errorf("look up short SHA %q: %w", prefix, err)
		}
		err = iter.ForEach(func(o plumbing.EncodedObject) error {
			hashes = append(hashes, o.Hash())
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("look up short SHA %q: %w", prefix, err)
		}
	}
	var out []plumbing.Hash
	for _, h := range hashes {
		if strings.HasPrefix(h.String(), prefix) && !slices.Contains(out, h) {
			out = append(out, h)
		}
	}
	return out, nil
}

// describe is "<short sha> commit <date> <subject>" (or "tag <name>"), as
// Git lists the candidates of an ambiguous SHA.
func (r *LocalRepo) describe(h plumbing.Hash) string {
	short := h.String()[:12]
	if tag, err := object.GetTag(r.repo.Storer, h); err == nil {
		return short + " tag " + tag.Name
	}
	c, err := object.GetCommit(r.repo.Storer, h)
	if err != nil {
		return short
	}
	subject, _, _ := strings.Cut(strings.TrimSpace(c.Message), "\n")
	if len(subject) > 60 {
		subject = strings.ToValidUTF8(subject[:60], "") + "…"
	}
	return fmt.Sprintf("%s commit %s %s", short, c.Committer.When.UTC().Format("2006-01-02"), subject)
}

// commitOf peels the object hash (named by name) to a commit.
func (r *LocalRepo) commitOf(spec, name string, hash plumbing.Hash) (*object.Commit, error) {
	has, err := hasObject(r.repo, hash)
	if err != nil {
		return nil, err
	}
	if !has {
		return nil, r.missing(spec, name)
	}
	commit, err := peelToCommit(r.repo, hash)
	switch {
	case errors.Is(err, errNotCommit):
		return nil, fmt.Errorf("revision %q: %w", spec, err)
	case err != nil:
		// A tag whose target was not fetched.
		return nil, errors.Join(r.missing(spec, name), err)
	}
	return commit, nil
}

// step applies one ~N or ^N to commit. depth is how many generations spec
// walks in all, for the hint when a shallow clone lacks them.
func (r *LocalRepo) step(spec string, commit *object.Commit, s revStep, depth int) (*object.Commit, error) {
	if s.n == 0 {
		return commit, nil
	}
	count, nth := 1, s.n
	if s.op == '~' {
		count, nth = s.n, 1
	}
	for range count {
		if nth > len(commit.ParentHashes) {
			if len(commit.ParentHashes) == 0 {
				return nil, fmt.Errorf("revision %q: commit %s has no parent (it is the first commit)", spec, commit.Hash)
			}
			return nil, fmt.Errorf("revision %q: commit %s has %d parent(s), not %d", spec, commit.Hash, len(commit.ParentHashes), nth)
		}
		parent := commit.ParentHashes[nth-1]
		has, err := hasObject(r.repo, parent)
		if err != nil {
			return nil, err
		}
		// Like Git, a shallow clone's boundary commits have no parents, even
		// when a parent was fetched on its own.
		if !has || r.isShallow(commit.Hash) {
			return nil, &revisionError{
				msg: fmt.Sprintf("revision %q: the parent of commit %s is not in %s (a shallow clone): deepen it first: git fetch --deepen=%d %s",
					spec, commit.Hash, r.top, depth, r.defaultRemote()),
				kind: ErrRefNotFound,
			}
		}
		if commit, err = object.GetCommit(r.repo.Storer, parent); err != nil {
			return nil, fmt.Errorf("revision %q: read commit %s: %w", spec, parent, err)
		}
	}
	return commit, nil
}

// isShallow reports whether commit is a boundary of a shallow clone.
func (r *LocalRepo) isShallow(commit plumbing.Hash) bool {
	shallow, err := r.repo.Storer.Shallow()
	return err == nil && slices.Contains(shallow, commit)
}

// missing is the error for a revision that is not in the repository,
// with the git fetch that would bring it.
func (r *LocalRepo) missing(spec, name string) error {
	where := r.top
	if shallow, err := r.repo.Storer.Shallow(); err == nil && len(shallow) > 0 {
		where += " (a shallow clone: it holds only what was fetched)"
	}
	msg := fmt.Sprintf("revision %q is not in the repository at %s", spec, where)
	if hint := r.fetchHint(name); hint != "" {
		msg += "; " + hint
	}
	return &revisionError{msg: msg, kind: ErrRefNotFound}
}

// fetchHint says how to bring name into the repository.
func (r *LocalRepo) fetchHint(name string) string {
	remotes := r.remoteNames()
	def := r.defaultRemote()
	fetch := func(remote, what string) string {
		return fmt.Sprintf("fetch it first: git fetch --depth=1 %s %s", remote, what)
	}
	// The default remote counts even when it is not configured (a repository
	// made with git init): "origin/main" still means origin's main.
	isRemote := func(n string) bool { return n == def || slices.Contains(remotes, n) }
	switch {
	case name == "HEAD":
		return "the repository has no commit checked out yet"
	case len(name) == 40 && isHex(name):
		return fetch(def, name)
	case isHex(name) && len(name) >= minShortSHA:
		return "give the full SHA, or fetch the branch that holds it: git fetch --depth=1 " + def + " BRANCH"
	case strings.HasPrefix(name, "refs/heads/"):
		return r.fetchBranch(def, strings.TrimPrefix(name, "refs/heads/"), name)
	case strings.HasPrefix(name, "refs/tags/"):
		return fetch(def, "tag "+strings.TrimPrefix(name, "refs/tags/"))
	case strings.HasPrefix(name, "refs/remotes/"):
		rest := strings.TrimPrefix(name, "refs/remotes/")
		if remote, branch, ok := strings.Cut(rest, "/"); ok && isRemote(remote) {
			return r.fetchBranch(remote, branch, name)
		}
		// Not a configured remote: a ref fetched by hand, such as GitHub's
		// pull request merge ref.
		return fetch(def, "+refs/"+rest+":"+name)
	case strings.HasPrefix(name, "refs/"):
		return fetch(def, "+"+name+":"+name)
	}
	if remote, branch, ok := strings.Cut(name, "/"); ok && isRemote(remote) {
		return r.fetchBranch(remote, branch, name)
	}
	for _, remote := range remotes {
		ref := plumbing.NewRemoteReferenceName(remote, name)
		if _, err := r.repo.Storer.Reference(ref); err == nil {
			return fmt.Sprintf("there is no local branch %s, but there is %s/%s: give that", name, remote, name)
		}
	}
	return r.fetchBranch(def, name, "")
}

// fetchBranch is the fetch that stores branch of remote as its
// remote-tracking branch. The short form (git fetch origin main) only does
// so when the remote's refspecs cover the branch; a single-branch clone
// (git clone --depth 1) has a refspec for its own branch alone, so the
// hint spells the destination out there. given is how the user named the
// branch; when it is not the remote-tracking name, the hint says to use that.
func (r *LocalRepo) fetchBranch(remote, branch, given string) string {
	tracking := plumbing.NewRemoteReferenceName(remote, branch)
	what := branch
	if !r.refspecCovers(remote, plumbing.NewBranchReferenceName(branch), tracking) {
		what = branch + ":" + tracking.String()
	}
	hint := fmt.Sprintf("fetch it first: git fetch --depth=1 %s %s", remote, what)
	if given != tracking.String() && given != remote+"/"+branch {
		hint += fmt.Sprintf(", then give %s/%s", remote, branch)
	}
	return hint
}

// refspecCovers reports whether remote's fetch refspecs map src to dst.
func (r *LocalRepo) refspecCovers(remote string, src, dst plumbing.ReferenceName) bool {
	cfg, err := r.repo.Config()
	if err != nil {
		return false
	}
	rc, ok := cfg.Remotes[remote]
	if !ok {
		return false
	}
	for _, spec := range rc.Fetch {
		if spec.Match(src) && spec.Dst(src) == dst {
			return true
		}
	}
	return false
}

// remoteNames lists the configured remotes, sorted.
func (r *LocalRepo) remoteNames() []string {
	cfg, err := r.repo.Config()
	if err != nil {
		return nil
	}
	var names []string
	for n := range cfg.Remotes {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// defaultRemote is "origin", else the only remote, else "origin".
func (r *LocalRepo) defaultRemote() string {
	names := r.remoteNames()
	if len(names) == 1 {
		return names[0]
	}
	return "origin"
}

func isHex(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

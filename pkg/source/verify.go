package source

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	pgperrors "github.com/ProtonMail/go-crypto/openpgp/errors"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// Reasons a signature is refused; a *VerificationError wraps one of them.
var (
	// ErrUnsigned: the commit or tag carries no signature (a lightweight
	// tag cannot carry one).
	ErrUnsigned = errors.New("not signed")
	// ErrUntrustedSigner: the signature was made by a key that is not
	// among the trusted keys.
	ErrUntrustedSigner = errors.New("signed by an untrusted key")
	// ErrBadSignature: the signature does not match the object (it was
	// tampered with, or made over other content) or cannot be read.
	ErrBadSignature = errors.New("bad signature")
	// ErrKeyExpired: the trusted key that made the signature has expired
	// (OpenPGP: as go-crypto reports it, at the time of verification), or
	// the signature falls outside the validity of its allowed_signers line.
	ErrKeyExpired = errors.New("signing key expired")
	// ErrKeyRevoked: the trusted OpenPGP key that made the signature is
	// revoked.
	ErrKeyRevoked = errors.New("signing key revoked")
)

// VerifyMode says what must carry a good signature.
type VerifyMode string

// Verification modes, spelled as IntentSync's spec.source.verify.mode.
const (
	// VerifyHEAD checks the commit to apply (the default).
	VerifyHEAD VerifyMode = "HEAD"
	// VerifyTag checks the annotated tag that was fetched.
	VerifyTag VerifyMode = "Tag"
	// VerifyTagAndHEAD checks both.
	VerifyTagAndHEAD VerifyMode = "TagAndHEAD"
)

// ParseVerifyMode reads a mode; "" is VerifyHEAD.
func ParseVerifyMode(s string) (VerifyMode, error) {
	switch VerifyMode(s) {
	case "", VerifyHEAD:
		return VerifyHEAD, nil
	case VerifyTag, VerifyTagAndHEAD:
		return VerifyMode(s), nil
	}
	return "", fmt.Errorf("verify mode %q: want HEAD, Tag or TagAndHEAD", s)
}

func (m VerifyMode) commit() bool { return m == "" || m == VerifyHEAD || m == VerifyTagAndHEAD }
func (m VerifyMode) tag() bool    { return m == VerifyTag || m == VerifyTagAndHEAD }

// VerificationError says why an object's signature was refused. Errors
// wrap one of ErrUnsigned, ErrUntrustedSigner, ErrBadSignature,
// ErrKeyExpired and ErrKeyRevoked, for errors.Is.
type VerificationError struct {
	// Object is "commit <sha>" or "tag <name> (<sha>)".
	Object string
	// Signer is the key found on the signature, as far as it can be told
	// without trusting it ("SSH key SHA256:…", "OpenPGP key <fingerprint>",
	// or a trusted key's identity); empty when unsigned or unreadable.
	Signer string
	// Reason is the sentinel error.
	Reason error
	// Detail explains a bad signature or an expiry; may be empty.
	Detail string
}

// Error is one line naming the object and the signer found.
func (e *VerificationError) Error() string {
	var b strings.Builder
	b.WriteString(e.Object)
	switch {
	case errors.Is(e.Reason, ErrUnsigned):
		b.WriteString(" is not signed")
	case errors.Is(e.Reason, ErrUntrustedSigner):
		fmt.Fprintf(&b, " is signed by %s, which is not a trusted key", e.Signer)
	case errors.Is(e.Reason, ErrBadSignature):
		b.WriteString(" has a bad signature")
		if e.Signer != "" {
			b.WriteString(" by " + e.Signer)
		}
	case errors.Is(e.Reason, ErrKeyExpired):
		fmt.Fprintf(&b, " is signed by %s, whose key has expired", e.Signer)
	case errors.Is(e.Reason, ErrKeyRevoked):
		fmt.Fprintf(&b, " is signed by %s, whose key is revoked", e.Signer)
	default:
		fmt.Fprintf(&b, ": %v", e.Reason)
	}
	if e.Detail != "" {
		b.WriteString(": " + e.Detail)
	}
	return b.String()
}

// Unwrap returns the sentinel.
func (e *VerificationError) Unwrap() error { return e.Reason }

// VerifyCommit checks that c carries a good signature by a key of k and
// returns the signer's name: an OpenPGP identity and fingerprint, or the
// allowed_signers principals and SSH fingerprint. The errors are
// *VerificationError.
func (k *KeyRing) VerifyCommit(c *object.Commit) (string, error) {
	obj := &plumbing.MemoryObject{}
	if err := c.EncodeWithoutSignature(obj); err != nil {
		return "", fmt.Errorf("encode commit %s: %w", c.Hash, err)
	}
	return k.verify("commit "+c.Hash.String(), obj, c.PGPSignature, c.Committer.When)
}

// VerifyTag is VerifyCommit for an annotated tag.
func (k *KeyRing) VerifyTag(t *object.Tag) (string, error) {
	obj := &plumbing.MemoryObject{}
	if err := t.EncodeWithoutSignature(obj); err != nil {
		return "", fmt.Errorf("encode tag %s: %w", t.Name, err)
	}
	return k.verify(fmt.Sprintf("tag %s (%s)", t.Name, t.Hash), obj, t.PGPSignature, t.Tagger.When)
}

// verify checks signature over the payload of obj, made at when (the
// committer's or tagger's date, which the validity of an allowed_signers
// line is checked against, as git does).
func (k *KeyRing) verify(what string, obj *plumbing.MemoryObject, signature string, when time.Time) (string, error) {
	fail := func(reason error, signer, detail string) (string, error) {
		return "", &VerificationError{Object: what, Signer: signer, Reason: reason, Detail: detail}
	}
	sig := strings.TrimSpace(signature)
	if sig == "" {
		return fail(ErrUnsigned, "", "")
	}
	if n := strings.Count(sig, "-----BEGIN "); n > 1 {
		return fail(ErrBadSignature, "", fmt.Sprintf("%d signatures where one is expected", n))
	}
	r, err := obj.Reader()
	if err != nil {
		return "", fmt.Errorf("read %s: %w", what, err)
	}
	payload, err := io.ReadAll(r)
	if err != nil {
		return "", fmt.Errorf("read %s: %w", what, err)
	}
	switch {
	case strings.HasPrefix(sig, "-----BEGIN PGP SIGNATURE-----"):
		signer, refused := k.verifyPGP(payload, sig)
		if refused != nil {
			refused.Object = what
			return "", refused
		}
		return signer, nil
	case strings.HasPrefix(sig, sshSigHeader):
		signer, refused := k.verifySSH(payload, sig, when)
		if refused != nil {
			refused.Object = what
			return "", refused
		}
		return signer, nil
	default:
		first, _, _ := strings.Cut(sig, "\n")
		return fail(ErrBadSignature, "", fmt.Sprintf("unsupported signature format %q (OpenPGP and SSH signatures are)", first))
	}
}

// verifyPGP checks an armored OpenPGP signature. It returns the signer's
// name or, on failure, the refusal without its Object.
func (k *KeyRing) verifyPGP(payload []byte, armored string) (signer string, refused *VerificationError) {
	issuer, keyID, err := pgpIssuer(armored)
	if err != nil {
		return "", &VerificationError{Reason: ErrBadSignature, Detail: err.Error()}
	}
	entity, err := openpgp.CheckArmoredDetachedSignature(k.pgp, bytes.NewReader(payload), strings.NewReader(armored), nil)
	signer = issuer
	if entity != nil {
		signer = pgpName(entity)
	} else if keys := k.pgp.KeysById(keyID); len(keys) > 0 {
		// A trusted key whose signature does not match: name it.
		signer = pgpName(keys[0].Entity)
	}
	switch {
	case err == nil:
		return signer, nil
	case errors.Is(err, pgperrors.ErrUnknownIssuer):
		return "", &VerificationError{Signer: issuer, Reason: ErrUntrustedSigner}
	case errors.Is(err, pgperrors.ErrKeyExpired):
		return "", &VerificationError{Signer: signer, Reason: ErrKeyExpired, Detail: pgpExpiry(entity)}
	case errors.Is(err, pgperrors.ErrSignatureExpired):
		return "", &VerificationError{Signer: signer, Reason: ErrKeyExpired, Detail: "the signature itself has expired"}
	case errors.Is(err, pgperrors.ErrKeyRevoked):
		return "", &VerificationError{Signer: signer, Reason: ErrKeyRevoked}
	default:
		return "", &VerificationError{Signer: signer, Reason: ErrBadSignature, Detail: err.Error()}
	}
}

// pgpIssuer names the key an armored OpenPGP signature says made it (its
// fingerprint when the signature carries one, else its key ID) and returns
// its key ID.
func pgpIssuer(armored string) (string, uint64, error) {
	block, err := armor.Decode(strings.NewReader(armored))
	if err != nil {
		return "", 0, fmt.Errorf("unreadable OpenPGP signature: %w", err)
	}
	p, err := packet.Read(block.Body)
	if err != nil {
		return "", 0, fmt.Errorf("unreadable OpenPGP signature: %w", err)
	}
	sig, ok := p.(*packet.Signature)
	if !ok || sig.IssuerKeyId == nil {
		return "", 0, errors.New("unreadable OpenPGP signature: no signature packet naming its issuer")
	}
	if len(sig.IssuerFingerprint) > 0 {
		return "OpenPGP key " + strings.ToUpper(hex.EncodeToString(sig.IssuerFingerprint)), *sig.IssuerKeyId, nil
	}
	return fmt.Sprintf("OpenPGP key %016X", *sig.IssuerKeyId), *sig.IssuerKeyId, nil
}

// pgpExpiry says when e's primary key expired, if it can tell.
func pgpExpiry(e *openpgp.Entity) string {
	if e == nil {
		return ""
	}
	self, _ := e.PrimarySelfSignature()
	if self == nil || self.KeyLifetimeSecs == nil || *self.KeyLifetimeSecs == 0 {
		return ""
	}
	at := e.PrimaryKey.CreationTime.Add(time.Duration(*self.KeyLifetimeSecs) * time.Second)
	return "expired " + at.UTC().Format(time.RFC3339)
}

// verifySSH checks an armored SSH signature in the git namespace.
func (k *KeyRing) verifySSH(payload []byte, armored string, when time.Time) (signer string, refused *VerificationError) {
	sig, err := parseSSHSig(armored)
	if err != nil {
		return "", &VerificationError{Reason: ErrBadSignature, Detail: err.Error()}
	}
	found := sshName(sig.key)
	var line *allowedSigner
	var validity error
	for i := range k.ssh {
		s := &k.ssh[i]
		if !bytes.Equal(s.key.Marshal(), sig.key.Marshal()) {
			continue
		}
		ok, err := s.trusts(gitSigNamespace, when)
		if !ok {
			continue
		}
		line, validity = s, err
		if err == nil {
			break
		}
	}
	if line == nil {
		return "", &VerificationError{Signer: found, Reason: ErrUntrustedSigner}
	}
	signer = fmt.Sprintf("%s (%s)", line.principals, found)
	if err := sig.verify(payload, gitSigNamespace); err != nil {
		return "", &VerificationError{Signer: signer, Reason: ErrBadSignature, Detail: err.Error()}
	}
	if validity != nil {
		return "", &VerificationError{Signer: signer, Reason: ErrKeyExpired, Detail: validity.Error()}
	}
	return signer, nil
}

// VerifyOptions say what Fetcher.Verify checks.
type VerifyOptions struct {
	// Mode says what must be signed; "" is VerifyHEAD. The tag modes need
	// an artifact fetched with Ref.Tag.
	Mode VerifyMode
	// Keys are the trusted keys; nil trusts nobody.
	Keys *KeyRing
}

// Verified says who signed a verified artifact.
type Verified struct {
	// Commit is the commit's SHA.
	Commit string
	// CommitSigner names the commit's signer; empty when the mode did not
	// check the commit.
	CommitSigner string
	// Tag is the name of the annotated tag checked; empty when none was.
	Tag string
	// TagSigner names the tag's signer.
	TagSigner string
}

// String is "<sha> by <signer>", the commit's signer first, then the tag's:
// "<sha> by <signer> (tag v1 by <signer>)", or "<sha> (tag v1 by
// <signer>)" in Tag mode.
func (v *Verified) String() string {
	s := v.Commit
	if v.CommitSigner != "" {
		s += " by " + v.CommitSigner
	}
	if v.Tag != "" {
		s += fmt.Sprintf(" (tag %s by %s)", v.Tag, v.TagSigner)
	}
	return s
}

// Verify checks the signatures of art, which Fetch returned for opts, as
// v says: the commit, the annotated tag opts.Ref.Tag, or both. The objects
// are read from the cache; one the cache lacks (a tree served from a
// cache whose repository was rebuilt) is fetched again with opts.
//
// A refused signature is a *VerificationError, wrapped with nothing, so
// that its message is one line naming the commit or tag and the signer
// found. Other errors (the cache, the network, a tag mode without a tag)
// never contain credentials.
func (f *Fetcher) Verify(ctx context.Context, opts Options, art *Artifact, v VerifyOptions) (*Verified, error) {
	if v.Mode.tag() && opts.Ref.Tag == "" {
		return nil, fmt.Errorf("verify mode %s needs a tag to be fetched, not %s", v.Mode, opts.Ref)
	}
	res, err := f.verify(ctx, opts, art, v)
	if _, ok := errors.AsType[*VerificationError](err); ok || err == nil {
		return res, err
	}
	return nil, redact(fmt.Errorf("verify %s (%s): %w", displayURL(opts.URL), opts.Ref, err), secretsOf(opts))
}

func (f *Fetcher) verify(ctx context.Context, opts Options, art *Artifact, v VerifyOptions) (*Verified, error) {
	op, unlock, err := f.newOp(ctx, opts, Ref{Commit: art.Commit})
	if err != nil {
		return nil, err
	}
	// Signatures are read from the objects, so a cached tree is not enough.
	op.objects = true
	defer op.release(unlock)

	res := &Verified{Commit: art.Commit}
	commitHash := plumbing.NewHash(art.Commit)
	if v.Mode.commit() {
		repo, err := op.withObject(ctx, commitHash, nil)
		if err != nil {
			return nil, err
		}
		c, err := object.GetCommit(repo.Storer, commitHash)
		if err != nil {
			return nil, cacheError(fmt.Errorf("read commit %s: %w", commitHash, err))
		}
		if res.CommitSigner, err = v.Keys.VerifyCommit(c); err != nil {
			return nil, err
		}
	}
	if v.Mode.tag() {
		res.Tag = opts.Ref.Tag
		if res.TagSigner, err = op.verifyTag(ctx, opts.Ref.Tag, art, v.Keys); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// withObject returns the cached repository once it holds hash: when it
// does not, the commit (nil tag) is fetched as Fetch fetches a commit, or
// the tag ref.
func (op *fetchOp) withObject(ctx context.Context, hash plumbing.Hash, tag *plumbing.ReferenceName) (*git.Repository, error) {
	repo, _, err := op.openRepo()
	if err != nil {
		return nil, err
	}
	if has, err := hasObject(repo, hash); err != nil || has {
		return repo, err
	}
	if tag == nil {
		if _, _, err := op.runCommit(ctx); err != nil {
			return nil, err
		}
		return op.reopen()
	}
	depth, err := op.depthFor(repo, *tag)
	if err != nil {
		return nil, err
	}
	if err := op.fetchRefs(ctx, repo, depth, refSpec(*tag)); err != nil {
		return nil, err
	}
	return op.reopen()
}

func (op *fetchOp) reopen() (*git.Repository, error) {
	repo, err := git.PlainOpen(op.gitDir())
	if err != nil {
		return nil, cacheError(fmt.Errorf("open cache: %w", err))
	}
	return repo, nil
}

// verifyTag checks the annotated tag name, which must point to art's
// commit. The tag is looked up on the remote, as Fetch did: a cached tag
// ref may be stale (a tag re-made on the same commit).
func (op *fetchOp) verifyTag(ctx context.Context, name string, art *Artifact, keys *KeyRing) (string, error) {
	commit := plumbing.NewHash(art.Commit)
	refs, err := op.list(ctx)
	if err != nil {
		return "", err
	}
	ref, hash, peeled, err := findRef(refs, Ref{Tag: name})
	if err != nil {
		return "", err
	}
	if hash == commit {
		return "", &VerificationError{Object: fmt.Sprintf("tag %s (%s)", name, commit), Reason: ErrUnsigned,
			Detail: "a lightweight tag cannot be signed; make an annotated one with git tag -s"}
	}
	if peeled != hash && peeled != commit {
		return "", fmt.Errorf("%w: tag %s moved since it was fetched (now %s); try again", ErrUnreachable, name, peeled)
	}
	repo, err := op.withObject(ctx, hash, &ref)
	if err != nil {
		return "", err
	}
	if has, err := hasObject(repo, hash); err != nil {
		return "", err
	} else if !has {
		return "", fmt.Errorf("%w: tag %s moved while it was fetched; try again", ErrUnreachable, name)
	}
	obj, err := object.GetObject(repo.Storer, hash)
	if err != nil {
		return "", cacheError(fmt.Errorf("read tag %s: %w", name, err))
	}
	tag, ok := obj.(*object.Tag)
	if !ok {
		// A lightweight tag, now of another commit.
		return "", fmt.Errorf("%w: tag %s moved since it was fetched (now %s); try again", ErrUnreachable, name, hash)
	}
	target, err := peelToCommit(repo, hash)
	if err != nil {
		return "", err
	}
	if target.Hash != commit {
		return "", fmt.Errorf("%w: tag %s moved since it was fetched (now %s); try again", ErrUnreachable, name, target.Hash)
	}
	return keys.VerifyTag(tag)
}

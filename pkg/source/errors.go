package source

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"syscall"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	"golang.org/x/crypto/ssh/knownhosts"
)

var (
	// ErrAuthFailed means the remote rejected the credentials, or required
	// credentials that were not given.
	ErrAuthFailed = errors.New("authentication failed")
	// ErrRefNotFound means the repository, branch, tag or commit does not
	// exist on the remote (or is hidden from these credentials).
	ErrRefNotFound = errors.New("not found")
	// ErrUnreachable means the remote could not be reached, did not answer
	// in time or failed on its side; retrying later may help.
	ErrUnreachable = errors.New("remote unreachable")
	// ErrUntrustedHostKey means the SSH server's host key is not the one
	// listed for it in known_hosts, or is not listed at all.
	ErrUntrustedHostKey = errors.New("ssh host key not trusted by known_hosts")
)

// isClassified reports whether err is one of the package's sentinel
// errors or a context error.
func isClassified(err error) bool {
	for _, target := range []error{ErrAuthFailed, ErrRefNotFound, ErrUnreachable, ErrUntrustedHostKey, context.Canceled, context.DeadlineExceeded} {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}

// classify maps transport errors to the package's sentinel errors, keeping
// the original error in the chain.
func classify(err error) error {
	if err == nil || isClassified(err) {
		return err
	}
	if sentinel := sentinelFor(err); sentinel != nil {
		return fmt.Errorf("%w: %w", sentinel, err)
	}
	return err
}

func sentinelFor(err error) error {
	var keyErr *knownhosts.KeyError
	var httpErr *githttp.Err
	var opErr *net.OpError
	var dnsErr *net.DNSError
	msg := err.Error()
	switch {
	case errors.As(err, &keyErr), strings.Contains(msg, "knownhosts: key"):
		return ErrUntrustedHostKey
	case errors.Is(err, transport.ErrAuthenticationRequired),
		errors.Is(err, transport.ErrAuthorizationFailed),
		strings.Contains(msg, "ssh: unable to authenticate"):
		return ErrAuthFailed
	case errors.Is(err, transport.ErrRepositoryNotFound),
		errors.Is(err, transport.ErrEmptyRemoteRepository),
		errors.Is(err, plumbing.ErrReferenceNotFound),
		errors.Is(err, git.NoMatchingRefSpecError{}):
		return ErrRefNotFound
	case errors.As(err, &httpErr) && httpErr.StatusCode() >= 500,
		errors.As(err, &opErr), errors.As(err, &dnsErr),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return ErrUnreachable
	}
	return nil
}

// cacheErr marks an error caused by the local cache, which a fresh clone
// may fix.
type cacheErr struct{ err error }

func (e *cacheErr) Error() string { return e.err.Error() }
func (e *cacheErr) Unwrap() error { return e.err }

func cacheError(err error) error { return &cacheErr{err: err} }

func isCacheError(err error) bool {
	var ce *cacheErr
	return errors.As(err, &ce)
}

// redactedErr replaces secrets in the message of err while keeping err in
// the chain for errors.Is and errors.As.
type redactedErr struct {
	msg string
	err error
}

func (e *redactedErr) Error() string { return e.msg }
func (e *redactedErr) Unwrap() error { return e.err }

// redact returns err with every secret removed from its message.
func redact(err error, secrets []string) error {
	msg := err.Error()
	clean := msg
	for _, s := range secrets {
		if s != "" {
			clean = strings.ReplaceAll(clean, s, "***")
		}
	}
	if clean == msg {
		return err
	}
	return &redactedErr{msg: clean, err: err}
}

// secretsOf lists the credential strings that must never appear in errors.
func secretsOf(opts Options) []string {
	var secrets []string
	if _, pass := urlUserinfo(opts.URL); pass != "" {
		secrets = append(secrets, pass)
		if unescaped, err := unescapeUserinfo(pass); err == nil && unescaped != pass {
			secrets = append(secrets, unescaped)
		}
	}
	if a := opts.Auth; a != nil {
		secrets = append(secrets, a.Password, a.BearerToken, a.SSHPassphrase)
	}
	// Replace longer secrets first so that one containing another is fully
	// hidden.
	slices.SortFunc(secrets, func(a, b string) int { return len(b) - len(a) })
	return secrets
}

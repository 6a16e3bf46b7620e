package source

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"golang.org/x/crypto/ssh"
)

// Armor headers of the key formats ParseKeyRing reads.
const (
	pgpPublicKeyHeader  = "-----BEGIN PGP PUBLIC KEY BLOCK-----"
	pgpPrivateKeyHeader = "-----BEGIN PGP PRIVATE KEY BLOCK-----"
)

// maxKeyFileSize bounds one trusted-key file (a Secret is at most 1 MiB).
const maxKeyFileSize = 1 << 20

// KeyFile is one source of trusted keys: a file or a Secret's key.
type KeyFile struct {
	// Name says where Data comes from in errors, e.g. "keys/alice.asc" or
	// "secret ns/name key alice".
	Name string
	// Data holds ASCII-armored OpenPGP public keys (one or more blocks), or
	// SSH signing keys in allowed_signers format.
	Data []byte
}

// KeyRing is a set of trusted signing keys: OpenPGP public keys and SSH
// keys with the principals of their allowed_signers line. The zero value
// trusts nobody. A KeyRing is read-only once made and safe for concurrent
// use.
type KeyRing struct {
	pgp openpgp.EntityList
	ssh []allowedSigner
}

// allowedSigner is one line of an allowed_signers file (see ssh-keygen(1),
// ALLOWED SIGNERS).
type allowedSigner struct {
	// source is "<file>:<line>", for errors.
	source     string
	principals string
	key        ssh.PublicKey
	// namespaces, when set, are the only signature namespaces the key is
	// trusted for.
	namespaces []string
	// validAfter and validBefore bound the signing time, when set.
	validAfter, validBefore time.Time
}

// ParseKeyRing reads trusted keys from files. A file that holds an armored
// OpenPGP public key block is read as OpenPGP keys, any other as an
// allowed_signers file. An empty file, a private key, a malformed line or
// an allowed_signers option it does not know is an error naming the file
// (and line); so is a set of files that holds no key at all.
func ParseKeyRing(files ...KeyFile) (*KeyRing, error) {
	kr := &KeyRing{}
	for _, f := range files {
		if len(f.Data) > maxKeyFileSize {
			return nil, fmt.Errorf("trusted keys %s: larger than %d bytes", f.Name, maxKeyFileSize)
		}
		switch {
		case bytes.Contains(f.Data, []byte(pgpPrivateKeyHeader)):
			return nil, fmt.Errorf("trusted keys %s: holds an OpenPGP private key; give the public key (gpg --armor --export)", f.Name)
		case bytes.Contains(f.Data, []byte(pgpPublicKeyHeader)):
			el, err := parseArmoredKeys(f.Data)
			if err != nil {
				return nil, fmt.Errorf("trusted keys %s: %w", f.Name, err)
			}
			kr.pgp = append(kr.pgp, el...)
		default:
			signers, err := parseAllowedSigners(f.Name, f.Data)
			if err != nil {
				return nil, err
			}
			if len(signers) == 0 {
				return nil, fmt.Errorf("trusted keys %s: no OpenPGP public key block and no allowed_signers line", f.Name)
			}
			kr.ssh = append(kr.ssh, signers...)
		}
	}
	if kr.Len() == 0 {
		return nil, errors.New("no trusted keys given")
	}
	return kr, nil
}

// Len counts the trusted keys: OpenPGP primary keys and allowed_signers
// lines.
func (k *KeyRing) Len() int {
	if k == nil {
		return 0
	}
	return len(k.pgp) + len(k.ssh)
}

// parseArmoredKeys reads every armored public key block of data (gpg
// --export of several keys writes one block; files concatenated write
// several).
func parseArmoredKeys(data []byte) (openpgp.EntityList, error) {
	var all openpgp.EntityList
	rest := data
	for {
		i := bytes.Index(rest, []byte(pgpPublicKeyHeader))
		if i < 0 {
			break
		}
		rest = rest[i:]
		next := bytes.Index(rest[len(pgpPublicKeyHeader):], []byte(pgpPublicKeyHeader))
		block := rest
		if next >= 0 {
			block = rest[:len(pgpPublicKeyHeader)+next]
		}
		el, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(block))
		if err != nil {
			return nil, fmt.Errorf("reading OpenPGP public key block %d: %w", len(all)+1, err)
		}
		all = append(all, el...)
		if next < 0 {
			break
		}
		rest = rest[len(pgpPublicKeyHeader)+next:]
	}
	return all, nil
}

// parseAllowedSigners reads an allowed_signers file: lines of
// "principals [options] keytype base64-key [comment]", blank lines and
// #-comments. The options namespaces, valid-after and valid-before are
// honoured; cert-authority (certificates) is refused, as is any other
// option, rather than silently trusting a key more widely than its line
// says.
func parseAllowedSigners(name string, data []byte) ([]allowedSigner, error) {
	var out []allowedSigner
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		src := fmt.Sprintf("%s:%d", name, i+1)
		principals, rest, err := splitPrincipals(line)
		if err != nil {
			return nil, fmt.Errorf("trusted keys %s: %w", src, err)
		}
		key, _, options, _, err := ssh.ParseAuthorizedKey([]byte(rest))
		if err != nil {
			return nil, fmt.Errorf("trusted keys %s: not an allowed_signers line (principals [options] keytype base64-key): %w", src, err)
		}
		s := allowedSigner{source: src, principals: principals, key: key}
		for _, opt := range options {
			if err := s.setOption(opt); err != nil {
				return nil, fmt.Errorf("trusted keys %s: %w", src, err)
			}
		}
		out = append(out, s)
	}
	return out, nil
}

// splitPrincipals splits the principals field (possibly double-quoted)
// from the rest of an allowed_signers line.
func splitPrincipals(line string) (principals, rest string, err error) {
	if strings.HasPrefix(line, `"`) {
		end := strings.Index(line[1:], `"`)
		if end < 0 {
			return "", "", errors.New("unterminated quoted principals")
		}
		return line[1 : end+1], strings.TrimSpace(line[end+2:]), nil
	}
	i := strings.IndexAny(line, " \t")
	if i < 0 {
		return "", "", errors.New("a principal and a key are needed")
	}
	return line[:i], strings.TrimSpace(line[i:]), nil
}

// setOption applies one option of an allowed_signers line.
func (s *allowedSigner) setOption(opt string) error {
	name, value, hasValue := strings.Cut(opt, "=")
	value = strings.Trim(value, `"`)
	switch strings.ToLower(name) {
	case "namespaces":
		if !hasValue {
			return errors.New("option namespaces needs a value")
		}
		s.namespaces = strings.Split(value, ",")
	case "valid-after", "valid-before":
		t, err := parseSSHTime(value)
		if err != nil {
			return fmt.Errorf("option %s: %w", name, err)
		}
		if strings.EqualFold(name, "valid-after") {
			s.validAfter = t
		} else {
			s.validBefore = t
		}
	case "cert-authority":
		return errors.New("option cert-authority: SSH certificates are not supported; list the signing keys themselves")
	default:
		return fmt.Errorf("unknown option %q", name)
	}
	return nil
}

// parseSSHTime reads the time of valid-after and valid-before:
// YYYYMMDD[HHMM[SS]], in UTC with a Z suffix, local time otherwise (as
// ssh-keygen).
func parseSSHTime(v string) (time.Time, error) {
	loc := time.Local
	if strings.HasSuffix(v, "Z") || strings.HasSuffix(v, "z") {
		v, loc = v[:len(v)-1], time.UTC
	}
	for _, layout := range []string{"20060102", "200601021504", "20060102150405"} {
		if len(v) == len(layout) {
			if t, err := time.ParseInLocation(layout, v, loc); err == nil {
				return t, nil
			}
		}
	}
	return time.Time{}, fmt.Errorf("%q is not YYYYMMDD[HHMM[SS]][Z]", v)
}

// trusts reports whether the line trusts its key for namespace at when.
// A signature outside the validity interval is reported by the returned
// error.
func (s *allowedSigner) trusts(namespace string, when time.Time) (bool, error) {
	if len(s.namespaces) > 0 && !slices.Contains(s.namespaces, namespace) {
		return false, nil
	}
	if !s.validAfter.IsZero() && when.Before(s.validAfter) {
		return true, fmt.Errorf("signed at %s, before the key's valid-after %s (%s)", when.UTC().Format(time.RFC3339), s.validAfter.UTC().Format(time.RFC3339), s.source)
	}
	if !s.validBefore.IsZero() && !when.Before(s.validBefore) {
		return true, fmt.Errorf("signed at %s, after the key's valid-before %s (%s)", when.UTC().Format(time.RFC3339), s.validBefore.UTC().Format(time.RFC3339), s.source)
	}
	return true, nil
}

// pgpName names an OpenPGP entity: its primary identity and fingerprint.
func pgpName(e *openpgp.Entity) string {
	fpr := strings.ToUpper(hex.EncodeToString(e.PrimaryKey.Fingerprint))
	if id := e.PrimaryIdentity(); id != nil && id.Name != "" {
		return fmt.Sprintf("%s (OpenPGP key %s)", id.Name, fpr)
	}
	return "OpenPGP key " + fpr
}

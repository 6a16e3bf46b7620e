package source

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/ssh"
)

// SSH signatures (SSHSIG, see OpenSSH's PROTOCOL.sshsig) as git writes
// them with gpg.format=ssh.
const (
	sshSigHeader    = "-----BEGIN SSH SIGNATURE-----"
	sshSigFooter    = "-----END SSH SIGNATURE-----"
	sshSigMagic     = "SSHSIG"
	sshSigVersion   = 1
	gitSigNamespace = "git"
)

// sshSig is a decoded SSHSIG blob.
type sshSig struct {
	key       ssh.PublicKey
	namespace string
	hashAlg   string
	sig       *ssh.Signature
}

// parseSSHSig decodes an armored SSH signature.
func parseSSHSig(armored string) (*sshSig, error) {
	s := strings.TrimSpace(armored)
	if !strings.HasPrefix(s, sshSigHeader) || !strings.HasSuffix(s, sshSigFooter) {
		return nil, errors.New("malformed SSH signature armor")
	}
	body := strings.Join(strings.Fields(s[len(sshSigHeader):len(s)-len(sshSigFooter)]), "")
	blob, err := base64.StdEncoding.DecodeString(body)
	if err != nil {
		return nil, fmt.Errorf("malformed SSH signature: %w", err)
	}
	if !bytes.HasPrefix(blob, []byte(sshSigMagic)) {
		return nil, errors.New("malformed SSH signature: no SSHSIG preamble")
	}
	var w struct {
		Version   uint32
		PublicKey []byte
		Namespace string
		Reserved  string
		HashAlg   string
		Signature []byte
	}
	if err := ssh.Unmarshal(blob[len(sshSigMagic):], &w); err != nil {
		return nil, fmt.Errorf("malformed SSH signature: %w", err)
	}
	if w.Version != sshSigVersion {
		return nil, fmt.Errorf("SSH signature version %d is not supported", w.Version)
	}
	key, err := ssh.ParsePublicKey(w.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("malformed SSH signature: its public key: %w", err)
	}
	var sig struct {
		Format string
		Blob   []byte
		Rest   []byte `ssh:"rest"`
	}
	if err := ssh.Unmarshal(w.Signature, &sig); err != nil {
		return nil, fmt.Errorf("malformed SSH signature: %w", err)
	}
	return &sshSig{
		key: key, namespace: w.Namespace, hashAlg: w.HashAlg,
		sig: &ssh.Signature{Format: sig.Format, Blob: sig.Blob, Rest: sig.Rest},
	}, nil
}

// verify checks that s signs message in namespace.
func (s *sshSig) verify(message []byte, namespace string) error {
	if s.namespace != namespace {
		return fmt.Errorf("signature namespace is %q, want %q", s.namespace, namespace)
	}
	if s.sig.Format == ssh.KeyAlgoRSA {
		// SHA-1 RSA signatures are not allowed in SSHSIG.
		return errors.New("ssh-rsa (SHA-1) signatures are not accepted")
	}
	var digest []byte
	switch s.hashAlg {
	case "sha256":
		h := sha256.Sum256(message)
		digest = h[:]
	case "sha512":
		h := sha512.Sum512(message)
		digest = h[:]
	default:
		return fmt.Errorf("hash algorithm %q is not supported", s.hashAlg)
	}
	signed := ssh.Marshal(struct {
		Namespace string
		Reserved  string
		HashAlg   string
		Hash      []byte
	}{namespace, "", s.hashAlg, digest})
	signed = append([]byte(sshSigMagic), signed...)
	if err := s.key.Verify(signed, s.sig); err != nil {
		return fmt.Errorf("signature does not match: %w", err)
	}
	return nil
}

// sshName names an SSH key by its fingerprint.
func sshName(key ssh.PublicKey) string {
	return "SSH key " + ssh.FingerprintSHA256(key)
}

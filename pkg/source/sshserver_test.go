package source

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/meshintent/meshintent/internal/gitfixture"
)

// sshKey is a generated ed25519 key pair.
type sshKey struct {
	signer ssh.Signer
	priv   ed25519.PrivateKey
}

func newSSHKey(t *testing.T) sshKey {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return sshKey{signer: signer, priv: priv}
}

// pem returns the private key in OpenSSH format, encrypted when passphrase
// is not empty.
func (k sshKey) pem(t *testing.T, passphrase string) []byte {
	t.Helper()
	var block *pem.Block
	var err error
	if passphrase == "" {
		block, err = ssh.MarshalPrivateKey(k.priv, "")
	} else {
		block, err = ssh.MarshalPrivateKeyWithPassphrase(k.priv, "", []byte(passphrase))
	}
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(block)
}

// knownHostsLine returns a known_hosts line trusting key for addr.
func knownHostsLine(addr string, key ssh.PublicKey) []byte {
	return []byte(knownhosts.Line([]string{knownhosts.Normalize(addr)}, key) + "\n")
}

// gitSSHServer is an SSH server on 127.0.0.1 that runs the real
// git-upload-pack for the repositories under a root directory.
type gitSSHServer struct {
	Addr    string
	HostKey ssh.PublicKey

	t      *testing.T
	root   string
	config *ssh.ServerConfig
	wg     sync.WaitGroup
	mu     sync.Mutex
	conns  []net.Conn
}

// newGitSSHServer starts a server that accepts only the client key.
func newGitSSHServer(t *testing.T, root string, client ssh.PublicKey) *gitSSHServer {
	t.Helper()
	host := newSSHKey(t)
	s := &gitSSHServer{t: t, root: root, HostKey: host.signer.PublicKey()}
	s.config = &ssh.ServerConfig{
		PublicKeyCallback: func(_ ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			if bytes.Equal(key.Marshal(), client.Marshal()) {
				return nil, nil
			}
			return nil, errors.New("key not authorized")
		},
	}
	s.config.AddHostKey(host.signer)
	s.Addr = s.serve(s.handle)
	return s
}

// newHangingSSHServer starts a TCP server on 127.0.0.1 that accepts
// connections and never says anything.
func newHangingSSHServer(t *testing.T) string {
	t.Helper()
	s := &gitSSHServer{t: t}
	return s.serve(func(net.Conn) {})
}

// serve accepts connections until the test ends, handing each to handle.
// Connections stay open until the test ends.
func (s *gitSSHServer) serve(handle func(net.Conn)) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		s.t.Fatal(err)
	}
	s.wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns = append(s.conns, c)
			s.mu.Unlock()
			s.wg.Go(func() { handle(c) })
		}
	})
	s.t.Cleanup(func() {
		l.Close()
		s.mu.Lock()
		for _, c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		s.wg.Wait()
	})
	return l.Addr().String()
}

func (s *gitSSHServer) handle(c net.Conn) {
	conn, chans, reqs, err := ssh.NewServerConn(c, s.config)
	if err != nil {
		return
	}
	defer conn.Close()
	s.wg.Go(func() { ssh.DiscardRequests(reqs) })
	for newCh := range chans {
		if newCh.ChannelType() != "session" {
			_ = newCh.Reject(ssh.UnknownChannelType, "only sessions") // the client hung up: nothing to do
			continue
		}
		ch, chReqs, err := newCh.Accept()
		if err != nil {
			continue
		}
		s.wg.Go(func() { s.session(ch, chReqs) })
	}
}

// session serves one SSH session: an exec of git-upload-pack '<path>'.
func (s *gitSSHServer) session(ch ssh.Channel, reqs <-chan *ssh.Request) {
	defer ch.Close()
	for req := range reqs {
		if req.Type != "exec" {
			_ = req.Reply(false, nil)
			continue
		}
		var payload struct{ Command string }
		if err := ssh.Unmarshal(req.Payload, &payload); err != nil {
			_ = req.Reply(false, nil)
			return
		}
		repo, ok := strings.CutPrefix(payload.Command, "git-upload-pack ")
		if !ok {
			_ = req.Reply(false, nil)
			return
		}
		_ = req.Reply(true, nil)
		repo = filepath.Join(s.root, filepath.Clean("/"+strings.Trim(repo, "'")))
		code := s.uploadPack(ch, repo)
		_, _ = ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{code}))
		return
	}
}

func (s *gitSSHServer) uploadPack(ch ssh.Channel, repo string) uint32 {
	cmd := gitfixture.Command(context.Background(), "", "upload-pack", repo)
	cmd.Stdout = ch
	cmd.Stderr = ch.Stderr()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		fmt.Fprintln(ch.Stderr(), err)
		return 1
	}
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(ch.Stderr(), err)
		return 1
	}
	go func() {
		_, _ = io.Copy(stdin, ch) // ends when git or the client hangs up
		stdin.Close()
	}()
	if err := cmd.Wait(); err != nil {
		return 1
	}
	return 0
}

package source

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"golang.org/x/crypto/ssh"
)

// authMethod builds the go-git credentials for s. tmpDir holds short-lived
// files.
func (s *source) authMethod(a *Auth, timeout time.Duration, tmpDir string) (transport.AuthMethod, error) {
	switch s.protocol {
	case "http", "https":
		m, err := s.httpAuth(a)
		if err != nil {
			return nil, err
		}
		if m != nil && s.protocol == "http" && !isLoopback(s.host) {
			return nil, errors.New("refusing to send credentials over plain http; use https")
		}
		return m, nil
	case "ssh":
		return s.sshAuth(a, timeout, tmpDir)
	default:
		return nil, nil
	}
}

func (s *source) httpAuth(a *Auth) (transport.AuthMethod, error) {
	switch {
	case a != nil && a.BearerToken != "":
		if a.Username != "" || a.Password != "" {
			return nil, errors.New("set either a bearer token or a username and password, not both")
		}
		return &githttp.TokenAuth{Token: a.BearerToken}, nil
	case a != nil && (a.Username != "" || a.Password != ""):
		return &githttp.BasicAuth{Username: a.Username, Password: a.Password}, nil
	case a == nil && (s.user != "" || s.password != ""):
		return &githttp.BasicAuth{Username: s.user, Password: s.password}, nil
	default:
		return nil, nil
	}
}

func (s *source) sshAuth(a *Auth, timeout time.Duration, tmpDir string) (transport.AuthMethod, error) {
	if a == nil || len(a.SSHPrivateKey) == 0 {
		return nil, errors.New("ssh url needs auth with a private key")
	}
	if len(a.SSHKnownHosts) == 0 {
		return nil, errors.New("ssh url needs known_hosts")
	}
	user := a.SSHUser
	if user == "" {
		user = s.user
	}
	if user == "" {
		user = "git"
	}
	keys, err := gitssh.NewPublicKeys(user, a.SSHPrivateKey, a.SSHPassphrase)
	if err != nil {
		return nil, fmt.Errorf("parse ssh private key: %w", err)
	}

	// The known_hosts parsers read files only.
	f, err := os.CreateTemp(tmpDir, ".known_hosts-*")
	if err != nil {
		return nil, fmt.Errorf("write known_hosts: %w", err)
	}
	defer os.Remove(f.Name())
	_, err = f.Write(a.SSHKnownHosts)
	if closeErr := f.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		return nil, fmt.Errorf("write known_hosts: %w", err)
	}
	db, err := gitssh.NewKnownHostsDb(f.Name())
	if err != nil {
		return nil, fmt.Errorf("parse known_hosts: %w", err)
	}
	port := s.port
	if port <= 0 {
		port = gitssh.DefaultPort
	}
	keys.HostKeyCallback = db.HostKeyCallback()
	keys.HostKeyAlgorithms = db.HostKeyAlgorithms(net.JoinHostPort(s.host, strconv.Itoa(port)))
	return &sshAuth{PublicKeys: keys, timeout: timeout}, nil
}

// sshAuth bounds the TCP dial of go-git's SSH transport.
type sshAuth struct {
	*gitssh.PublicKeys
	timeout time.Duration
}

// ClientConfig returns the SSH client configuration with a dial timeout.
func (a *sshAuth) ClientConfig() (*ssh.ClientConfig, error) {
	c, err := a.PublicKeys.ClientConfig()
	if err != nil {
		return nil, err
	}
	c.Timeout = a.timeout
	return c, nil
}

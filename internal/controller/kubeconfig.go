package controller

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// DefaultKubeConfigKey is the key of the kubeconfig Secret read when
// spec.kubeConfig.secretRef.key is empty, as in Flux.
const DefaultKubeConfigKey = "value"

// remoteConfig is a kubeconfig of spec.kubeConfig, checked and resolved.
type remoteConfig struct {
	// config reaches the remote API server as the kubeconfig's user.
	config *rest.Config
	// server is the API server's URL without credentials, for status.
	server string
}

// parseKubeConfig reads a kubeconfig from a tenant's Secret and resolves
// its current context. Only self-contained credentials are accepted: exec
// and auth-provider plugins would make the controller run commands, and
// file references (client-certificate, client-key, certificate-authority,
// tokenFile) would make it read its own files, on the tenant's behalf. Each
// is refused with an error naming the field; errors never quote the
// kubeconfig's content.
func parseKubeConfig(data []byte) (*remoteConfig, error) {
	if len(data) == 0 {
		return nil, errors.New("the kubeconfig is empty")
	}
	cfg, err := clientcmd.Load(data)
	if err != nil {
		return nil, errors.New("the kubeconfig is not valid YAML or JSON of a kubeconfig")
	}
	name := cfg.CurrentContext
	if name == "" {
		return nil, errors.New("the kubeconfig has no current-context")
	}
	kctx, ok := cfg.Contexts[name]
	if !ok || kctx == nil {
		return nil, fmt.Errorf("the kubeconfig's current-context %q is not among its contexts", name)
	}
	cluster, ok := cfg.Clusters[kctx.Cluster]
	if !ok || cluster == nil {
		return nil, fmt.Errorf("the kubeconfig's context %q names cluster %q, which it does not define", name, kctx.Cluster)
	}
	user := cfg.AuthInfos[kctx.AuthInfo]
	if user == nil {
		user = clientcmdapi.NewAuthInfo()
	}
	if err := refuseExternal(kctx.Cluster, cluster, kctx.AuthInfo, user); err != nil {
		return nil, err
	}
	u, err := url.Parse(cluster.Server)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("the kubeconfig's cluster %q has no valid server URL", kctx.Cluster)
	}
	// Only the current context is resolved, with nothing taken from the
	// controller's environment or files.
	only := clientcmdapi.NewConfig()
	only.Clusters[kctx.Cluster] = cluster
	only.AuthInfos[kctx.AuthInfo] = user
	only.Contexts[name] = kctx
	only.CurrentContext = name
	rc, err := clientcmd.NewNonInteractiveClientConfig(*only, name, &clientcmd.ConfigOverrides{}, nil).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("resolving the kubeconfig's context %q: %w", name, redactKubeConfigError(err))
	}
	rc.UserAgent = eventSource
	server := (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: strings.TrimSuffix(u.Path, "/")}).String()
	return &remoteConfig{config: rc, server: server}, nil
}

// refuseExternal refuses what would make the controller run a command or
// read a file of its own for a tenant: exec and auth-provider plugins, and
// paths to certificates, keys and tokens.
func refuseExternal(clusterName string, c *clientcmdapi.Cluster, userName string, u *clientcmdapi.AuthInfo) error {
	var refused []string
	if u.Exec != nil {
		refused = append(refused, fmt.Sprintf("user %q runs an exec credential plugin (%q)", userName, u.Exec.Command))
	}
	if u.AuthProvider != nil {
		refused = append(refused, fmt.Sprintf("user %q uses auth-provider %q", userName, u.AuthProvider.Name))
	}
	for field, path := range map[string]string{"client-certificate": u.ClientCertificate, "client-key": u.ClientKey, "tokenFile": u.TokenFile} {
		if path != "" {
			refused = append(refused, fmt.Sprintf("user %q reads %s from a file", userName, field))
		}
	}
	if c.CertificateAuthority != "" {
		refused = append(refused, fmt.Sprintf("cluster %q reads certificate-authority from a file", clusterName))
	}
	if len(refused) == 0 {
		return nil
	}
	slices.Sort(refused) // map order varies; a stable message
	return fmt.Errorf("the kubeconfig is refused: %s; a kubeconfig for spec.kubeConfig must carry its credentials inline "+
		"(client-certificate-data, client-key-data, token, certificate-authority-data): the controller never runs "+
		"commands or reads its own files for an IntentSync", strings.Join(refused, "; "))
}

// redactKubeConfigError keeps an error of client-go's config loading from
// repeating credentials: it names the failure, not the values.
func redactKubeConfigError(err error) error {
	msg := err.Error()
	for _, secret := range []string{"token", "password", "-----BEGIN"} {
		if strings.Contains(strings.ToLower(msg), strings.ToLower(secret)) {
			return errors.New("invalid credentials in the kubeconfig")
		}
	}
	return err
}

// impersonating returns a copy of cfg whose requests impersonate the
// ServiceAccount name of namespace, as Flux's kustomize-controller does.
// The API server adds the ServiceAccount's groups and checks that the
// caller may "impersonate" that serviceaccounts object.
func impersonating(cfg *rest.Config, namespace, name string) *rest.Config {
	c := rest.CopyConfig(cfg)
	c.Impersonate = rest.ImpersonationConfig{UserName: serviceAccountUser(namespace, name)}
	return c
}

// serviceAccountUser is the user name of a ServiceAccount.
func serviceAccountUser(namespace, name string) string {
	return "system:serviceaccount:" + namespace + ":" + name
}

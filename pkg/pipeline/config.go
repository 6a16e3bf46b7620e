package pipeline

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"sigs.k8s.io/yaml"

	"github.com/meshintent/meshintent/pkg/apply"
)

// RepoConfigFile is the optional file at a repository's root that marks it
// as the root kustomize is confined to and configures the reconciler.
const RepoConfigFile = "meshintent.yaml"

// RepoConfig is the content of meshintent.yaml.
type RepoConfig struct {
	// Policies are the repository's own Rego policy directories, relative to
	// the root. Default: policies/ when it exists.
	Policies []string `json:"policies,omitempty"`
	// Ignore are drift ignore rules: JSON pointers, optionally limited to a
	// group, kind, namespace or name, whose live values diff never reports.
	Ignore []apply.IgnoreRule `json:"ignore,omitempty"`
}

// LoadRepoConfig reads root/meshintent.yaml strictly; a missing file gives
// the defaults. Policy directories are returned as absolute paths.
func LoadRepoConfig(root string) (RepoConfig, error) {
	var cfg RepoConfig
	b, err := os.ReadFile(filepath.Join(root, RepoConfigFile))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if st, err := os.Stat(filepath.Join(root, "policies")); err == nil && st.IsDir() {
			cfg.Policies = []string{"policies"}
		}
	case err != nil:
		return cfg, fmt.Errorf("reading %s: %w", RepoConfigFile, err)
	default:
		if err := yaml.UnmarshalStrict(b, &cfg); err != nil {
			return cfg, fmt.Errorf("%s: %w", RepoConfigFile, err)
		}
	}
	for i, p := range cfg.Policies {
		abs := filepath.Join(root, filepath.FromSlash(p))
		rel, err := filepath.Rel(root, abs)
		if err != nil || filepath.IsAbs(p) || rel == ".." || len(rel) > 2 && rel[:3] == ".."+string(filepath.Separator) {
			return cfg, fmt.Errorf("%s: policies[%d]: %q is outside the repository", RepoConfigFile, i, p)
		}
		if st, err := os.Stat(abs); err != nil || !st.IsDir() {
			return cfg, fmt.Errorf("%s: policies[%d]: %q is not a directory", RepoConfigFile, i, p)
		}
		cfg.Policies[i] = abs
	}
	return cfg, nil
}

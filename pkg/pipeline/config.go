package pipeline

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	yaml "go.yaml.in/yaml/v3"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/meshintent/meshintent/pkg/apply"
	"github.com/meshintent/meshintent/pkg/render"
	"github.com/meshintent/meshintent/pkg/validate"
)

// RepoConfigFile is the optional file at a repository's root that marks it
// as the root kustomize is confined to and configures the reconciler.
const RepoConfigFile = "meshintent.yaml"

// MaxRepoConfigSize is the largest meshintent.yaml read.
const MaxRepoConfigSize = 1 << 20

// RepoConfig is the content of meshintent.yaml.
type RepoConfig struct {
	// Policies are the repository's own Rego policy directories, relative to
	// the root. Default: policies/ when it exists. LoadRepoConfig returns
	// them as absolute paths.
	Policies []string `json:"policies,omitempty"`
	// Ignore are drift ignore rules: JSON pointers, optionally limited to a
	// group, kind, namespace or name, whose live values diff never reports.
	Ignore []apply.IgnoreRule `json:"ignore,omitempty"`
	// Exceptions waive a policy's denials for named objects, with a reason,
	// until they expire.
	Exceptions []ExceptionConfig `json:"exceptions,omitempty"`

	// root is the repository root, symlinks resolved; policyDirs are
	// Policies relative to it; exceptions are Exceptions, converted.
	root       string
	policyDirs []string
	exceptions []validate.Exception
}

// ExceptionConfig is one entry of meshintent.yaml's exceptions:
//
//	exceptions:
//	- policy: meshintent.faults
//	  rule: deny                      # optional: every deny rule of the policy
//	  objects: [ServiceIntent/bookinfo/reviews]
//	  reason: load test of the checkout, TICKET-123
//	  expires: 2026-06-30             # a date (through its end, UTC) or an RFC 3339 time
type ExceptionConfig struct {
	Policy  string   `json:"policy"`
	Rule    string   `json:"rule,omitempty"`
	Objects []string `json:"objects"`
	Reason  string   `json:"reason"`
	Expires string   `json:"expires"`
}

// LoadRepoConfig reads root/meshintent.yaml strictly; a missing file gives
// the defaults. The file and the policy directories are read through the
// root-confined file system of renders (render.RootFS): a symlink leading
// out of the repository, or a loop, is an error naming the link, and a
// policy directory must be a relative path inside it. Policy directories
// are returned as absolute paths; exceptions are checked (policy, objects,
// reason and a valid expiry are required).
func LoadRepoConfig(root string) (RepoConfig, error) {
	var cfg RepoConfig
	rfs, err := render.NewRootFS(root, ".", MaxRepoConfigSize)
	if err != nil {
		return cfg, err
	}
	b, err := rfs.ReadFile(RepoConfigFile)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if st, err := rfs.Stat("policies"); err == nil && st.IsDir() {
			cfg.Policies = []string{"policies"}
		} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return cfg, fmt.Errorf("reading the policies directory: %w", err)
		}
	case err != nil:
		return cfg, fmt.Errorf("reading %s: %w", RepoConfigFile, err)
	default:
		if err := sigsyaml.UnmarshalStrict(b, &cfg); err != nil {
			return cfg, fmt.Errorf("%s: %w", RepoConfigFile, err)
		}
	}
	if cfg.root, err = filepath.EvalSymlinks(root); err != nil {
		return cfg, fmt.Errorf("repository root: %w", err)
	}
	if cfg.root, err = filepath.Abs(cfg.root); err != nil {
		return cfg, fmt.Errorf("repository root: %w", err)
	}
	for i, p := range cfg.Policies {
		rel := path.Clean(filepath.ToSlash(p))
		if filepath.IsAbs(p) || path.IsAbs(rel) || !fs.ValidPath(rel) {
			return cfg, fmt.Errorf("%s: policies[%d]: %q is outside the repository", RepoConfigFile, i, p)
		}
		st, err := rfs.Stat(rel)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return cfg, fmt.Errorf("%s: policies[%d]: %w", RepoConfigFile, i, err)
		}
		if err != nil || !st.IsDir() {
			return cfg, fmt.Errorf("%s: policies[%d]: %q is not a directory", RepoConfigFile, i, p)
		}
		cfg.policyDirs = append(cfg.policyDirs, rel)
		cfg.Policies[i] = filepath.Join(cfg.root, filepath.FromSlash(rel))
	}
	if cfg.exceptions, err = convertExceptions(cfg.Exceptions, b); err != nil {
		return cfg, err
	}
	return cfg, nil
}

// PolicySources are the repository's policy directories as policy sources
// named by their repository-relative paths, read through the root-confined
// file system with files of at most maxFileSize bytes (the validate
// default when 0).
func (c RepoConfig) PolicySources(maxFileSize int64) ([]validate.Source, error) {
	if maxFileSize <= 0 {
		maxFileSize = validate.DefaultMaxFileSize
	}
	var out []validate.Source
	for _, dir := range c.policyDirs {
		rfs, err := render.NewRootFS(c.root, dir, maxFileSize)
		if err != nil {
			return nil, err
		}
		out = append(out, validate.Source{Name: dir, FS: rfs})
	}
	return out, nil
}

// policySources are the repository's policy directories (cfg) and the
// extra dirs: those inside root are read through the root-confined file
// system, as the repository's own, and named by their repository-relative
// paths; the others (a CLI user's --policy-dir) from the disk.
func policySources(cfg RepoConfig, root string, dirs []string) ([]validate.Source, error) {
	sources, err := cfg.PolicySources(0)
	if err != nil {
		return nil, err
	}
	inside := func(base, abs string) (string, bool) {
		r, err := filepath.Rel(base, abs)
		return filepath.ToSlash(r), base != "" && err == nil && r != ".." && !strings.HasPrefix(r, ".."+string(filepath.Separator))
	}
	for _, dir := range dirs {
		abs, err := filepath.Abs(dir)
		if err != nil {
			return nil, fmt.Errorf("policy directory %s: %w", dir, err)
		}
		rel, ok := inside(root, abs)
		if !ok {
			rel, ok = inside(cfg.root, abs)
		}
		if !ok {
			sources = append(sources, validate.Dir(dir))
			continue
		}
		if slices.Contains(cfg.policyDirs, rel) {
			continue // the repository's own, loaded already
		}
		rfs, err := render.NewRootFS(root, rel, validate.DefaultMaxFileSize)
		if err != nil {
			return nil, fmt.Errorf("policy directory %s: %w", dir, err)
		}
		sources = append(sources, validate.Source{Name: rel, FS: rfs})
	}
	return sources, nil
}

// PolicyExceptions are the exceptions as the policy gate takes them, each
// located at its line of meshintent.yaml.
func (c RepoConfig) PolicyExceptions() []validate.Exception {
	return c.exceptions
}

// convertExceptions converts and checks the exceptions of meshintent.yaml,
// raw, naming the line of each in errors.
func convertExceptions(xs []ExceptionConfig, raw []byte) ([]validate.Exception, error) {
	lines := exceptionLines(raw)
	var out []validate.Exception
	var errs []error
	for i, x := range xs {
		src := RepoConfigFile
		if i < len(lines) {
			src = fmt.Sprintf("%s:%d", RepoConfigFile, lines[i])
		}
		bad := func(format string, args ...any) {
			errs = append(errs, fmt.Errorf("%s: exceptions[%d]: %s", src, i, fmt.Sprintf(format, args...)))
		}
		if x.Policy == "" {
			bad("policy is required: the policy whose denials are waived, e.g. meshintent.faults")
		}
		if len(x.Objects) == 0 {
			bad("objects is required: the objects waived, e.g. ServiceIntent/bookinfo/reviews")
		}
		for j, o := range x.Objects {
			if _, err := path.Match(o, ""); err != nil || strings.TrimSpace(o) == "" {
				bad("objects[%d]: %q is not an object ID or pattern", j, o)
			}
		}
		if strings.TrimSpace(x.Reason) == "" {
			bad("reason is required: it is shown with every result it waives")
		}
		var exp time.Time
		if x.Expires == "" {
			bad("expires is required: an exception lapses, e.g. expires: 2026-06-30")
		} else if t, err := validate.ParseExpiry(x.Expires); err != nil {
			bad("expires: %v", err)
		} else {
			exp = t
		}
		out = append(out, validate.Exception{
			Policy: x.Policy, Rule: x.Rule, Objects: x.Objects, Reason: x.Reason, Expires: exp, Source: src,
		})
	}
	return out, errors.Join(errs...)
}

// exceptionLines finds the line of each entry of the exceptions list in
// raw; nil when raw does not parse or has none.
func exceptionLines(raw []byte) []int {
	if raw == nil {
		return nil
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil
	}
	m := doc.Content[0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == "exceptions" && m.Content[i+1].Kind == yaml.SequenceNode {
			var out []int
			for _, e := range m.Content[i+1].Content {
				out = append(out, e.Line)
			}
			return out
		}
	}
	return nil
}

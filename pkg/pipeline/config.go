package pipeline

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	yaml "go.yaml.in/yaml/v3"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/meshintent/meshintent/pkg/apply"
	"github.com/meshintent/meshintent/pkg/render/rootfs"
	"github.com/meshintent/meshintent/pkg/validate"
	"github.com/meshintent/meshintent/policies"
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
	// Severity sets, per policy, the severity of the policies that read one
	// (data.meshintent.config.severity, see policies/data.yaml): deny
	// blocks the apply, warn reports only, off reports nothing. It is merged
	// over the policy directories' data files. The tenancy fence's is not
	// the repository's to set.
	//
	//	severity:
	//	  meshintent.catchall: deny
	//	  meshintent.gatewayhosts: off
	Severity map[string]PolicySeverity `json:"severity,omitempty"`

	// root is the repository root, symlinks resolved; policyDirs are
	// Policies relative to it; exceptions are Exceptions, converted;
	// severity is Severity as policy data, without what is ignored;
	// warnings are about entries of Severity that change nothing.
	root       string
	policyDirs []string
	exceptions []validate.Exception
	severity   map[string]any
	warnings   []validate.Result
}

// PolicySeverity is a policy's severity in meshintent.yaml: deny, warn or
// off.
type PolicySeverity string

// Severities a policy may be given.
const (
	SeverityDeny PolicySeverity = "deny"
	SeverityWarn PolicySeverity = "warn"
	SeverityOff  PolicySeverity = "off"
)

// UnmarshalJSON takes a string, or a boolean: the YAML reader decoding
// meshintent.yaml reads an unquoted off as false (YAML 1.1), so the value
// as written is taken from the document itself afterwards (see
// checkSeverity).
func (s *PolicySeverity) UnmarshalJSON(b []byte) error {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	switch v := v.(type) {
	case string:
		*s = PolicySeverity(v)
	case bool:
		*s = ""
	default:
		return fmt.Errorf("a severity is deny, warn or off, not %s", b)
	}
	return nil
}

// severityPolicy is the policy of the warnings about meshintent.yaml's
// severity entries.
const severityPolicy = "meshintent.severity"

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
// root-confined file system of renders (rootfs.FS): a symlink leading
// out of the repository, or a loop, is an error naming the link, and a
// policy directory must be a relative path inside it. Policy directories
// are returned as absolute paths; exceptions are checked (policy, objects,
// reason and a valid expiry are required).
func LoadRepoConfig(root string) (RepoConfig, error) {
	var cfg RepoConfig
	rfs, err := rootfs.New(root, ".", MaxRepoConfigSize)
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
	if err := cfg.checkSeverity(b); err != nil {
		return cfg, err
	}
	return cfg, nil
}

// checkSeverity checks Severity against raw, the file: each value must be
// deny, warn or off, as written (an error naming its line otherwise). It
// keeps what the policies are to read in c.severity, and warns about an
// entry for the tenancy fence (ignored: the operator sets the fence, as no
// exception waives it) and one naming no built-in policy that reads a
// severity (likely misspelled; a repository policy may still read it).
func (c *RepoConfig) checkSeverity(raw []byte) error {
	if len(c.Severity) == 0 {
		return nil
	}
	known, err := policies.DefaultSeverities()
	if err != nil {
		return err
	}
	entries := mappingEntries(topLevel(raw, "severity"))
	var errs []error
	for _, policy := range slices.Sorted(maps.Keys(c.Severity)) {
		src, line := RepoConfigFile, 0
		if e, ok := entries[policy]; ok {
			line = e.Line
			src = fmt.Sprintf("%s:%d", RepoConfigFile, line)
			// The value as written: off stays off (see UnmarshalJSON).
			c.Severity[policy] = PolicySeverity(e.Value)
		}
		sev := c.Severity[policy]
		switch sev {
		case SeverityDeny, SeverityWarn, SeverityOff:
		default:
			errs = append(errs, fmt.Errorf("%s: severity[%q]: %q is not a severity: use deny, warn or off", src, policy, sev))
			continue
		}
		warn := func(format string, args ...any) {
			c.warnings = append(c.warnings, validate.Result{
				Policy: severityPolicy, Rule: "warn", Severity: validate.SeverityWarn,
				Object: "Severity/" + policy, Source: RepoConfigFile, Line: line,
				Message: fmt.Sprintf(format, args...),
			})
		}
		if why := validate.Unwaivable[policy]; why != "" {
			if sev != SeverityDeny {
				warn("severity %s for policy %s is ignored: %s", sev, policy, why)
			}
			continue
		}
		if _, ok := known[policy]; !ok {
			warn("severity for policy %s changes nothing a built-in policy does: none reads a severity of that name (a repository policy may read it from data.meshintent.config.severity)", policy)
		}
		if c.severity == nil {
			c.severity = map[string]any{}
		}
		c.severity[policy] = string(sev)
	}
	return errors.Join(errs...)
}

// PolicyData is the policy data meshintent.yaml sets, rooted at data (the
// severities, under meshintent.config.severity); nil when it sets none.
func (c RepoConfig) PolicyData() map[string]any {
	if len(c.severity) == 0 {
		return nil
	}
	return map[string]any{"meshintent": map[string]any{"config": map[string]any{"severity": maps.Clone(c.severity)}}}
}

// Warnings are the policy gate's warnings about meshintent.yaml itself:
// severity entries that change nothing.
func (c RepoConfig) Warnings() []validate.Result {
	return slices.Clone(c.warnings)
}

// addWarnings adds the warnings about meshintent.yaml to rep, after its
// denials and before its waived results, as a report orders them.
func (c RepoConfig) addWarnings(rep *validate.Report) {
	if rep == nil || len(c.warnings) == 0 {
		return
	}
	i := slices.IndexFunc(rep.Results, func(r validate.Result) bool { return r.Severity == validate.SeverityWaived })
	if i < 0 {
		i = len(rep.Results)
	}
	rep.Results = slices.Insert(rep.Results, i, c.warnings...)
	rep.Warnings += len(c.warnings)
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
		rfs, err := rootfs.New(c.root, dir, maxFileSize)
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
		rfs, err := rootfs.New(root, rel, validate.DefaultMaxFileSize)
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
	n := topLevel(raw, "exceptions")
	if n == nil || n.Kind != yaml.SequenceNode {
		return nil
	}
	var out []int
	for _, e := range n.Content {
		out = append(out, e.Line)
	}
	return out
}

// topLevel is the value of key in the document raw, nil when raw does not
// parse as a map or has no such key. The document is read as YAML 1.2, in
// which off is a string.
func topLevel(raw []byte, key string) *yaml.Node {
	if raw == nil {
		return nil
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil
	}
	m := doc.Content[0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// mappingEntries are the scalar values of map n by key (each node giving
// the value as written and its line); nil when n is not a map.
func mappingEntries(n *yaml.Node) map[string]*yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	out := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if v := n.Content[i+1]; v.Kind == yaml.ScalarNode {
			out[n.Content[i].Value] = v
		}
	}
	return out
}

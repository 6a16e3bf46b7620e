package output

import (
	"io/fs"
	"regexp"
	"strings"

	"github.com/meshintent/meshintent/pkg/validate"
	"github.com/meshintent/meshintent/policies"
)

// packageLine finds a Rego file's package clause.
var packageLine = regexp.MustCompile(`(?m)^package[ \t]+([A-Za-z0-9_.]+)`)

// Describe returns the description of every built-in policy and of the
// policies of results, keyed by policy name: the comment block just above
// the package clause of the file defining it, without "#" and without a
// leading "Package <name>" (policies/*.rego start that way). read returns
// a repository policy file by its name in results (validate.Result's
// PolicyFile); files it cannot read get no description.
func Describe(results []validate.Result, read func(file string) ([]byte, error)) map[string]string {
	out := map[string]string{}
	builtins, _ := fs.Glob(policies.FS, "*.rego")
	for _, name := range builtins {
		if strings.HasSuffix(name, "_test.rego") {
			continue
		}
		if b, err := fs.ReadFile(policies.FS, name); err == nil {
			if pkg, doc := regoDoc(b); pkg != "" && doc != "" {
				out[pkg] = doc
			}
		}
	}
	for _, r := range results {
		if _, ok := out[r.Policy]; ok || r.PolicyFile == "" || read == nil ||
			strings.HasPrefix(r.PolicyFile, validate.BuiltinSourceName+"/") {
			continue
		}
		if b, err := read(r.PolicyFile); err == nil {
			if pkg, doc := regoDoc(b); doc != "" && pkg == r.Policy {
				out[r.Policy] = doc
			}
		}
	}
	return out
}

// regoDoc returns a Rego file's package and the comment above its package
// clause.
func regoDoc(src []byte) (pkg, doc string) {
	s := string(src)
	loc := packageLine.FindStringSubmatchIndex(s)
	if loc == nil {
		return "", ""
	}
	pkg = s[loc[2]:loc[3]]
	lines := strings.Split(s[:loc[0]], "\n")
	var comment []string
	for i := len(lines) - 1; i >= 0; i-- {
		l := strings.TrimSpace(lines[i])
		if l == "" && len(comment) == 0 {
			continue
		}
		if !strings.HasPrefix(l, "#") {
			break
		}
		comment = append([]string{strings.TrimSpace(strings.TrimPrefix(l, "#"))}, comment...)
	}
	doc = strings.Join(comment, " ")
	for _, p := range []string{"Package " + pkg + ":", "Package " + pkg} {
		if strings.HasPrefix(doc, p) {
			doc = strings.TrimSpace(strings.TrimPrefix(doc, p))
			break
		}
	}
	if doc != "" {
		doc = strings.ToUpper(doc[:1]) + doc[1:]
	}
	return pkg, doc
}

// firstSentence is the first sentence of a description.
func firstSentence(s string) string {
	if i := strings.Index(s, ". "); i >= 0 {
		return s[:i+1]
	}
	return s
}

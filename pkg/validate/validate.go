// Package validate is the policy gate: it evaluates Rego policies, conftest
// style, against every rendered object and every intent, and reports what they
// deny and warn about.
//
// The built-in policies are embedded from the policies package; a repository
// adds its own directories at run time. A rule of any package whose name is
// deny, violation or warn, or starts with deny_, violation_ or warn_, is a
// policy: deny and violation block, warn reports. The input and data contract
// is described in policies/README.md.
//
// Policies are parsed and compiled once, by New, which prepares one query per
// input kind (with only the rules that may apply to it). Evaluate converts each
// object to a Rego value once, computes the lookups of package meshintent.index
// once per run, and evaluates the objects in parallel batches of one kind, each
// object with the whole set available as data. Cross-object checks are
// lookups, so a run is linear in the size of the set.
//
// Policies come from the repository and are untrusted: they are compiled
// without the builtins that reach outside the process (DeniedBuiltins),
// each evaluation has a time budget and bounded input, and policy and data
// files are bounded (see Options). A failure of the policies themselves is
// a *PolicyError. Exceptions (meshintent.yaml's, or conftest's Rego
// exception rules) turn denials into waived results (see Exception).
package validate

import (
	"context"
	"fmt"
	"maps"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
)

// Options configure an Engine.
type Options struct {
	// Policies are loaded after the built-in policies, in order; typically a
	// repository's policy directory: Dir(filepath.Join(checkout, "policies"))
	// or Source{Name: "policies", FS: ...} for repo-relative file names.
	Policies []Source
	// Data is merged over the built-in data.yaml and the data files of
	// Policies, and is rooted at data: a limit goes in as
	// {"meshintent": {"config": {"timeout": {"max": "30s"}}}}. Maps merge key
	// by key; lists and scalars replace.
	Data map[string]any
	// Parallelism bounds the objects evaluated at once; 0 means GOMAXPROCS.
	Parallelism int

	// Timeout is the time budget of an evaluation (of Evaluate, of each
	// Rego unit test); DefaultTimeout when 0. An overrun is a *PolicyError.
	Timeout time.Duration
	// MaxFileSize is the largest policy or data file read, in bytes;
	// DefaultMaxFileSize when 0.
	MaxFileSize int64
	// MaxDataSize is the most bytes of data files read in all;
	// DefaultMaxDataSize when 0.
	MaxDataSize int64
	// MaxInputSize bounds the input of an evaluation (see
	// DefaultMaxInputSize for how it is counted); DefaultMaxInputSize when 0.
	MaxInputSize int64

	// Exceptions waive denials for named objects until they expire (the
	// exceptions of meshintent.yaml). Rego `exception` rules waive too.
	Exceptions []Exception
	// Now is the clock exceptions expire by; time.Now when nil.
	Now func() time.Time
}

// Engine evaluates compiled policies. It is safe for concurrent use.
type Engine struct {
	*compiled
	parallelism int
	limits      limits
	// exceptions are Options.Exceptions; exceptionWarnings the warnings
	// about those that name no loaded policy or rule.
	exceptions        []Exception
	exceptionWarnings []Result
	now               func() time.Time
}

// compiled is what New makes of the policies and data: the part of an
// Engine that engines of equal policies and data share (see engineCache).
type compiled struct {
	// byKind holds, for each kind some rule is limited to (by an
	// input.kind == "..." test in its body), a query for the rules that may
	// apply to it; other is the query for every other kind, nil when no rule
	// applies to them.
	// Each is compiled without the meshintent.index packages, whose values
	// it reads as data.
	byKind map[string]*gateQuery
	other  *gateQuery
	// index computes data.meshintent.index for a run; nil when no module
	// defines it.
	index *rego.PreparedEvalQuery
	// config is data.meshintent.config, served to all queries.
	config ast.Value
	// rules are the policy rules, for the exceptions' warnings.
	rules []rule
}

// gateQuery evaluates rules for a batch of inputs (see prepareGate).
type gateQuery struct {
	query rego.PreparedEvalQuery
	rules []rule
	// usesIndex says whether the rules read data.meshintent.index, so that
	// their evaluation must wait for it; the others start at once.
	usesIndex bool
}

// rule is one policy rule.
type rule struct {
	// pkg is the package path without "data.", e.g. meshintent.weights.
	pkg      string
	name     string
	severity Severity
	// file is the file that defines the rule, or "" when several do.
	file string
	// kinds are the input kinds the rule is limited to; nil when it may
	// apply to any input.
	kinds []string
	// partialSet is true when every definition is `name contains …`, so
	// that the rule is always defined (possibly empty).
	partialSet bool
	// usesIndex says whether the rule reads data.meshintent.index.
	usesIndex bool
}

var (
	policyRuleName = regexp.MustCompile(`^(deny|violation|warn)(_[A-Za-z0-9_]+)?$`)
	// indexPath is where the per-run lookups live.
	indexPath = dataRef("index")
	// Paths the engine serves, per run, to the policies.
	objectsPath = dataRef("objects")
	intentsPath = dataRef("intents")
	configPath  = dataRef("config")
)

// dataRef is the reference data.meshintent.<key>, built directly rather than
// parsed: a package-level parse would run OPA's parser at every process
// start, `reconciler version` included.
func dataRef(key string) ast.Ref {
	return ast.Ref{ast.DefaultRootDocument, ast.StringTerm("meshintent"), ast.StringTerm(key)}
}

// New loads, parses and compiles the built-in policies and opts.Policies and
// prepares their evaluation. A policy that does not parse or compile is an
// error naming its file and line; so is a rule of meshintent.index that reads
// input, since those rules are computed once per run rather than per object.
//
// Policies run sandboxed: a call of a builtin of DeniedBuiltins is an error
// naming its file, line and builtin, and so is a policy or data file larger
// than opts.MaxFileSize (or data files larger than opts.MaxDataSize in
// all). Every such error is a *PolicyError.
func New(ctx context.Context, opts Options) (*Engine, error) {
	e, err := build(ctx, opts)
	if err != nil && ctx.Err() == nil {
		err = policyError(err)
	}
	return e, err
}

// build is New without wrapping its errors.
func build(ctx context.Context, opts Options) (*Engine, error) {
	lim := opts.limits()
	b, err := load(opts.Policies, opts.Data, lim)
	if err != nil {
		return nil, err
	}
	c, err := engines.get(b, func() (*compiled, error) { return compileBundle(ctx, b) })
	if err != nil {
		return nil, err
	}
	e := &Engine{compiled: c, parallelism: opts.Parallelism, limits: lim, exceptions: opts.Exceptions, now: opts.Now}
	if e.parallelism <= 0 {
		e.parallelism = runtime.GOMAXPROCS(0)
	}
	if e.now == nil {
		e.now = time.Now
	}
	e.exceptionWarnings = checkExceptions(opts.Exceptions, c.rules)
	return e, nil
}

// compileBundle checks b's policies against the sandbox, compiles them and
// prepares their queries.
func compileBundle(ctx context.Context, b *bundle) (*compiled, error) {
	if err := checkSandbox(b.modules); err != nil {
		return nil, err
	}

	// Compile everything once to check it, and to compute the index.
	full, err := compile(b.modules)
	if err != nil {
		return nil, err
	}
	if err := checkIndexRules(full); err != nil {
		return nil, err
	}

	// Compile the policies without the index packages: per object, the index
	// is data computed beforehand.
	gateModules := map[string]*ast.Module{}
	hasIndex := false
	for name, m := range b.modules {
		if m.Package.Path.HasPrefix(indexPath) {
			hasIndex = true
			continue
		}
		gateModules[name] = m
	}
	gateCompiler := full
	if hasIndex {
		if gateCompiler, err = compile(gateModules); err != nil {
			return nil, err
		}
	}

	e := &compiled{byKind: map[string]*gateQuery{}}
	if e.config, err = ast.InterfaceToValue(configOf(b.data)); err != nil {
		return nil, fmt.Errorf("converting data.meshintent.config: %w", err)
	}
	store := newStore(b.data)

	// Prepare one query per kind, so that evaluating an object does not even
	// look at the rules meant for other kinds.
	rules, exceptionRules := policyRules(gateCompiler)
	e.rules = rules
	kinds := map[string]bool{}
	for _, r := range rules {
		for _, k := range r.kinds {
			kinds[k] = true
		}
	}
	prepare := func(kind string) (*gateQuery, error) {
		var selected []rule
		denyPkgs := map[string]bool{}
		for _, r := range rules {
			if r.kinds == nil || (kind != "" && slices.Contains(r.kinds, kind)) {
				selected = append(selected, r)
				denyPkgs[r.pkg] = denyPkgs[r.pkg] || r.severity == SeverityDeny
			}
		}
		if len(selected) == 0 {
			return nil, nil
		}
		// The exception rules of the packages whose denials may apply.
		for _, r := range exceptionRules {
			if denyPkgs[r.pkg] {
				selected = append(selected, r)
			}
		}
		return prepareGate(ctx, gateCompiler, store, selected)
	}
	for _, k := range slices.Sorted(maps.Keys(kinds)) {
		if e.byKind[k], err = prepare(k); err != nil {
			return nil, err
		}
	}
	if e.other, err = prepare(""); err != nil {
		return nil, err
	}
	if hasIndex {
		q, err := rego.New(
			rego.Compiler(full),
			rego.Store(store),
			rego.Query("x := data.meshintent.index"),
			rego.Capabilities(sandboxCapabilities()),
		).PrepareForEval(ctx)
		if err != nil {
			return nil, fmt.Errorf("preparing the index query: %w", err)
		}
		e.index = &q
	}
	return e, nil
}

// prepareGate prepares the query evaluating rules for each input of a batch,
// its input being the batch's array of inputs. For each input it yields, for
// each rule, an array holding the rule's value, or empty when the rule is
// undefined: [[data.p.deny], [v | v := data.p.deny_complete], ...]; a
// partial set rule is always defined and needs no comprehension.
//
// `with input as` gives each input its own evaluation of the rules, while
// the batch shares the set-up of the query and the cache of data it reads.
func prepareGate(ctx context.Context, c *ast.Compiler, store storage.Store, rules []rule) (*gateQuery, error) {
	parts := make([]string, len(rules))
	usesIndex := false
	for i, r := range rules {
		ref := ast.MustParseRef("data." + r.pkg).Append(ast.StringTerm(r.name))
		if r.partialSet {
			parts[i] = fmt.Sprintf("[%s]", ref)
		} else {
			parts[i] = fmt.Sprintf("[v | v := %s]", ref)
		}
		usesIndex = usesIndex || r.usesIndex
	}
	q, err := rego.New(
		rego.Compiler(c),
		rego.Store(store),
		rego.Query("x := [r | some doc in input; r := ["+strings.Join(parts, ", ")+"] with input as doc]"),
		rego.Capabilities(sandboxCapabilities()),
	).PrepareForEval(ctx)
	if err != nil {
		return nil, fmt.Errorf("preparing the policy query: %w", err)
	}
	return &gateQuery{query: q, rules: rules, usesIndex: usesIndex}, nil
}

// compile compiles modules as Rego v1, in the sandbox.
func compile(modules map[string]*ast.Module) (*ast.Compiler, error) {
	c := newCompiler()
	if c.Compile(modules); c.Failed() {
		return nil, fmt.Errorf("compiling policies: %w", c.Errors)
	}
	return c, nil
}

// newStore holds the data files' data; the per-run documents are served by
// resolvers instead, so that the prepared queries never change.
func newStore(data map[string]any) storage.Store {
	return inmem.NewFromObjectWithOpts(data, inmem.OptRoundTripOnWrite(false))
}

// policyRules finds the deny/violation/warn rules of the compiled modules,
// sorted by package and name, with the kinds each is limited to, and the
// exception rules (conftest's `exception contains rules if …`, see
// exceptions.go), one per package.
func policyRules(c *ast.Compiler) (rules, exceptions []rule) {
	byRef := map[string]*rule{}
	anyKind := map[string]bool{}
	notSet := map[string]bool{}
	for _, name := range sortedKeys(c.Modules) {
		m := c.Modules[name]
		pkg := strings.TrimPrefix(m.Package.Path.String(), "data.")
		for _, r := range m.Rules {
			ref := r.Head.Ref()
			if len(ref) != 1 || len(r.Head.Args) > 0 {
				continue
			}
			rname := ref[0].Value.(ast.Var).String()
			var sev Severity
			switch {
			case rname == exceptionRuleName:
				sev = severityException
			case !policyRuleName.MatchString(rname):
				continue
			case strings.HasPrefix(rname, "warn"):
				sev = SeverityWarn
			default:
				sev = SeverityDeny
			}
			key := pkg + "\x00" + rname
			x, ok := byRef[key]
			if !ok {
				x = &rule{pkg: pkg, name: rname, severity: sev, file: r.Location.File}
				byRef[key] = x
			} else if x.file != r.Location.File {
				x.file = ""
			}
			if r.Head.RuleKind() != ast.MultiValue {
				notSet[key] = true
			}
			x.usesIndex = x.usesIndex || readsIndex(c, r)
			// An exception rule is asked of every input; a policy rule is
			// limited to the kinds all its definitions test for.
			if sev == severityException {
				anyKind[key] = true
				continue
			}
			kind, ok := kindTest(r)
			if !ok {
				anyKind[key] = true
			} else if !slices.Contains(x.kinds, kind) {
				x.kinds = append(x.kinds, kind)
			}
		}
	}
	for key, r := range byRef {
		if anyKind[key] {
			r.kinds = nil
		}
		r.partialSet = !notSet[key]
		if r.severity == severityException {
			exceptions = append(exceptions, *r)
		} else {
			rules = append(rules, *r)
		}
	}
	byName := func(a, b rule) int {
		return strings.Compare(a.pkg+"\x00"+a.name, b.pkg+"\x00"+b.name)
	}
	slices.SortFunc(rules, byName)
	slices.SortFunc(exceptions, byName)
	return rules, exceptions
}

// inputKind is input.kind.
var inputKind = ast.Ref{ast.InputRootDocument, ast.StringTerm("kind")}

// kindTest finds, among the top-level expressions of r's body, a test
// input.kind == "<kind>" (or the kind on the left, or =), so that r can only
// hold for inputs of that kind. A rule with an else branch may hold without
// its body, so it has none.
func kindTest(r *ast.Rule) (string, bool) {
	if r.Else != nil {
		return "", false
	}
	for _, expr := range r.Body {
		if expr.Negated || len(expr.With) > 0 || !(expr.IsEquality() || isCall(expr, ast.Equal.Ref())) {
			continue
		}
		a, b := expr.Operand(0), expr.Operand(1)
		if s, ok := b.Value.(ast.String); ok && isInputKind(a) {
			return string(s), true
		}
		if s, ok := a.Value.(ast.String); ok && isInputKind(b) {
			return string(s), true
		}
	}
	return "", false
}

func isCall(expr *ast.Expr, op ast.Ref) bool {
	return expr.IsCall() && expr.Operator().Equal(op)
}

func isInputKind(t *ast.Term) bool {
	ref, ok := t.Value.(ast.Ref)
	return ok && ref.Equal(inputKind)
}

// checkIndexRules refuses a rule of meshintent.index that reads input, itself
// or through the rules and functions it uses: it is computed once per run,
// with no input, and would silently differ from its Rego unit tests.
func checkIndexRules(c *ast.Compiler) error {
	for _, name := range sortedKeys(c.Modules) {
		m := c.Modules[name]
		if !m.Package.Path.HasPrefix(indexPath) {
			continue
		}
		for _, r := range m.Rules {
			if via := readsInput(c, r); via != nil {
				return fmt.Errorf("%s:%d: index rule %s reads input (at %s:%d): rules of meshintent.index are computed once per run, without input",
					r.Location.File, r.Location.Row, r.Module.Package.Path.Extend(r.Head.Ref()), via.Location.File, via.Location.Row)
			}
		}
	}
	return nil
}

// readsInput returns the rule, r or one it depends on, that reads input.
func readsInput(c *ast.Compiler, r *ast.Rule) *ast.Rule {
	return findDependency(c, r, func(t *ast.Term) bool {
		v, ok := t.Value.(ast.Var)
		return ok && v.Equal(ast.InputRootDocument.Value)
	})
}

// readsIndex says whether r, or a rule it depends on, may read
// data.meshintent.index: a ref under it, or a ref whose ground part leads to
// it (data.meshintent[x]).
func readsIndex(c *ast.Compiler, r *ast.Rule) bool {
	return findDependency(c, r, func(t *ast.Term) bool {
		ref, ok := t.Value.(ast.Ref)
		return ok && ref.HasPrefix(ast.DefaultRootRef) && (ref.HasPrefix(indexPath) || indexPath.HasPrefix(ref.GroundPrefix()))
	}) != nil
}

// findDependency returns the first rule, r or one r depends on, with a term
// for which match holds.
func findDependency(c *ast.Compiler, r *ast.Rule, match func(*ast.Term) bool) *ast.Rule {
	seen := map[*ast.Rule]bool{}
	queue := []*ast.Rule{r}
	for len(queue) > 0 {
		x := queue[0]
		queue = queue[1:]
		if seen[x] {
			continue
		}
		seen[x] = true
		found := false
		ast.WalkTerms(x, func(t *ast.Term) bool {
			found = found || match(t)
			return found
		})
		if found {
			return x
		}
		for dep := range c.Graph.Dependencies(x) {
			if d, ok := dep.(*ast.Rule); ok {
				queue = append(queue, d)
			}
		}
	}
	return nil
}

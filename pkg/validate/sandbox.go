package validate

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
)

// The sandbox policies run in. Policies come from the repository, which is
// untrusted: they are compiled with a capabilities set that leaves out every
// builtin reaching outside the process, each evaluation has a time budget,
// and the files they come in are bounded.

// DeniedBuiltins are the OPA builtins policies may not call, with why. They
// are OPA's capabilities (ast.CapabilitiesForThisVersion) minus these; the
// rest is pure computation over the input and data, except time.now_ns (a
// policy may compare dates, e.g. the expiry of an exception) and the
// signatures of io.jwt.encode_sign (ECDSA signs with fresh randomness; no
// verdict depends on it). print and trace stay: the gate erases print calls
// and has no tracer, and `policy test` captures what they print.
var DeniedBuiltins = map[string]string{
	"http.send":          "it makes HTTP requests",
	"net.lookup_ip_addr": "it makes DNS queries",
	"opa.runtime":        "it reveals the process's environment variables and configuration",
	// A schema's $ref may name file:// (read from the host's disk) or
	// http(s):// URLs, and the schema can come from input.
	"json.match_schema":  "it loads a schema's $ref from the host's files and the network",
	"json.verify_schema": "it loads a schema's $ref from the host's files and the network",
	// A verdict must be a function of the revision: a random one would make
	// the controller apply and refuse the same commit in turn.
	"rand.intn":    "its result is random, so the verdict would not be reproducible",
	"uuid.rfc4122": "its result is random, so the verdict would not be reproducible",
}

// sandboxCapabilities is OPA's capabilities without DeniedBuiltins and with
// no network host allowed (allow_net: [], for any builtin that would still
// try).
func sandboxCapabilities() *ast.Capabilities {
	caps := ast.CapabilitiesForThisVersion()
	caps.Builtins = slices.DeleteFunc(slices.Clone(caps.Builtins), func(b *ast.Builtin) bool {
		_, denied := DeniedBuiltins[b.Name]
		return denied
	})
	caps.AllowNet = []string{}
	return caps
}

// AllowedBuiltins lists, sorted, the builtins policies may call.
func AllowedBuiltins() []string {
	caps := sandboxCapabilities()
	names := make([]string, 0, len(caps.Builtins))
	for _, b := range caps.Builtins {
		names = append(names, b.Name)
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// newCompiler is the compiler of every policy: Rego v1, sandboxed.
func newCompiler() *ast.Compiler {
	return ast.NewCompiler().WithDefaultRegoVersion(ast.RegoV1).WithCapabilities(sandboxCapabilities())
}

// checkSandbox returns an error naming the file, line and builtin of each
// call (or `with` replacement) of a denied builtin in modules, sorted by
// file and line. The compiler would refuse them too, as undefined
// functions; this says why.
func checkSandbox(modules map[string]*ast.Module) error {
	type use struct {
		file string
		row  int
		name string
	}
	var uses []use
	// note records t when it names a denied builtin, at its location or,
	// when it has none, at loc.
	note := func(t *ast.Term, loc *ast.Location) {
		ref, ok := t.Value.(ast.Ref)
		if !ok {
			return
		}
		name := ref.String()
		if _, denied := DeniedBuiltins[name]; !denied {
			return
		}
		loc = cmp.Or(t.Location, loc)
		if loc == nil {
			loc = &ast.Location{}
		}
		uses = append(uses, use{loc.File, loc.Row, name})
	}
	for _, m := range modules {
		ast.WalkExprs(m, func(e *ast.Expr) bool {
			if e.IsCall() {
				note(e.OperatorTerm(), e.Location)
			}
			for _, w := range e.With {
				note(w.Target, w.Location)
			}
			return false
		})
		ast.WalkTerms(m, func(t *ast.Term) bool {
			if call, ok := t.Value.(ast.Call); ok && len(call) > 0 {
				note(call[0], t.Location)
			}
			return false
		})
	}
	if len(uses) == 0 {
		return nil
	}
	slices.SortFunc(uses, func(a, b use) int {
		return cmp.Or(cmp.Compare(a.file, b.file), cmp.Compare(a.row, b.row), cmp.Compare(a.name, b.name))
	})
	uses = slices.Compact(uses)
	errs := make([]error, len(uses))
	for i, u := range uses {
		errs[i] = fmt.Errorf("%s:%d: builtin %s is not allowed in policies: %s", u.file, u.row, u.name, DeniedBuiltins[u.name])
	}
	return errors.Join(errs...)
}

// Defaults of the sandbox's limits (see Options).
const (
	// DefaultTimeout is the time budget of an evaluation.
	DefaultTimeout = 5 * time.Second
	// DefaultMaxFileSize is the largest policy or data file read.
	DefaultMaxFileSize = 4 << 20
	// DefaultMaxDataSize is the most bytes of data files read in all.
	DefaultMaxDataSize = 16 << 20
	// DefaultMaxInputSize is the most input (objects and intents, counted
	// as the bytes of their strings and keys plus 8 per value) an
	// evaluation takes.
	DefaultMaxInputSize = 64 << 20
)

// PolicyError is a failure of the policies rather than a verdict: a policy
// that does not parse or compile, calls a builtin outside the sandbox, is
// larger than a limit, overruns the time budget or fails to evaluate. Its
// callers report it apart from a denial (the controller's PolicyError
// reason); nothing may be applied.
type PolicyError struct {
	Err error
}

func (e *PolicyError) Error() string { return e.Err.Error() }
func (e *PolicyError) Unwrap() error { return e.Err }

// Timeout reports whether the evaluation overran its time budget: unlike
// the other policy errors this is no verdict on the policies, as a loaded
// machine may run out of time where an idle one would not.
func (e *PolicyError) Timeout() bool { return errors.Is(e.Err, errBudget) }

// policyError wraps err as a *PolicyError, unless it is nil or one already.
func policyError(err error) error {
	var pe *PolicyError
	if err == nil || errors.As(err, &pe) {
		return err
	}
	return &PolicyError{Err: err}
}

// limits are Options' limits with the defaults filled in.
type limits struct {
	timeout                 time.Duration
	maxFile, maxData, maxIn int64
}

func (o Options) limits() limits {
	l := limits{timeout: o.Timeout, maxFile: o.MaxFileSize, maxData: o.MaxDataSize, maxIn: o.MaxInputSize}
	if l.timeout <= 0 {
		l.timeout = DefaultTimeout
	}
	if l.maxFile <= 0 {
		l.maxFile = DefaultMaxFileSize
	}
	if l.maxData <= 0 {
		l.maxData = DefaultMaxDataSize
	}
	if l.maxIn <= 0 {
		l.maxIn = DefaultMaxInputSize
	}
	return l
}

// mib formats a size for limit errors.
func mib(n int64) string {
	if n < 1<<20 {
		return fmt.Sprintf("%d bytes", n)
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

// valueSize estimates the bytes a JSON-like value holds: its strings and
// keys, plus 8 per value. It stops counting past limit.
func valueSize(v any, limit int64) int64 {
	var n int64
	var walk func(any)
	walk = func(v any) {
		if n > limit {
			return
		}
		n += 8
		switch v := v.(type) {
		case string:
			n += int64(len(v))
		case map[string]any:
			for k, e := range v {
				n += int64(len(k))
				walk(e)
			}
		case []any:
			for _, e := range v {
				walk(e)
			}
		}
	}
	walk(v)
	return n
}

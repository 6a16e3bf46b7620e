package validate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/metrics"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/resolver"

	"github.com/meshintent/meshintent/pkg/intent"
	"github.com/meshintent/meshintent/pkg/manifest"
)

// Input is what a gate run evaluates.
type Input struct {
	// Objects is the rendered set; each object is evaluated as input.
	Objects manifest.Set
	// Intents are the intents the set was rendered from; each is evaluated as
	// input too (its Raw form, or its typed form when Raw is nil).
	Intents []intent.Document
}

// document is one converted input and what results about it carry.
type document struct {
	value  ast.Value
	kind   string
	id     string
	source string
	line   int
}

// Evaluate runs every policy against every object and intent of in and
// reports the results, exceptions applied (see Exception). An evaluation
// error (a rule with conflicting values) fails the run, naming the object;
// so does an input larger than Options.MaxInputSize, or a run longer than
// Options.Timeout: these are *PolicyError. A cancelled ctx is ctx's error.
func (e *Engine) Evaluate(ctx context.Context, in Input) (*Report, error) {
	budget, cancel := context.WithTimeoutCause(ctx, e.limits.timeout, errBudget)
	defer cancel()
	rep, err := e.evaluate(budget, in)
	switch {
	case err == nil:
		return rep, nil
	case ctx.Err() != nil:
		return nil, ctx.Err()
	case budget.Err() != nil:
		return nil, &PolicyError{Err: fmt.Errorf("policy evaluation took longer than its budget of %s (a policy that loops over too much?): %w", e.limits.timeout, errBudget)}
	}
	return nil, policyError(err)
}

// errBudget is the cause of an evaluation's cancellation when it overruns
// its time budget.
var errBudget = errors.New("time budget exceeded")

func (e *Engine) evaluate(ctx context.Context, in Input) (*Report, error) {
	if err := e.checkInputSize(in); err != nil {
		return nil, err
	}
	nObj := len(in.Objects)
	docs := make([]document, nObj+len(in.Intents))
	entries := make([]*ast.Term, len(in.Intents))

	// Convert each object and intent once; the value is both the object's
	// input and its element of data.meshintent.objects.
	err := e.parallel(ctx, len(docs), func(i int) error {
		if i < nObj {
			o := in.Objects[i]
			v, err := ast.InterfaceToValue(o.Object)
			if err != nil {
				return fmt.Errorf("%s: converting to Rego: %w", o.ID(), err)
			}
			docs[i] = document{value: v, kind: o.GetKind(), id: o.ID(), source: o.Source}
			return nil
		}
		d := in.Intents[i-nObj]
		v, err := intentValue(d)
		if err != nil {
			return fmt.Errorf("%s: converting to Rego: %w", d.ID(), err)
		}
		docs[i] = document{value: v, kind: d.Kind(), id: d.ID(), source: d.Source, line: d.Line}
		entries[i-nObj] = ast.ObjectTerm(
			ast.Item(ast.InternedTerm("id"), ast.StringTerm(d.ID())),
			ast.Item(ast.InternedTerm("kind"), ast.StringTerm(d.Kind())),
			ast.Item(ast.InternedTerm("source"), ast.StringTerm(d.Source)),
			ast.Item(ast.InternedTerm("line"), ast.IntNumberTerm(d.Line)),
			ast.Item(ast.InternedTerm("intent"), ast.NewTerm(v)),
		)
		return nil
	})
	if err != nil {
		return nil, err
	}
	objects := make([]*ast.Term, nObj)
	for i := range nObj {
		objects[i] = ast.NewTerm(docs[i].value)
	}
	opts := []rego.EvalOption{
		rego.EvalResolver(objectsPath, valueResolver{ast.NewArray(objects...)}),
		rego.EvalResolver(intentsPath, valueResolver{ast.NewArray(entries...)}),
		rego.EvalResolver(configPath, valueResolver{e.config}),
		rego.EvalGenerateJSON(rawTerm),
		rego.EvalMetrics(metrics.NoOp()),
	}

	// Batch the inputs by kind. Those whose rules read data.meshintent.index
	// wait for it; the others are evaluated while it is computed.
	now, later := e.batches(docs)
	perDoc := make([][]Result, len(docs))
	exceptions := newExceptionSet(e.exceptions, e.now())
	evaluate := func(opts []rego.EvalOption, batches []batch) error {
		// Clipped, so that each goroutine's append copies instead of sharing.
		opts = slices.Clip(opts)
		return e.parallel(ctx, len(batches), func(j int) error {
			return e.evaluateBatch(ctx, batches[j], docs, perDoc, opts, exceptions)
		})
	}

	var index ast.Value
	var indexErr error
	indexed := make(chan struct{})
	indexCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		defer close(indexed)
		index, indexErr = e.computeIndex(indexCtx, opts)
	}()
	err = evaluate(opts, now)
	if err != nil {
		cancel()
	}
	<-indexed
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if indexErr != nil {
		return nil, indexErr
	}
	if index != nil {
		opts = append(opts, rego.EvalResolver(indexPath, valueResolver{index}))
	}
	if err := evaluate(opts, later); err != nil {
		return nil, err
	}

	var all []Result
	for _, rs := range perDoc {
		all = append(all, rs...)
	}
	all = append(all, e.exceptionWarnings...)
	all = append(all, exceptions.warnings()...)
	return newReport(all, nObj, len(in.Intents)), nil
}

// checkInputSize refuses an input larger than the limit, naming the
// largest object or intent.
func (e *Engine) checkInputSize(in Input) error {
	var total, largest int64
	var largestID string
	add := func(id string, v any) {
		n := valueSize(v, e.limits.maxIn)
		total += n
		if n > largest {
			largest, largestID = n, id
		}
	}
	for _, o := range in.Objects {
		add(o.ID(), o.Object)
		if total > e.limits.maxIn {
			break
		}
	}
	for _, d := range in.Intents {
		if total > e.limits.maxIn {
			break
		}
		if d.Raw != nil {
			add(d.ID(), d.Raw)
		}
	}
	if total > e.limits.maxIn {
		return fmt.Errorf("the policy input is more than the limit of %s (the largest document is %s, %s)", mib(e.limits.maxIn), largestID, mib(largest))
	}
	return nil
}

// query is the gate query for a kind, nil when no rule applies to it.
func (e *Engine) query(kind string) *gateQuery {
	if q, ok := e.byKind[kind]; ok {
		return q
	}
	return e.other
}

// computeIndex evaluates data.meshintent.index for the run; nil when no
// module defines it.
func (e *Engine) computeIndex(ctx context.Context, opts []rego.EvalOption) (ast.Value, error) {
	if e.index == nil {
		return nil, nil
	}
	rs, err := e.index.Eval(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("computing data.meshintent.index: %w", err)
	}
	if len(rs) == 0 {
		return ast.NewObject(), nil
	}
	return rs[0].Bindings["x"].(*ast.Term).Value, nil
}

// batch is a run of inputs of one kind, evaluated by one query.
type batch struct {
	query *gateQuery
	docs  []int
}

// maxBatch bounds the inputs of a batch: large enough to share the
// evaluation's set-up and caches of data, small enough to spread over the
// workers.
const maxBatch = 64

// batches groups the inputs by query, in batches, split by whether the query
// reads data.meshintent.index. Inputs no rule applies to are left out.
func (e *Engine) batches(docs []document) (now, later []batch) {
	byQuery := map[*gateQuery][]int{}
	var order []*gateQuery
	for i, d := range docs {
		q := e.query(d.kind)
		if q == nil {
			continue
		}
		if _, ok := byQuery[q]; !ok {
			order = append(order, q)
		}
		byQuery[q] = append(byQuery[q], i)
	}
	for _, q := range order {
		idx := byQuery[q]
		// At least four batches a worker when there are enough inputs.
		size := min(maxBatch, max(1, len(idx)/(4*e.parallelism)))
		for chunk := range slices.Chunk(idx, size) {
			if q.usesIndex {
				later = append(later, batch{query: q, docs: chunk})
			} else {
				now = append(now, batch{query: q, docs: chunk})
			}
		}
	}
	return now, later
}

// evaluateBatch evaluates b's query, its input being the array of b's
// inputs, and stores each one's results in perDoc. When the batch fails, its
// inputs are evaluated one by one, so that the error names the culprit.
func (e *Engine) evaluateBatch(ctx context.Context, b batch, docs []document, perDoc [][]Result, opts []rego.EvalOption, ex *exceptionSet) error {
	terms := make([]*ast.Term, len(b.docs))
	for i, d := range b.docs {
		terms[i] = ast.NewTerm(docs[d].value)
	}
	rs, err := b.query.query.Eval(ctx, append(opts, rego.EvalParsedInput(ast.NewArray(terms...)), rego.EvalVirtualCache(newFlatCache()))...)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if len(b.docs) > 1 {
			for _, d := range b.docs {
				if err := e.evaluateBatch(ctx, batch{query: b.query, docs: []int{d}}, docs, perDoc, opts, ex); err != nil {
					return err
				}
			}
		}
		return fmt.Errorf("evaluating policies for %s: %w", docs[b.docs[0]].id, err)
	}
	var values *ast.Array
	if len(rs) == 1 {
		values, _ = rs[0].Bindings["x"].(*ast.Term).Value.(*ast.Array)
	}
	if values == nil || values.Len() != len(b.docs) {
		return fmt.Errorf("evaluating policies for %s: unexpected result %v", docs[b.docs[0]].id, rs)
	}
	for i, d := range b.docs {
		perDoc[d] = b.query.results(values.Elem(i).Value.(*ast.Array), docs[d], ex)
	}
	return nil
}

// results turns the rules' values for d into results, the denials that an
// exception covers waived. A malformed value of an exception rule is a
// warning.
func (q *gateQuery) results(values *ast.Array, d document, ex *exceptionSet) []Result {
	var out []Result
	var waivers map[string][]regoWaiver
	for j, r := range q.rules {
		v := values.Elem(j).Value.(*ast.Array)
		if r.severity != severityException || v.Len() == 0 {
			continue
		}
		ws, problems := r.regoWaivers(v.Elem(0).Value)
		if waivers == nil {
			waivers = map[string][]regoWaiver{}
		}
		waivers[r.pkg] = append(waivers[r.pkg], ws...)
		for _, p := range problems {
			out = append(out, Result{Policy: exceptionsPolicy, Rule: "warn", PolicyFile: r.file, Severity: SeverityWarn,
				Object: d.id, Source: d.source, Line: d.line, Message: "exception ignored: " + p})
		}
	}
	for j, r := range q.rules {
		v := values.Elem(j).Value.(*ast.Array)
		if r.severity == severityException || v.Len() == 0 {
			continue
		}
		n := len(out)
		out = r.results(out, v.Elem(0).Value, d)
		if r.severity == SeverityDeny && (len(ex.xs) > 0 || len(waivers[r.pkg]) > 0) {
			for i := n; i < len(out); i++ {
				ex.waive(&out[i], r.pkg, waivers[r.pkg])
			}
		}
	}
	return out
}

// results appends what a rule's value says about d: a set or array of
// messages, or one message. A message is a string, or an object with "msg"
// and optionally "field", "code" and "policy"; true stands for a message naming the
// rule, false and empty collections for none.
func (r rule) results(out []Result, v ast.Value, d document) []Result {
	switch v := v.(type) {
	case ast.Set:
		v.Foreach(func(t *ast.Term) { out = r.result(out, t.Value, d) })
	case *ast.Array:
		v.Foreach(func(t *ast.Term) { out = r.result(out, t.Value, d) })
	default:
		out = r.result(out, v, d)
	}
	return out
}

func (r rule) result(out []Result, v ast.Value, d document) []Result {
	res := Result{
		Policy: r.pkg, Rule: r.name, PolicyFile: r.file, Severity: r.severity,
		Object: d.id, Source: d.source, Line: d.line,
	}
	switch v := v.(type) {
	case ast.String:
		res.Message = string(v)
	case ast.Boolean:
		if !v {
			return out
		}
		res.Message = r.pkg + "." + r.name
	case ast.Object:
		res.Message = stringField(v, "msg")
		if res.Message == "" {
			res.Message = v.String()
		}
		res.Field = stringField(v, "field")
		res.Code = stringField(v, "code")
		if p := stringField(v, "policy"); p != "" {
			res.Policy = p
		}
	default:
		res.Message = v.String()
	}
	return append(out, res)
}

func stringField(o ast.Object, key string) string {
	if t := o.Get(ast.InternedTerm(key)); t != nil {
		if s, ok := t.Value.(ast.String); ok {
			return string(s)
		}
	}
	return ""
}

// intentValue is the intent as policies see it: Raw, or the typed intent in
// its JSON form when Raw is nil.
func intentValue(d intent.Document) (ast.Value, error) {
	if d.Raw != nil {
		return ast.InterfaceToValue(d.Raw)
	}
	var typed any = d.ServiceIntent
	if d.NamespaceIntent != nil {
		typed = d.NamespaceIntent
	}
	m, err := toJSONMap(typed)
	if err != nil {
		return nil, err
	}
	return ast.InterfaceToValue(m)
}

// parallel calls f for 0..n-1 on up to e.parallelism goroutines. After a
// failure it starts no more calls and returns the failure of the lowest i.
func (e *Engine) parallel(ctx context.Context, n int, f func(int) error) error {
	workers := min(e.parallelism, n)
	if workers <= 1 {
		for i := range n {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := f(i); err != nil {
				return err
			}
		}
		return nil
	}
	errs := make([]error, n)
	var next atomic.Int64
	var failed atomic.Bool
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for !failed.Load() {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := ctx.Err(); err != nil {
					errs[i] = err
					failed.Store(true)
					return
				}
				if err := f(i); err != nil {
					errs[i] = err
					failed.Store(true)
				}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// valueResolver serves a precomputed value at a data path.
type valueResolver struct{ v ast.Value }

func (r valueResolver) Eval(context.Context, resolver.Input) (resolver.Result, error) {
	return resolver.Result{Value: r.v}, nil
}

// rawTerm keeps results as Rego terms instead of converting them to Go.
func rawTerm(t *ast.Term, _ *rego.EvalContext) (any, error) { return t, nil }

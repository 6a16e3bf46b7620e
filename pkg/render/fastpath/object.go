package fastpath

import (
	"errors"
	"strconv"
	"strings"

	"github.com/meshintent/meshintent/pkg/intent"
	"github.com/meshintent/meshintent/pkg/manifest"
)

// Object is one object out of a build (the fast path's or kustomize's)
// and where it came from.
type Object struct {
	Obj    map[string]any
	Source string // repo-relative file that declared it
	Line   int    // 1-based line of its document in source, 0 when unknown
}

// ObjectName is Kind/namespace/name for messages, quoted when it holds a
// line break (see OneLine).
func ObjectName(obj map[string]any) string {
	m := intent.Metadata(obj)
	return OneLine(manifest.ObjectID(intent.StringField(obj, "kind"), intent.StringField(m, "namespace"), intent.StringField(m, "name")))
}

// OneLine quotes s (as Go does) when it holds a line break: a kind or name
// from the repository must not start a line of its own in an error, where
// it could pass for another error or a policy verdict.
func OneLine(s string) string {
	if strings.ContainsAny(s, "\r\n\v\f\u0085\u2028\u2029") {
		return strconv.Quote(s)
	}
	return s
}

// OneLineError joins the lines of a multi-line error (yaml.v3 lists its
// unmarshal errors one a line), so that every error prints as one line.
func OneLineError(err error) error {
	msg := err.Error()
	if !strings.ContainsAny(msg, "\r\n") {
		return err
	}
	return errors.New(strings.Join(strings.Fields(msg), " "))
}

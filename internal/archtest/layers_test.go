// Package archtest keeps the module's architecture true: imports point down
// the layers api/ ← pkg/ ← internal/ ← cmd/, and every package says its job
// in a package comment.
//
// The layers, from the bottom:
//
//   - api/ and policies/ (the IntentSync types, the built-in Rego) import no
//     other package of this module;
//   - pkg/ (the library another module could import: one package per stage
//     plus small shared ones) imports only api/, policies/ and pkg/;
//   - internal/ (CLI, controller, test harness) imports the layers below it
//     and internal/;
//   - cmd/ and test/ (binaries, end-to-end suites, the demo, benchmarks) may
//     import anything of the module, but nothing outside test/ imports test/.
//
// Two exceptions, for test files only, which nothing that imports the package
// builds:
//
//   - a _test.go file of pkg/ may import internal/testenv (the real control
//     plane) and internal/gitfixture (real Git repositories), the harness a
//     library's tests run on;
//   - a _test.go file of policies/ may import pkg/validate: the Rego's unit
//     tests run the policies through the engine that ships them.
package archtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// testHarness are the internal/ packages a pkg/ test file may import.
var testHarness = []string{"internal/testenv", "internal/gitfixture"}

// layer names the layer of a module-relative package path ("pkg/apply").
func layer(rel string) string {
	top, _, _ := strings.Cut(rel, "/")
	switch top {
	case "api", "policies":
		return "api"
	case "pkg", "internal", "cmd", "test":
		return top
	}
	return "root"
}

// allowed reports whether the package at module-relative path from may
// import the package at to; inTest is true for an import in a _test.go file.
// When it may not, the reason says which rule forbids it.
func allowed(from, to string, inTest bool) (ok bool, reason string) {
	lf, lt := layer(from), layer(to)
	if lt == "test" && lf != "test" {
		return false, "only test/ imports test/"
	}
	switch lf {
	case "api":
		if lt == "api" && to == from {
			return true, ""
		}
		if inTest && from == "policies" && to == "pkg/validate" {
			return true, ""
		}
		return false, "api/ and policies/ import nothing of this module"
	case "pkg":
		if lt == "api" || lt == "pkg" {
			return true, ""
		}
		if inTest && slices.Contains(testHarness, to) {
			return true, ""
		}
		if inTest {
			return false, "pkg/ imports only api/, policies/ and pkg/ (its tests also internal/testenv and internal/gitfixture)"
		}
		return false, "pkg/ imports only api/, policies/ and pkg/"
	case "internal":
		if lt == "api" || lt == "pkg" || lt == "internal" {
			return true, ""
		}
		return false, "internal/ imports only api/, policies/, pkg/ and internal/"
	case "cmd", "test":
		if lt == "cmd" {
			return false, "nothing imports cmd/"
		}
		return true, ""
	}
	return false, "a package outside api/, policies/, pkg/, internal/, cmd/ and test/ has no layer"
}

func TestLayerRules(t *testing.T) {
	tests := []struct {
		from, to string
		inTest   bool
		want     bool
	}{
		{"api/v1alpha1", "api/v1alpha1", false, true},
		{"api/v1alpha1", "pkg/intent", false, false},
		{"policies", "pkg/validate", false, false},
		{"policies", "pkg/validate", true, true},
		{"policies", "pkg/apply", true, false},
		{"api/v1alpha1", "pkg/validate", true, false},
		{"pkg/apply", "api/v1alpha1", false, true},
		{"pkg/validate", "policies", false, true},
		{"pkg/apply", "pkg/canonical", false, true},
		{"pkg/apply", "internal/cli", false, false},
		{"pkg/apply", "internal/testenv", false, false},
		{"pkg/apply", "internal/testenv", true, true},
		{"pkg/source", "internal/gitfixture", true, true},
		{"pkg/importer", "internal/cli", true, false},
		{"pkg/apply", "cmd/reconciler", false, false},
		{"pkg/apply", "test/e2e", true, false},
		{"internal/cli", "pkg/apply", false, true},
		{"internal/controller", "internal/cli", false, true},
		{"internal/cli", "test/e2e", true, false},
		{"cmd/reconciler", "internal/cli", false, true},
		{"test/e2e", "internal/cli", true, true},
		{"test/e2e", "test/faults", true, true},
		{"test/e2e", "cmd/reconciler", true, false},
		{"hack", "pkg/apply", false, false},
	}
	for _, tt := range tests {
		name := fmt.Sprintf("%s importing %s (test file: %v)", tt.from, tt.to, tt.inTest)
		t.Run(name, func(t *testing.T) {
			got, reason := allowed(tt.from, tt.to, tt.inTest)
			if got != tt.want {
				t.Errorf("allowed = %v (%s), want %v", got, reason, tt.want)
			}
			if !got && reason == "" {
				t.Error("a refusal gives no reason")
			}
		})
	}
}

// pkg is the part of `go list -json` these tests read.
type pkg struct {
	ImportPath     string
	Name           string
	Dir            string
	Module         *struct{ Path string }
	GoFiles        []string
	CgoFiles       []string
	TestGoFiles    []string
	XTestGoFiles   []string
	IgnoredGoFiles []string // files for other platforms still keep the layers
	Error          *struct{ Err string }
}

// listModule lists every package of the module this test belongs to.
func listModule(t *testing.T) (module, dir string, pkgs []pkg) {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Path}} {{.Dir}}").Output()
	if err != nil {
		t.Fatalf("go list -m: %v", exitDetail(err))
	}
	module, dir, _ = strings.Cut(strings.TrimSpace(string(out)), " ")
	cmd := exec.Command("go", "list", "-e", "-json=ImportPath,Name,Dir,Module,GoFiles,CgoFiles,TestGoFiles,XTestGoFiles,IgnoredGoFiles,Error", "./...")
	cmd.Dir = dir
	out, err = cmd.Output()
	if err != nil {
		t.Fatalf("go list ./...: %v", exitDetail(err))
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("decoding go list: %v", err)
		}
		if p.Error != nil {
			t.Errorf("go list: %s: %s", p.ImportPath, p.Error.Err)
			continue
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) < 10 {
		t.Fatalf("go list found %d packages in %s; the check would prove nothing", len(pkgs), dir)
	}
	return module, dir, pkgs
}

func exitDetail(err error) error {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return fmt.Errorf("%w: %s", err, ee.Stderr)
	}
	return err
}

// TestImportsPointDown checks every import of every Go file of the module,
// test files and other platforms' files included, against the layers.
func TestImportsPointDown(t *testing.T) {
	module, root, pkgs := listModule(t)
	var bad []string
	fset := token.NewFileSet()
	for _, p := range pkgs {
		from, ok := strings.CutPrefix(p.ImportPath, module+"/")
		if !ok {
			from = "" // the module root, if it ever holds a package
		}
		for _, name := range slices.Concat(p.GoFiles, p.CgoFiles, p.TestGoFiles, p.XTestGoFiles, p.IgnoredGoFiles) {
			path := filepath.Join(p.Dir, name)
			f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
			if err != nil {
				t.Errorf("parsing %s: %v", path, err)
				continue
			}
			for _, imp := range f.Imports {
				target, err := strconv.Unquote(imp.Path.Value)
				if err != nil {
					t.Errorf("%s: import %s: %v", fset.Position(imp.Pos()), imp.Path.Value, err)
					continue
				}
				to, ours := strings.CutPrefix(target, module+"/")
				if !ours {
					continue
				}
				if ok, reason := allowed(from, to, strings.HasSuffix(name, "_test.go")); !ok {
					pos := fset.Position(imp.Pos())
					rel, _ := filepath.Rel(root, pos.Filename)
					bad = append(bad, fmt.Sprintf("%s:%d imports %s: %s", rel, pos.Line, to, reason))
				}
			}
		}
	}
	if len(bad) > 0 {
		t.Errorf("%d imports point up or sideways across the layers (see the package comment of internal/archtest):\n\t%s",
			len(bad), strings.Join(bad, "\n\t"))
	}
}

// sentenceEnd matches the end of a sentence: a full stop, question or
// exclamation mark followed by a space or the end, not after "e.g"/"i.e".
var sentenceEnd = regexp.MustCompile(`[^.]{2}[.!?](\s|$)`)

// TestEveryPackageSaysItsJob checks that every package has a package comment
// that starts with its name ("Package x" or, for a command, "Command x") and
// whose first paragraph says its job in one or two sentences. The comment
// sits on a non-test file when the package has one, where go doc reads it.
func TestEveryPackageSaysItsJob(t *testing.T) {
	_, _, pkgs := listModule(t)
	fset := token.NewFileSet()
	for _, p := range pkgs {
		t.Run(p.ImportPath, func(t *testing.T) {
			files := slices.Concat(p.GoFiles, p.CgoFiles)
			if len(files) == 0 { // a package of tests only
				files = slices.Concat(p.TestGoFiles, p.XTestGoFiles)
			}
			var docs []*ast.CommentGroup
			var where []string
			for _, name := range files {
				f, err := parser.ParseFile(fset, filepath.Join(p.Dir, name), nil, parser.PackageClauseOnly|parser.ParseComments)
				if err != nil {
					t.Fatalf("parsing %s: %v", name, err)
				}
				if f.Doc != nil {
					docs = append(docs, f.Doc)
					where = append(where, name)
				}
			}
			switch {
			case len(docs) == 0:
				t.Fatalf("no package comment in %s: write one that says the package's job in a sentence or two", strings.Join(files, ", "))
			case len(docs) > 1:
				t.Errorf("package comments in %d files (%s): keep one", len(docs), strings.Join(where, ", "))
			}
			text := docs[0].Text()
			prefix := "Package " + p.Name + " "
			if p.Name == "main" {
				prefix = "Command " + filepath.Base(p.Dir) + " "
			}
			if !strings.HasPrefix(text, prefix) {
				t.Errorf("%s: the package comment starts %q, want %q", where[0], firstLine(text), prefix+"…")
			}
			first, _, _ := strings.Cut(text, "\n\n")
			if n := len(sentenceEnd.FindAllStringIndex(first, -1)); n > 2 {
				t.Errorf("%s: the package comment's first paragraph has %d sentences; say the job in one or two, then go on in a new paragraph:\n%s", where[0], n, first)
			}
		})
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

package cli

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/meshintent/meshintent/pkg/output"
	"github.com/meshintent/meshintent/pkg/validate"
)

// outputFlags choose the format of validate and plan, and the artifact
// file.
type outputFlags struct {
	format string
	file   string
}

func (o *outputFlags) register(cmd *cobra.Command, formats []string) {
	cmd.Flags().StringVarP(&o.format, "output", "o", "text", "output format: "+strings.Join(formats, ", "))
	cmd.Flags().StringVar(&o.file, "output-file", "", "also write the full output to this file (for a CI artifact): with -o markdown, uncut by the comment size cap")
}

// write prints the output to stdout (a Markdown comment capped to GitHub's
// size) and, with --output-file, the full output to the file.
func (o *outputFlags) write(stdout io.Writer, fn func(w io.Writer, full bool) error) error {
	if err := fn(stdout, false); err != nil {
		return err
	}
	if o.file == "" {
		return nil
	}
	var b bytes.Buffer
	if err := fn(&b, true); err != nil {
		return err
	}
	if err := os.WriteFile(o.file, b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("--output-file: %w", err)
	}
	return nil
}

// outputOptions are the writers' options for a tree rooted at root.
// prefix is the root's path inside the Git work tree CI checked out.
func outputOptions(root, prefix string, rep *validate.Report, full bool) output.Options {
	opts := output.Options{PathPrefix: prefix}
	if full {
		opts.MaxMarkdown = -1
	}
	opts.Descriptions = output.Describe(rep.Results, func(file string) ([]byte, error) {
		p := filepath.FromSlash(file)
		if filepath.IsLocal(p) {
			return os.ReadFile(filepath.Join(root, p))
		}
		return os.ReadFile(p) // a --policy-dir's file, named as given
	})
	return opts
}

// workTreePrefix returns dir's slash-separated path inside the Git work tree
// holding it (the nearest ancestor with .git), "" when dir is the work
// tree's top or in none: GitHub and code scanning name files from there.
func workTreePrefix(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return ""
	}
	for d := abs; ; {
		if _, err := os.Lstat(filepath.Join(d, ".git")); err == nil {
			rel, err := filepath.Rel(d, abs)
			if err != nil || rel == "." {
				return ""
			}
			return filepath.ToSlash(rel)
		}
		parent := filepath.Dir(d)
		if parent == d {
			return ""
		}
		d = parent
	}
}

package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// Set at link time, for release builds that are not built from a Git work
// tree (e.g. from a source tarball):
//
//	go build -ldflags "-X github.com/meshintent/meshintent/internal/cli.buildVersion=v1.2.0 -X github.com/meshintent/meshintent/internal/cli.buildCommit=abc123…"
//
// When empty, the version and commit come from the build information the Go
// toolchain embeds (the module version, vcs.revision).
var (
	buildVersion string
	buildCommit  string
)

// Modules whose versions `reconciler version` reports, by the name shown.
const (
	modKustomize  = "sigs.k8s.io/kustomize/api"
	modOPA        = "github.com/open-policy-agent/opa"
	modKubernetes = "k8s.io/client-go"
	modIstio      = "istio.io/api"
)

// versionInfo is what `reconciler version` prints.
type versionInfo struct {
	// Version is the release (-ldflags) or the main module's version:
	// a tag, a pseudo-version, or "(devel)" for `go run` and tests.
	Version string `json:"version"`
	// Commit is the Git commit built, "" when unknown (go run, go test,
	// -buildvcs=false).
	Commit string `json:"commit"`
	// Modified is true when the work tree had uncommitted changes.
	Modified bool `json:"modified"`
	// CommitTime is the commit's time (RFC 3339), when known.
	CommitTime string `json:"commitTime,omitempty"`
	// Go is the toolchain version, OS and architecture.
	Go       string `json:"go"`
	Platform string `json:"platform"`
	// Kustomize, OPA, Kubernetes and Istio are the versions of the modules
	// that render, evaluate policies and talk to clusters.
	Kustomize  string `json:"kustomize"`
	OPA        string `json:"opa"`
	Kubernetes string `json:"kubernetes"`
	Istio      string `json:"istio"`
}

// readVersion collects versionInfo from the embedded build information and
// the link-time variables. It only reads memory: no scheme, policy or client
// is initialised.
func readVersion() versionInfo {
	v := versionInfo{
		Version:  "(devel)",
		Go:       runtime.Version(),
		Platform: runtime.GOOS + "/" + runtime.GOARCH,
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			v.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				v.Commit = s.Value
			case "vcs.modified":
				v.Modified = s.Value == "true"
			case "vcs.time":
				v.CommitTime = s.Value
			}
		}
		for _, d := range bi.Deps {
			if d.Replace != nil {
				d = d.Replace
			}
			switch d.Path {
			case modKustomize:
				v.Kustomize = d.Version
			case modOPA:
				v.OPA = d.Version
			case modKubernetes:
				v.Kubernetes = d.Version
			case modIstio:
				v.Istio = d.Version
			}
		}
	}
	if buildVersion != "" {
		v.Version = buildVersion
	}
	if buildCommit != "" {
		v.Commit, v.Modified, v.CommitTime = buildCommit, false, ""
	}
	return v
}

func newVersionCommand(a *app) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit and the versions of Go, kustomize, OPA, Kubernetes and Istio libraries",
		Long: `version prints the reconciler's version and Git commit, and the versions of
the Go toolchain and of the libraries that decide its behaviour: kustomize
(rendering), OPA (policies), client-go (Kubernetes) and Istio's API types.`,
		Example: `  reconciler version
  reconciler version -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output, "text", "json"); err != nil {
				return err
			}
			v := readVersion()
			if output == "json" {
				return writeJSON(a.stdout, v)
			}
			return writeVersionText(a, v)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	return cmd
}

// writeVersionText prints v for people, e.g.
//
//	reconciler v0.4.0
//	  commit      3f2a…c9 (modified)
//	  go          go1.26.0 linux/amd64
//	  kustomize   v0.21.2
func writeVersionText(a *app, v versionInfo) error {
	st := styleOf(a.stdout)
	unknown := func(s string) string {
		if s == "" {
			return "unknown"
		}
		return s
	}
	commit := unknown(v.Commit)
	if v.Modified {
		commit += " (modified)"
	}
	if v.CommitTime != "" {
		commit += ", " + v.CommitTime
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s\n", st.bold("reconciler"), v.Version)
	for _, row := range [][2]string{
		{"commit", commit},
		{"go", v.Go + " " + v.Platform},
		{"kustomize", unknown(v.Kustomize)},
		{"opa", unknown(v.OPA)},
		{"kubernetes", unknown(v.Kubernetes) + " (client-go)"},
		{"istio", unknown(v.Istio) + " (istio.io/api)"},
	} {
		fmt.Fprintf(&b, "  %-11s %s\n", row[0], row[1])
	}
	_, err := fmt.Fprint(a.stdout, b.String())
	return err
}

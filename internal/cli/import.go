package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/meshintent/meshintent/pkg/importer"
	"github.com/meshintent/meshintent/pkg/termsafe"
)

func newImportCommand(a *app) *cobra.Command {
	var (
		cl        clusterFlags
		namespace string
		out       string
		service   string
	)
	cmd := &cobra.Command{
		Use:   "import --namespace NS",
		Short: "Turn the live VirtualServices and DestinationRules of a namespace into ServiceIntents",
		Long: `import reads the VirtualServices and DestinationRules of a namespace (for
example those made by Kiali's wizards) and writes one ServiceIntent per
Service that renders back to the same specs. Each intent is checked before it
is written: decoded strictly, rendered and compared with the live specs as
Istio reads them.

What an intent cannot express (TCP or TLS routes, rewrites, redirects, CORS,
header manipulation, gateways, several hosts, exportTo, delegation, subsets
of another host...) is never dropped silently: the Service gets a note, and
is skipped when its intent would not be equivalent. Notes go to stderr and,
as comments, to the top of each intent.

Without --out the intents are printed as one YAML stream; with --out each is
written to DIR/<service>.yaml, with DIR/kustomization.yaml listing them.
Exit 0 on success (skipped Services included, unless --service names one),
2 on errors.`,
		Example: `  reconciler import --namespace bookinfo
  reconciler import --namespace bookinfo --out mesh/bookinfo
  reconciler import --namespace bookinfo --service reviews --context prod`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if namespace == "" {
				return usageError(errors.New("import needs --namespace"))
			}
			cfg, err := cl.restConfig()
			if err != nil {
				return err
			}
			c, err := client.New(cfg, client.Options{})
			if err != nil {
				return fmt.Errorf("connecting to %s: %w", cfg.Host, err)
			}
			res, err := importer.Import(cmd.Context(), c, importer.Options{Namespace: namespace, Service: service})
			if err != nil {
				return err
			}
			for _, n := range res.Notes {
				fmt.Fprintf(a.stderr, "note: %s\n", noteText(n))
			}
			imported := res.Imported()
			if len(res.Services) == 0 {
				fmt.Fprintf(a.stderr, "no VirtualService or DestinationRule of namespace %s is about a Service of it\n", namespace)
			}
			if service != "" && len(imported) == 0 {
				return fmt.Errorf("service %s was not imported: see the notes above", service)
			}
			if out == "" {
				b, err := res.YAML()
				if err != nil {
					return err
				}
				_, err = a.stdout.Write(b)
				return err
			}
			paths, err := res.WriteDir(out)
			for _, p := range paths {
				fmt.Fprintf(a.stdout, "wrote %s\n", termsafe.Line(p))
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "imported %d of %s of namespace %s\n", len(imported), plural(len(res.Services), "service", "services"), namespace)
			return nil
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&cl.kubeconfig, "kubeconfig", "", "kubeconfig file (default: $KUBECONFIG, ~/.kube/config, then in-cluster)")
	fs.StringVar(&cl.context, "context", "", "kubeconfig context (default: the current one)")
	fs.StringVarP(&namespace, "namespace", "n", "", "namespace to import (required)")
	fs.StringVar(&out, "out", "", "directory to write <service>.yaml files and kustomization.yaml into (default: print a YAML stream)")
	fs.StringVar(&service, "service", "", "import only this Service")
	return cmd
}

// noteText is n for a terminal. Notes quote the cluster's objects (names,
// hosts, header values anyone with write access there chose), so control
// and bidi characters are escaped: the first line whole (a line break in
// a value cannot start a forged line), the diff some notes carry after it
// with its line breaks kept.
func noteText(n importer.Note) string {
	first, rest, multiline := strings.Cut(n.String(), "\n")
	if !multiline {
		return termsafe.Line(first)
	}
	return termsafe.Line(first) + "\n" + termsafe.Text(rest)
}

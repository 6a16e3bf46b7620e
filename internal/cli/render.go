package cli

import (
	"github.com/spf13/cobra"
)

func newRenderCommand(a *app) *cobra.Command {
	var in inputFlags
	cmd := &cobra.Command{
		Use:   "render [DIR]",
		Short: "Build the intents with kustomize and print the Istio and Kubernetes objects",
		Example: `  reconciler render examples/repo/overlays/prod
  reconciler render --repo https://git.example.com/mesh.git --ref main --path overlays/prod`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			t, err := in.resolve(cmd.Context(), args)
			if err != nil {
				return err
			}
			out, err := in.build(cmd.Context(), t, false)
			if err != nil {
				return err
			}
			b, err := out.Render.Objects.YAML()
			if err != nil {
				return err
			}
			_, err = a.stdout.Write(b)
			return err
		},
	}
	in.register(cmd, true)
	return cmd
}

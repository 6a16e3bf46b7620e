// Command demo starts a local control plane (kube-apiserver and etcd with the
// Istio CRDs), syncs an intent repository into it with the reconciler CLI,
// then edits a weight behind Git's back to show the drift report and its
// correction. `make demo` runs it; Ctrl-C stops everything.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/go-logr/logr"
	"k8s.io/klog/v2"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/meshintent/meshintent/internal/cli"
	"github.com/meshintent/meshintent/internal/testenv"
)

func main() {
	// controller-runtime and client-go log through global loggers; the demo
	// prints its own story, so set them before anything can log (else
	// controller-runtime warns, with a stack trace, that none was set).
	ctrllog.SetLogger(logr.Discard())
	klog.SetLogger(logr.Discard())

	if len(os.Args) > 1 && os.Args[1] == "notify" {
		if err := notify(context.Background(), os.Args[2:], os.Stdout); err != nil {
			fmt.Fprintf(os.Stderr, "demo notify: %v\n", err)
			os.Exit(1)
		}
		return
	}

	var opts options
	flag.StringVar(&opts.repoDir, "repo-dir", "examples/repo", "intent repository to sync")
	flag.StringVar(&opts.path, "path", "overlays/prod", "kustomization inside the repository")
	flag.BoolVar(&opts.wait, "wait", true, "keep the control plane running until Ctrl-C when done")
	flag.Parse()
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintf(os.Stderr, "demo: %v\n", err)
		os.Exit(1)
	}
	opts.self = self

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err = run(ctx, opts, os.Stdout)
	if ctx.Err() != nil {
		// Ctrl-C (or SIGTERM) is how the demo is meant to end, wherever it is.
		fmt.Fprintln(os.Stdout, "\nStopped: the controller, the control plane and the demo's temp files are gone. Bye!")
		return
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "demo: %v\n", err)
		os.Exit(1)
	}
}

type options struct {
	repoDir, path string
	wait          bool
	// self is the demo's own binary, which the repository's post-commit
	// hook runs as `demo notify`.
	self string
}

func run(ctx context.Context, opts options, w io.Writer) error {
	began := time.Now()
	step(w, "Starting a local control plane: kube-apiserver v1.37.2 + etcd, with the Istio CRDs")
	env, err := testenv.Start(ctx)
	if err != nil {
		return err
	}
	defer func() {
		if ctx.Err() == nil {
			step(w, "Stopping the control plane")
		}
		if err := env.Stop(); err != nil {
			fmt.Fprintf(w, "demo: %v\n", err)
		}
	}()
	tmp, err := os.MkdirTemp("", "meshintent-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	kubeconfig := filepath.Join(tmp, "kubeconfig")
	if err := env.WriteKubeconfig(kubeconfig); err != nil {
		return err
	}
	fmt.Fprintf(w, "API server at %s\nexport KUBECONFIG=%s\n", env.Config.Host, kubeconfig)

	step(w, "Creating namespace bookinfo, with a label of its own team that meshintent must keep")
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		Name:   "bookinfo",
		Labels: map[string]string{"team": "books"},
	}}
	if err := env.Client.Create(ctx, ns); err != nil {
		return fmt.Errorf("creating namespace: %w", err)
	}

	dir := filepath.Join(opts.repoDir, opts.path)
	reconciler := func(args ...string) int {
		fmt.Fprintf(w, "$ reconciler %s\n", strings.Join(args, " "))
		return cli.Run(ctx, args, w, w)
	}
	kubectl := func(args ...string) error {
		fmt.Fprintf(w, "$ kubectl %s\n", strings.Join(args, " "))
		cmd := exec.CommandContext(ctx, "kubectl", append([]string{"--kubeconfig", kubeconfig}, args...)...)
		cmd.Stdout, cmd.Stderr = w, w
		return cmd.Run()
	}

	step(w, "Validating "+dir+" against the built-in and the repository's policies")
	if code := reconciler("validate", dir); code != cli.ExitOK {
		return fmt.Errorf("validate exited %d", code)
	}

	step(w, "Applying "+dir+" (dry-run first, then server-side apply as field manager meshintent)")
	if code := reconciler("apply", dir, "--kubeconfig", kubeconfig, "--prune"); code != cli.ExitOK {
		return fmt.Errorf("apply exited %d", code)
	}
	if err := kubectl("get", "namespace", "bookinfo", "--show-labels"); err != nil {
		return err
	}
	if err := kubectl("get", "virtualservices,destinationrules,telemetries", "-n", "bookinfo"); err != nil {
		return err
	}

	step(w, "Applying again: nothing changed, so nothing is written")
	if code := reconciler("apply", dir, "--kubeconfig", kubeconfig, "--prune"); code != cli.ExitOK {
		return fmt.Errorf("apply exited %d", code)
	}

	step(w, "Someone shifts reviews traffic by hand, and Kiali's wizard adds a VirtualService nobody keeps in Git")
	patch, err := weightPatch(ctx, env.Client)
	if err != nil {
		return err
	}
	if err := kubectl("patch", "virtualservice", "reviews", "-n", "bookinfo", "--type=json", "-p", patch); err != nil {
		return err
	}
	if err := env.Client.Create(ctx, wizardVirtualService()); err != nil {
		return fmt.Errorf("creating the wizard's VirtualService: %w", err)
	}

	step(w, "The drift report (exit 1: drifted)")
	if code := reconciler("diff", dir, "--kubeconfig", kubeconfig); code != cli.ExitDenied {
		return fmt.Errorf("diff exited %d, want 1 (drift)", code)
	}

	step(w, "Correcting the drift: apply with --force takes the field back from kubectl-patch")
	if code := reconciler("apply", dir, "--kubeconfig", kubeconfig, "--force"); code != cli.ExitOK {
		return fmt.Errorf("apply exited %d", code)
	}
	step(w, "The drift report after the correction (the wizard's object stays reported until someone adopts or deletes it)")
	reconciler("diff", dir, "--kubeconfig", kubeconfig)

	ctl, err := runController(ctx, w, env, tmp, opts, kubectl)
	if err != nil {
		return err
	}
	defer ctl.stop()

	step(w, fmt.Sprintf("Done in %s. What happened:", time.Since(began).Round(time.Second)))
	fmt.Fprint(w, `  - validate: the policies passed the rendered objects of `+dir+`
  - apply: created them; applied again: nothing written
  - drift: a kubectl edit and a Kiali wizard's VirtualService were reported (diff, exit 1), then corrected (apply --force)
  - controller: an IntentSync follows the repository below; a commit was applied through the post-commit hook in `+ctl.commitLatency+`
  - a weight edited by hand was reverted in `+ctl.revertLatency+`
`)
	if !opts.wait {
		return nil
	}
	fmt.Fprintf(w, `
What to try next: the controller keeps running and every commit to the repository
is sent to it by the repository's post-commit hook (a signed GitHub push webhook).
  cd %[1]s
  export KUBECONFIG=%[2]s
  Edit a weight:     in %[3]s/reviews.yaml set the v1 and v2 weights to 50 and 45, then git commit -qam "more v2"
  Suspend a version: in %[3]s/reviews.yaml write versions: [v2, v3] under suspend, then git commit -qam "suspend v2"
  Break a policy:    delete the suspend's reason line, git commit -qam "no reason", then
                     kubectl get intentsyncs -A   (READY False, REASON PolicyDenied; nothing is applied)
  Watch:             kubectl get intentsyncs -A -w, or kubectl get events -n meshintent-system -w
Each commit is reported here. Ctrl-C stops everything.
`, ctl.repoDir, kubeconfig, opts.path)
	return ctl.watch(ctx, w)
}

// weightPatch flips the weights of the last (catch-all) route of the reviews
// VirtualService, as a person editing it by hand would.
func weightPatch(ctx context.Context, c client.Client) (string, error) {
	vs := &unstructured.Unstructured{}
	vs.SetGroupVersionKind(schema.GroupVersionKind{Group: "networking.istio.io", Version: "v1", Kind: "VirtualService"})
	if err := c.Get(ctx, client.ObjectKey{Namespace: "bookinfo", Name: "reviews"}, vs); err != nil {
		return "", fmt.Errorf("reading VirtualService reviews: %w", err)
	}
	http, _, _ := unstructured.NestedSlice(vs.Object, "spec", "http")
	if len(http) == 0 {
		return "", errors.New("VirtualService reviews has no http routes")
	}
	last := len(http) - 1
	route, _, _ := unstructured.NestedSlice(http[last].(map[string]any), "route")
	if len(route) < 2 {
		return "", errors.New("the last reviews route has fewer than two destinations")
	}
	return fmt.Sprintf(`[{"op":"replace","path":"/spec/http/%d/route/0/weight","value":50},`+
		`{"op":"replace","path":"/spec/http/%d/route/1/weight","value":50}]`, last, last), nil
}

func wizardVirtualService() *unstructured.Unstructured {
	vs := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "networking.istio.io/v1",
		"kind":       "VirtualService",
		"metadata": map[string]any{
			"name": "mongodb", "namespace": "bookinfo",
			"labels": map[string]any{"kiali_wizard": "request_routing"},
		},
		"spec": map[string]any{
			"hosts": []any{"mongodb"},
			"tcp":   []any{map[string]any{"route": []any{map[string]any{"destination": map[string]any{"host": "mongodb"}}}}},
		},
	}}
	return vs
}

func step(w io.Writer, msg string) {
	fmt.Fprintf(w, "\n\033[1m==> %s\033[0m (%s)\n", msg, time.Now().Format("15:04:05"))
}

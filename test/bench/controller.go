package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cgi"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/meshintent/meshintent/api/v1alpha1"
	"github.com/meshintent/meshintent/internal/testenv"
	"github.com/meshintent/meshintent/pkg/webhook"
)

// This file holds what the latency and rss parts share: a control plane
// with the IntentSync CRD, the reconciler run as a subprocess, a Git
// repository served over smart HTTP, and signed GitHub pushes. All traffic
// stays on 127.0.0.1.

var (
	vsGVK = schema.GroupVersionKind{Group: "networking.istio.io", Version: "v1", Kind: "VirtualService"}
	drGVK = schema.GroupVersionKind{Group: "networking.istio.io", Version: "v1", Kind: "DestinationRule"}
)

// webhookSecret signs the bench's pushes; it only ever reaches a receiver
// on 127.0.0.1.
const webhookSecret = "bench-webhook-secret"

// cluster is a local control plane with the Istio and IntentSync CRDs.
type cluster struct {
	env *testenv.Env
	// kubeconfig is a file for the reconciler subprocess.
	kubeconfig string
	// c reads, writes and watches; its scheme knows IntentSync.
	c client.WithWatch
}

// startCluster starts a control plane (testenv installs the Istio and
// IntentSync CRDs) and writes a kubeconfig named after the part.
func startCluster(ctx context.Context, work, name string) (*cluster, error) {
	env, err := testenv.Start(ctx)
	if err != nil {
		return nil, err
	}
	cl := &cluster{env: env, kubeconfig: filepath.Join(work, name+"-kubeconfig")}
	if cl.c, err = client.NewWithWatch(env.Config, client.Options{Scheme: env.Scheme}); err != nil {
		_ = env.Stop()
		return nil, fmt.Errorf("creating client: %w", err)
	}
	if err := env.WriteKubeconfig(cl.kubeconfig); err != nil {
		_ = env.Stop()
		return nil, err
	}
	return cl, nil
}

func (cl *cluster) stop() {
	if err := cl.env.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
	}
}

// newIntentSync creates the IntentSync ns/name following branch main of
// url, polling every interval.
func (cl *cluster) newIntentSync(ctx context.Context, ns, name, url string, interval time.Duration) (*v1alpha1.IntentSync, error) {
	obj := &v1alpha1.IntentSync{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: v1alpha1.IntentSyncSpec{
			Source:        v1alpha1.GitSource{URL: url, Branch: "main"},
			Interval:      metav1.Duration{Duration: interval},
			RetryInterval: &metav1.Duration{Duration: 2 * time.Second},
			DriftMode:     v1alpha1.DriftModeReport,
		},
	}
	if err := cl.c.Create(ctx, obj); err != nil {
		return nil, fmt.Errorf("creating IntentSync %s/%s: %w", ns, name, err)
	}
	return obj, nil
}

// getSync reads the IntentSync key.
func (cl *cluster) getSync(ctx context.Context, key client.ObjectKey) (*v1alpha1.IntentSync, error) {
	obj := &v1alpha1.IntentSync{}
	if err := cl.c.Get(ctx, key, obj); err != nil {
		return nil, fmt.Errorf("reading IntentSync %s: %w", key, err)
	}
	return obj, nil
}

// patchSpec merge-patches the IntentSync key's spec with patch and waits
// until Ready reports the new generation.
func (cl *cluster) patchSpec(ctx context.Context, key client.ObjectKey, patch map[string]any, timeout time.Duration) error {
	b, err := json.Marshal(map[string]any{"spec": patch})
	if err != nil {
		return err
	}
	obj := &v1alpha1.IntentSync{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name}}
	if err := cl.c.Patch(ctx, obj, client.RawPatch("application/merge-patch+json", b)); err != nil {
		return fmt.Errorf("patching IntentSync %s: %w", key, err)
	}
	gen := obj.Generation
	return poll(ctx, timeout, 50*time.Millisecond, func() (bool, error) {
		got, err := cl.getSync(ctx, key)
		if err != nil {
			return false, err
		}
		ready := apimeta.FindStatusCondition(got.Status.Conditions, v1alpha1.ConditionReady)
		return got.Status.ObservedGeneration >= gen && ready != nil && ready.Status == metav1.ConditionTrue, nil
	})
}

// waitApplied waits until the IntentSync key is Ready with commit applied
// and returns it.
func (cl *cluster) waitApplied(ctx context.Context, key client.ObjectKey, commit string, timeout time.Duration) (*v1alpha1.IntentSync, error) {
	var got *v1alpha1.IntentSync
	err := poll(ctx, timeout, 50*time.Millisecond, func() (bool, error) {
		var err error
		if got, err = cl.getSync(ctx, key); err != nil {
			return false, err
		}
		ready := apimeta.FindStatusCondition(got.Status.Conditions, v1alpha1.ConditionReady)
		return ready != nil && ready.Status == metav1.ConditionTrue && strings.HasSuffix(got.Status.LastAppliedRevision, commit), nil
	})
	if err != nil && got != nil {
		ready := apimeta.FindStatusCondition(got.Status.Conditions, v1alpha1.ConditionReady)
		if ready != nil {
			err = fmt.Errorf("%w (Ready=%s %s: %s, lastAppliedRevision %q)", err, ready.Status, ready.Reason, ready.Message, got.Status.LastAppliedRevision)
		}
	}
	return got, err
}

// watchUntil watches the object ns/name of list's kind from resourceVersion
// rv (events after it only) until ok accepts a version of it, and returns
// when that version arrived. A watch the server closes is resumed from the
// last version seen.
func (cl *cluster) watchUntil(ctx context.Context, list client.ObjectList, ns, name, rv string, timeout time.Duration, ok func(client.Object) bool) (time.Time, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		w, err := cl.c.Watch(ctx, list, &client.ListOptions{Namespace: ns, Raw: &metav1.ListOptions{
			FieldSelector:   fields.OneTermEqualSelector("metadata.name", name).String(),
			ResourceVersion: rv,
		}})
		if err != nil {
			return time.Time{}, fmt.Errorf("watching %s/%s: %w", ns, name, err)
		}
		for ev := range w.ResultChan() {
			switch ev.Type {
			case watch.Added, watch.Modified:
				o, isObj := ev.Object.(client.Object)
				if !isObj {
					continue
				}
				rv = o.GetResourceVersion()
				if ok(o) {
					at := time.Now()
					w.Stop()
					return at, nil
				}
			case watch.Error:
				w.Stop()
				return time.Time{}, fmt.Errorf("watching %s/%s: %v", ns, name, ev.Object)
			}
		}
		w.Stop()
		if err := ctx.Err(); err != nil {
			return time.Time{}, fmt.Errorf("watching %s/%s: not within %s", ns, name, timeout)
		}
	}
}

// weights returns the route weights of a VirtualService's first http route.
func weights(vs *unstructured.Unstructured) []int64 {
	http, _, _ := unstructured.NestedSlice(vs.Object, "spec", "http")
	if len(http) == 0 {
		return nil
	}
	first, _ := http[0].(map[string]any)
	route, _, _ := unstructured.NestedSlice(first, "route")
	var w []int64
	for _, r := range route {
		if m, isMap := r.(map[string]any); isMap {
			v, _, _ := unstructured.NestedInt64(m, "weight")
			w = append(w, v)
		}
	}
	return w
}

// poll calls f every interval until it returns true or an error, or timeout
// passes.
func poll(ctx context.Context, timeout, interval time.Duration, f func() (bool, error)) error {
	deadline := time.Now().Add(timeout)
	for {
		done, err := f()
		if err != nil || done {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not within %s", timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(interval):
		}
	}
}

// reconcilerProc is `reconciler run` running as a subprocess.
type reconcilerProc struct {
	cmd *exec.Cmd
	// webhookAddr is the receiver's host:port.
	webhookAddr string
	// logPath holds the process's stdout and stderr.
	logPath string
	exited  chan struct{}
}

// startReconciler runs bin as `reconciler run` against kubeconfig, with its
// probes and webhook receiver on free ports of 127.0.0.1, metrics off and
// the -reconciler-flags, and waits until /readyz answers 200.
func startReconciler(ctx context.Context, bin, work, name, kubeconfig string) (*reconcilerProc, error) {
	secretFile := filepath.Join(work, name+"-webhook-secret")
	if err := os.WriteFile(secretFile, []byte(webhookSecret+"\n"), 0o600); err != nil {
		return nil, err
	}
	probeAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	hookAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	p := &reconcilerProc{webhookAddr: hookAddr, logPath: filepath.Join(work, name+"-reconciler.log"), exited: make(chan struct{})}
	logFile, err := os.Create(p.logPath)
	if err != nil {
		return nil, err
	}
	p.cmd = exec.Command(bin, "run",
		"--kubeconfig", kubeconfig,
		"--metrics-addr", "0",
		"--health-probe-addr", probeAddr,
		"--webhook-addr", hookAddr,
		"--webhook-secret-file", secretFile,
		"--cache-dir", filepath.Join(work, name+"-git-cache"),
		"--zap-time-encoding", "rfc3339nano")
	p.cmd.Args = append(p.cmd.Args, strings.Fields(reconcilerFlags)...)
	p.cmd.Stdout, p.cmd.Stderr = logFile, logFile
	if err := p.cmd.Start(); err != nil {
		_ = logFile.Close()
		return nil, fmt.Errorf("starting the reconciler: %w", err)
	}
	go func() {
		_ = p.cmd.Wait()
		_ = logFile.Close()
		close(p.exited)
	}()
	err = poll(ctx, 60*time.Second, 100*time.Millisecond, func() (bool, error) {
		select {
		case <-p.exited:
			return false, fmt.Errorf("the reconciler exited: %s", p.cmd.ProcessState)
		default:
		}
		resp, err := http.Get("http://" + probeAddr + "/readyz")
		if err != nil {
			return false, nil
		}
		_ = resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
	if err != nil {
		p.stop()
		return nil, fmt.Errorf("waiting for the reconciler to be ready: %w\n%s", err, p.logTail(20))
	}
	return p, nil
}

// pid is the subprocess's process ID.
func (p *reconcilerProc) pid() int { return p.cmd.Process.Pid }

// stop sends SIGTERM and waits up to 15s before killing the process.
func (p *reconcilerProc) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(15 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

// logTail returns the last n lines of the process's log, for errors.
func (p *reconcilerProc) logTail(n int) string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "reconciler log (last lines):\n" + strings.Join(lines, "\n")
}

// memory is a process's memory from /proc/<pid>/status, in bytes.
type memory struct {
	// RSS is VmRSS, the resident set; HWM is VmHWM, its peak so far.
	RSS, HWM int64
	// Anon and File split the resident set: heap and stacks, and mapped
	// files (mostly the binary's own pages).
	Anon, File int64
}

// memory reads the process's memory.
func (p *reconcilerProc) memory() (memory, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", p.pid()))
	if err != nil {
		return memory{}, err
	}
	defer f.Close()
	var m memory
	fieldOf := map[string]*int64{"VmRSS": &m.RSS, "VmHWM": &m.HWM, "RssAnon": &m.Anon, "RssFile": &m.File}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, val, _ := strings.Cut(sc.Text(), ":")
		field, ok := fieldOf[key]
		if !ok {
			continue
		}
		fs := strings.Fields(val) // "12345 kB"
		if len(fs) != 2 || fs[1] != "kB" {
			return memory{}, fmt.Errorf("unexpected %s line %q", key, sc.Text())
		}
		kb, err := strconv.ParseInt(fs[0], 10, 64)
		if err != nil {
			return memory{}, err
		}
		*field = kb << 10
	}
	if err := sc.Err(); err != nil {
		return memory{}, err
	}
	if m.RSS == 0 {
		return memory{}, errors.New("no VmRSS in /proc status")
	}
	return m, nil
}

// split is the resident set with its anonymous and file-backed parts.
// cpu returns the user + system CPU time the process has used, from
// /proc/<pid>/stat (fields 14 and 15, in clock ticks of 1/100 s).
func (p *reconcilerProc) cpu() (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.pid()))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces: count from after it.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("unexpected /proc/%d/stat: %q", p.pid(), b)
	}
	fields := strings.Fields(string(b[i+1:]))
	if len(fields) < 13 {
		return 0, fmt.Errorf("unexpected /proc/%d/stat: %q", p.pid(), b)
	}
	var ticks int64
	for _, f := range fields[11:13] { // utime, stime
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("unexpected /proc/%d/stat: %w", p.pid(), err)
		}
		ticks += n
	}
	return time.Duration(ticks) * 10 * time.Millisecond, nil
}

func (m memory) split() string {
	return fmt.Sprintf("%s (anon %s + file %s)", mib(m.RSS), mib(m.Anon), mib(m.File))
}

func (m memory) String() string {
	return fmt.Sprintf("%s (anon %s, file %s; VmHWM %s)", mib(m.RSS), mib(m.Anon), mib(m.File), mib(m.HWM))
}

// push sends a signed GitHub push event for branch main of repoURL at
// commit to the receiver and checks it triggered one IntentSync.
func (p *reconcilerProc) push(ctx context.Context, repoURL, commit string) error {
	body, err := json.Marshal(map[string]any{
		"ref":        "refs/heads/main",
		"after":      commit,
		"repository": map[string]any{"clone_url": repoURL, "html_url": repoURL},
	})
	if err != nil {
		return err
	}
	mac := hmac.New(sha256.New, []byte(webhookSecret))
	mac.Write(body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+p.webhookAddr+webhook.PathGitHub, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", "push")
	req.Header.Set("X-GitHub-Delivery", fmt.Sprintf("bench-%s-%d", commit[:12], time.Now().UnixNano()))
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("posting a push: %w", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
	if resp.StatusCode != http.StatusAccepted || !strings.Contains(string(b), "triggered 1 ") {
		return fmt.Errorf("the webhook answered %d %q, want 202 triggering 1 IntentSync", resp.StatusCode, strings.TrimSpace(string(b)))
	}
	return nil
}

// freeAddr returns a 127.0.0.1 address whose port was free a moment ago.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// gitRepo is a Git work tree made and committed to with the git CLI.
type gitRepo struct{ dir string }

// initRepo makes an empty repository on branch main in dir.
func initRepo(dir string) (*gitRepo, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	r := &gitRepo{dir: dir}
	_, err := r.git("init", "-q", "-b", "main")
	return r, err
}

// git runs git in the work tree with a fixed identity and no user config.
func (r *gitRepo) git(args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = r.dir
	cmd.Env = append(os.Environ(),
		"GIT_AUTHOR_NAME=Bench", "GIT_AUTHOR_EMAIL=bench@example.com",
		"GIT_COMMITTER_NAME=Bench", "GIT_COMMITTER_EMAIL=bench@example.com",
		"GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_SYSTEM=/dev/null")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("git %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out)), nil
}

// write puts content at a repo-relative path.
func (r *gitRepo) write(path, content string) error {
	return os.WriteFile(filepath.Join(r.dir, path), []byte(content), 0o644)
}

// commit commits everything and returns the commit SHA.
func (r *gitRepo) commit(msg string) (string, error) {
	if _, err := r.git("add", "-A"); err != nil {
		return "", err
	}
	if _, err := r.git("commit", "-q", "-m", msg); err != nil {
		return "", err
	}
	return r.git("rev-parse", "HEAD")
}

// serveGit serves the repository in dir over Git's smart HTTP protocol
// with git http-backend (through net/http/cgi) on 127.0.0.1, and returns
// its URL and a function stopping the server. http-backend's stderr goes
// to logw.
func serveGit(dir string, logw io.Writer) (string, func(), error) {
	execPath, err := exec.Command("git", "--exec-path").Output()
	if err != nil {
		return "", nil, fmt.Errorf("git --exec-path: %w", err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", nil, err
	}
	backend := &cgi.Handler{
		Path: filepath.Join(strings.TrimSpace(string(execPath)), "git-http-backend"),
		Env: []string{
			// The repository is served at /<base name> of its parent.
			"GIT_PROJECT_ROOT=" + filepath.Dir(abs),
			"GIT_HTTP_EXPORT_ALL=1",
			"GIT_CONFIG_GLOBAL=/dev/null",
			"GIT_CONFIG_SYSTEM=/dev/null",
		},
		InheritEnv: []string{"PATH"},
		Stderr:     logw,
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: backend, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	return "http://" + l.Addr().String() + "/" + filepath.Base(abs), func() { _ = srv.Close() }, nil
}

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// serve serves the repository over HTTP, logging git http-backend's output
// to <work>/<name>-git.log; stop ends the server and closes the log.
func (r *gitRepo) serve(work, name string) (url string, stop func(), err error) {
	log, err := os.Create(filepath.Join(work, name+"-git.log"))
	if err != nil {
		return "", nil, err
	}
	url, stopGit, err := serveGit(r.dir, log)
	if err != nil {
		log.Close()
		return "", nil, err
	}
	return url, func() { stopGit(); log.Close() }, nil
}

// createNamespace creates the namespace ns.
func (c *cluster) createNamespace(ctx context.Context, ns string) error {
	if err := c.c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		return fmt.Errorf("creating namespace %s: %w", ns, err)
	}
	return nil
}

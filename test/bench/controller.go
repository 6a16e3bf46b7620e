package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/meshintent/meshintent/api/v1alpha1"
	"github.com/meshintent/meshintent/internal/gitfixture"
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

// newIntentSync creates the IntentSync ns/name following the kustomization
// at path (empty: the root) of branch main of url, polling every interval;
// edits change the object before it is created.
func (cl *cluster) newIntentSync(ctx context.Context, ns, name, url, path string, interval time.Duration, edits ...func(*v1alpha1.IntentSync)) (*v1alpha1.IntentSync, error) {
	obj := &v1alpha1.IntentSync{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: v1alpha1.IntentSyncSpec{
			Source:        v1alpha1.GitSource{URL: url, Branch: "main", Path: path},
			Interval:      metav1.Duration{Duration: interval},
			RetryInterval: &metav1.Duration{Duration: 2 * time.Second},
			DriftMode:     v1alpha1.DriftModeReport,
		},
	}
	for _, edit := range edits {
		edit(obj)
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
		if stalled := apimeta.FindStatusCondition(got.Status.Conditions, v1alpha1.ConditionStalled); stalled != nil &&
			stalled.Status == metav1.ConditionTrue && stalled.ObservedGeneration == got.Generation &&
			strings.HasSuffix(got.Status.LastAttemptedRevision, commit) {
			// Stalled on this commit: nothing changes until the next one.
			return false, fmt.Errorf("IntentSync %s is stalled: %s: %s", key, stalled.Reason, stalled.Message)
		}
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
	p.cmd = exec.Command(bin, "run",
		"--kubeconfig", kubeconfig,
		"--metrics-addr", "0",
		"--health-probe-addr", probeAddr,
		"--webhook-addr", hookAddr,
		"--webhook-secret-file", secretFile,
		"--cache-dir", filepath.Join(work, name+"-git-cache"),
		"--zap-time-encoding", "rfc3339nano")
	if err := p.start(ctx, probeAddr); err != nil {
		return nil, fmt.Errorf("reconciler %s: %w", name, err)
	}
	return p, nil
}

// start starts p.cmd with the -reconciler-flags, its output in p.logPath,
// and waits until /readyz on probeAddr answers 200.
func (p *reconcilerProc) start(ctx context.Context, probeAddr string) error {
	logFile, err := os.Create(p.logPath)
	if err != nil {
		return err
	}
	p.cmd.Args = append(p.cmd.Args, strings.Fields(reconcilerFlags)...)
	p.cmd.Stdout, p.cmd.Stderr = logFile, logFile
	if err := p.cmd.Start(); err != nil {
		_ = logFile.Close()
		return fmt.Errorf("starting the reconciler: %w", err)
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
		return fmt.Errorf("waiting for the reconciler to be ready: %w\n%s", err, p.logTail(20))
	}
	return nil
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

// settledMemory waits settlePeriod for the process to settle, then reads
// its memory.
func (p *reconcilerProc) settledMemory(ctx context.Context) (memory, error) {
	if err := sleep(ctx, settlePeriod); err != nil {
		return memory{}, err
	}
	return p.memory()
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
		// The receiver refuses a body it has seen (a replay); the rss part
		// pushes the same commit again on purpose, so each body is unique.
		"bench_nonce": time.Now().UnixNano(),
	})
	if err != nil {
		return err
	}
	delivery := fmt.Sprintf("bench-%s-%d", commit[:12], time.Now().UnixNano())
	status, answer, err := gitfixture.PostGitHubPush(ctx, "http://"+p.webhookAddr+webhook.PathGitHub, webhookSecret, delivery, body)
	if err != nil {
		return err
	}
	if status != http.StatusAccepted || !strings.Contains(answer, "triggered 1 ") {
		return fmt.Errorf("the webhook answered %d %q, want 202 triggering 1 IntentSync", status, strings.TrimSpace(answer))
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

// servedRepo is a Git work tree made and committed to with the git CLI
// (internal/gitfixture) and served over Git's smart HTTP protocol on
// 127.0.0.1; git http-backend's standard error goes to <work>/<name>-git.log.
type servedRepo struct {
	dir string
	srv *gitfixture.Server
	log *os.File
}

// newServedRepo makes a repository on branch main in <work>/git/<name>,
// lets fill write its first files into the work tree, commits them and
// serves the repository. It returns the repository and the first commit.
func newServedRepo(ctx context.Context, work, name string, fill func(dir string) error) (*servedRepo, string, error) {
	dir := filepath.Join(work, "git", name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, "", err
	}
	if _, err := gitfixture.Run(ctx, dir, "init", "-q", "-b", "main"); err != nil {
		return nil, "", err
	}
	if err := fill(dir); err != nil {
		return nil, "", fmt.Errorf("writing the %s repository: %w", name, err)
	}
	r := &servedRepo{dir: dir}
	head, err := r.commit(ctx, "intents")
	if err != nil {
		return nil, "", err
	}
	if r.log, err = os.Create(filepath.Join(work, name+"-git.log")); err != nil {
		return nil, "", err
	}
	if r.srv, err = gitfixture.ServeDir(dir, r.log); err != nil {
		_ = r.log.Close()
		return nil, "", err
	}
	return r, head, nil
}

// url is the repository's http:// URL.
func (r *servedRepo) url() string { return r.srv.URL }

// write puts content at a repo-relative path.
func (r *servedRepo) write(path, content string) error {
	return os.WriteFile(filepath.Join(r.dir, path), []byte(content), 0o644)
}

// commit commits everything and returns the commit SHA.
func (r *servedRepo) commit(ctx context.Context, msg string) (string, error) {
	if _, err := gitfixture.Run(ctx, r.dir, "add", "-A"); err != nil {
		return "", err
	}
	if _, err := gitfixture.Run(ctx, r.dir, "commit", "-q", "-m", msg); err != nil {
		return "", err
	}
	return gitfixture.Run(ctx, r.dir, "rev-parse", "HEAD")
}

// stop ends the server and closes its log.
func (r *servedRepo) stop() {
	r.srv.Stop()
	_ = r.log.Close()
}

// syncSetup is what the controller parts share: a control plane with a
// namespace, a repository of intents for it served over HTTP, and the
// reconciler running against the control plane (no IntentSync yet).
type syncSetup struct {
	cl   *cluster
	repo *servedRepo
	proc *reconcilerProc
	// head is the repository's first commit.
	head string
}

// startSyncSetup starts the parts of a syncSetup named name, with
// namespace ns and a repository whose first files fill writes. Stop ends
// them, also after an error.
func startSyncSetup(ctx context.Context, work, reconciler, name, ns string, fill func(dir string) error) (s *syncSetup, err error) {
	s = &syncSetup{}
	defer func() {
		if err != nil {
			s.stop()
		}
	}()
	if s.cl, err = startCluster(ctx, work, name); err != nil {
		return nil, err
	}
	if err = s.cl.createNamespace(ctx, ns); err != nil {
		return nil, err
	}
	if s.repo, s.head, err = newServedRepo(ctx, work, name, fill); err != nil {
		return nil, err
	}
	if s.proc, err = startReconciler(ctx, reconciler, work, name, s.cl.kubeconfig); err != nil {
		return nil, err
	}
	return s, nil
}

// stop ends the reconciler, the Git server and the control plane, those
// that were started.
func (s *syncSetup) stop() {
	if s.proc != nil {
		s.proc.stop()
	}
	if s.repo != nil {
		s.repo.stop()
	}
	if s.cl != nil {
		s.cl.stop()
	}
}

// fail adds the end of the reconciler's log to err.
func (s *syncSetup) fail(err error) error {
	return fmt.Errorf("%w\n%s", err, s.proc.logTail(30))
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

// createNamespace creates the namespace ns.
func (c *cluster) createNamespace(ctx context.Context, ns string) error {
	return createNamespace(ctx, c.c, ns)
}

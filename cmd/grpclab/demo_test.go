package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/grpclab/grpclab/cluster"
	"github.com/grpclab/grpclab/cluster/local/netns"
	"github.com/grpclab/grpclab/cluster/platforms"
)

// The demo's tests run the real binaries on the local platform, as cli_test.go does, and
// run every command line it prints with the real grpcurl CLI at go.mod's pin.

// stepCount is how many steps the demo has; the expectations below list each one.
var stepCount = len(demoSteps())

// policyLabUnavailable says why the NetworkPolicy steps cannot run here (root, ip, nft), or
// returns nil: asked of the local platform, as the demo asks it.
func policyLabUnavailable() error {
	p, err := platforms.Open(platforms.Local, platforms.Options{StateDir: os.TempDir()})
	if err != nil {
		return err
	}
	lab, ok := p.(cluster.PolicyLab)
	if !ok {
		return errors.New("the local platform has no NetworkPolicy data plane of its own (cluster.PolicyLab)")
	}
	return lab.PolicyLabAvailable()
}

// netnsReady reports whether the NetworkPolicy steps can run here.
func netnsReady() bool { return policyLabUnavailable() == nil }

// grpcurlBinary is the grpcurl CLI hack/test.sh builds at go.mod's pin (hack/grpcurl.sh).
func grpcurlBinary(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("GRPCLAB_GRPCURL")
	if bin == "" {
		t.Skip("GRPCLAB_GRPCURL is unset: the printed grpcurl lines are run only with the real CLI " +
			"at go.mod's pin; hack/test.sh sets it (bin=$(hack/grpcurl.sh | tail -n 1))")
	}
	return bin
}

// splitShell splits one POSIX shell command line into words: blanks separate words; single
// quotes keep everything literally; double quotes keep everything but \ before $ ` " \ and
// newline; a backslash outside quotes keeps the next character. Anything a printed command
// should never hold (expansions, operators, globs) is an error, not a guess.
func splitShell(line string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	rs := []rune(line)
	for i := 0; i < len(rs); i++ {
		c := rs[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case c == '\'':
			inWord = true
			j := i + 1
			for j < len(rs) && rs[j] != '\'' {
				j++
			}
			if j == len(rs) {
				return nil, fmt.Errorf("unterminated single quote in %q", line)
			}
			cur.WriteString(string(rs[i+1 : j]))
			i = j
		case c == '"':
			inWord = true
			j := i + 1
			for ; j < len(rs) && rs[j] != '"'; j++ {
				switch {
				case rs[j] == '\\' && j+1 < len(rs) && strings.ContainsRune("$`\"\\\n", rs[j+1]):
					j++
					cur.WriteRune(rs[j])
				case rs[j] == '$' || rs[j] == '`':
					return nil, fmt.Errorf("expansion inside double quotes in %q", line)
				default:
					cur.WriteRune(rs[j])
				}
			}
			if j == len(rs) {
				return nil, fmt.Errorf("unterminated double quote in %q", line)
			}
			i = j
		case c == '\\':
			if i+1 == len(rs) {
				return nil, fmt.Errorf("trailing backslash in %q", line)
			}
			inWord = true
			i++
			cur.WriteRune(rs[i])
		case strings.ContainsRune("$`|&;<>()*?[#~", c) && !inWord || strings.ContainsRune("$`|&;<>()*?[", c):
			return nil, fmt.Errorf("shell syntax %q in %q: a printed command holds plain words only", c, line)
		default:
			inWord = true
			cur.WriteRune(c)
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

func TestSplitShell(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string
	}{
		{`grpcurl -H 'username: alice' a:1 x/Y`, []string{"grpcurl", "-H", "username: alice", "a:1", "x/Y"}},
		{`a 'it'\''s' "x \"y\" \$z" b\ c`, []string{"a", "it's", `x "y" $z`, "b c"}},
		{`a ''  "" b`, []string{"a", "", "", "b"}},
		{"  lead  trail  ", []string{"lead", "trail"}},
	} {
		got, err := splitShell(c.in)
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("splitShell(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{`a 'b`, `a "b`, `a b\`, `a $HOME`, `a | b`, `a; b`, `a "$(x)"`} {
		if got, err := splitShell(bad); err == nil {
			t.Errorf("splitShell(%q) = %q, want an error", bad, got)
		}
	}
	// What the demo prints must split back into the words it was built from.
	words := shellCommand{"grpcurl", "-H", "password: it's", "-d", `{"a": "$b"}`, "/tmp/x y", "-v", strings.Repeat("w", 50), "z",
		"-import-path", "/" + strings.Repeat("p", 38)}
	got, err := splitShell(joinContinued(words.lines("  ", 40)))
	if err != nil || !slices.Equal(got, words) {
		t.Errorf("round trip: %q (%v), want %q", got, err, words)
	}
}

// joinContinued joins lines that end in " \" with the next, as a shell reads them.
func joinContinued(lines []string) string {
	var b strings.Builder
	for _, l := range lines {
		if s, ok := strings.CutSuffix(l, `\`); ok {
			b.WriteString(s)
			continue
		}
		b.WriteString(l)
		b.WriteString("\n")
	}
	return b.String()
}

// printedCommands finds the command lines in output: a line starting (after blanks) with
// grpcurl, curl or ip netns exec, and its " \" continuations.
func printedCommands(t *testing.T, output string) [][]string {
	t.Helper()
	var out [][]string
	lines := strings.Split(output, "\n")
	for i := 0; i < len(lines); i++ {
		l := strings.TrimSpace(lines[i])
		if !strings.HasPrefix(l, "grpcurl ") && !strings.HasPrefix(l, "curl ") && !strings.HasPrefix(l, "ip netns exec ") {
			continue
		}
		group := []string{lines[i]}
		for strings.HasSuffix(lines[i], `\`) && i+1 < len(lines) {
			i++
			group = append(group, lines[i])
		}
		words, err := splitShell(strings.TrimSpace(joinContinued(group)))
		if err != nil {
			t.Errorf("printed command does not split: %v", err)
			continue
		}
		out = append(out, words)
	}
	return out
}

// runPrinted runs a printed command with grpcurl replaced by the pinned CLI; it returns
// the combined output and the exit status.
func runPrinted(t *testing.T, grpcurlBin string, words []string) (string, int) {
	t.Helper()
	argv := slices.Clone(words)
	for i, w := range argv {
		if w == "grpcurl" {
			argv[i] = grpcurlBin
		}
	}
	if argv[0] == "curl" {
		if _, err := exec.LookPath("curl"); err != nil {
			t.Logf("curl is not installed: not running %q", words)
			return "", -1
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, code, err := combinedOutput(exec.CommandContext(ctx, argv[0], argv[1:]...))
	if err != nil {
		t.Fatalf("run %q: %v", words, err)
	}
	return out, code
}

// printed is what running one printed command must give: grpcurl's exit status (64 + the
// gRPC code for an error status, 1 for a failure before any call) and a piece of its output.
type printed struct {
	exit int
	has  string
}

// wantPrinted lists, step by step, what each command the demo prints must do when pasted.
var wantPrinted = map[int][]printed{
	1:  {{0, "x-served-by: foo-"}, {0, "x-served-by: bar-stable-"}},
	2:  {{0, "x-served-by: foo-"}, {76, "Code: Unimplemented"}},
	3:  {{0, "x-served-by: bar-canary-"}, {0, "x-served-by: bar-stable-"}},
	4:  {{0, "x-served-by: bar-"}},
	5:  {{0, "com.example.User"}, {0, "rpc DeleteUser"}},
	6:  {{1, "does not support the reflection API"}, {0, "com.example.User"}},
	7:  {{0, `"username": "alice"`}, {1, "Failed to dial target host"}},
	8:  {{80, "missing username metadata"}, {80, "invalid username or password"}, {71, "Code: PermissionDenied"}},
	9:  {{0, "x-served-by: greeter-"}, {0, "308 Permanent Redirect"}},
	10: {{0, `"status": "SERVING"`}, {1, "Failed to dial target host"}},
	11: {{71, "may not call DeleteUser"}},
	12: {{0, "Hello"}},
}

// checkPrinted runs the commands printed in one step's output against its expectations.
func checkPrinted(t *testing.T, grpcurlBin string, n int, output string) {
	t.Helper()
	cmds := printedCommands(t, output)
	want := wantPrinted[n]
	if len(cmds) != len(want) {
		t.Errorf("step %d printed %d commands, the test expects %d:\n%s", n, len(cmds), len(want), output)
		return
	}
	for i, words := range cmds {
		out, code := runPrinted(t, grpcurlBin, words)
		if code == -1 {
			continue
		}
		if code != want[i].exit || !strings.Contains(out, want[i].has) {
			t.Errorf("step %d, command %d %q: exit %d, want %d with %q in:\n%s", n, i+1, words, code, want[i].exit, want[i].has, out)
		}
	}
}

// checkVerdicts fails unless the output ends every step with ✓ (or ○ where the machine
// cannot run it: the NetworkPolicy steps without root), says so in one line each, and keeps
// every line within maxColumns.
func checkVerdicts(output string, steps []int) error {
	var errs []error
	verdicts := regexp.MustCompile(`(?m)^([✓✗○]) .*$`).FindAllStringSubmatch(output, -1)
	if len(verdicts) != len(steps) {
		errs = append(errs, fmt.Errorf("%d verdict lines for %d steps", len(verdicts), len(steps)))
	}
	for i, v := range verdicts {
		if i >= len(steps) {
			break
		}
		skippable := (steps[i] == 10 || steps[i] == 11) && !netnsReady()
		if strings.HasSuffix(v[0], "…") {
			errs = append(errs, fmt.Errorf("step %d: verdict cut to fit one line: %s", steps[i], v[0]))
		}
		if v[1] == "✗" || v[1] == "○" && !skippable {
			errs = append(errs, fmt.Errorf("step %d: %s", steps[i], v[0]))
		}
	}
	for _, l := range strings.Split(output, "\n") {
		if utf8.RuneCountInString(l) > maxColumns {
			errs = append(errs, fmt.Errorf("line over %d columns: %q", maxColumns, l))
		}
		if strings.Contains(l, "\033[") {
			errs = append(errs, fmt.Errorf("colour when piped: %q", l))
		}
	}
	return errors.Join(errs...)
}

func allSteps() []int {
	var s []int
	for i := 1; i <= stepCount; i++ {
		s = append(s, i)
	}
	return s
}

func TestDemoFlags(t *testing.T) {
	dir := t.TempDir()
	out, code := grpclab(t, dir, "demo", "--list")
	if code != 0 || strings.Count(out, "\n") != stepCount || !strings.Contains(out, " 2  method routing") {
		t.Errorf("demo --list: exit %d:\n%s", code, out)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--step", "99"}, fmt.Sprintf("demo: --step 99: there are %d steps", stepCount)},
		{[]string{"--from", "0", "--step", "-1"}, "demo: --step -1: there are"},
		{[]string{"--from", "13"}, "demo: --from 13: there are"},
		{[]string{"--step", "1", "--from", "2"}, "--step and --from: give one of them"},
		{[]string{"--handout", filepath.Join(dir, "no", "such", "dir", "h.md")}, "demo: --handout"},
		{[]string{"extra"}, `demo: unexpected argument "extra"`},
	} {
		out, code := grpclab(t, dir, append([]string{"demo", "--platform", "local"}, c.args...)...)
		if code != 2 || !strings.Contains(out, c.want) {
			t.Errorf("demo %v: exit %d, want 2 and %q:\n%s", c.args, code, c.want, out)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("bad flags started something: %v", entries)
	}
}

// TestDemoAuto is `grpclab demo --auto --handout`, as a recording would run it: every step
// passes, the handout holds every step with its YAML, command and output, and nothing is
// left behind.
func TestDemoAuto(t *testing.T) {
	needNginx(t)
	dir := t.TempDir()
	handoutFile := filepath.Join(t.TempDir(), "handout.md")
	out, code := grpclab(t, dir, "demo", "--platform", "local", "--auto", "--handout", handoutFile)
	if code != 0 {
		t.Errorf("demo --auto: exit %d", code)
	}
	if err := checkVerdicts(out, allSteps()); err != nil {
		t.Errorf("%v\n%s", err, out)
	}
	for _, want := range []string{"==> load manifests", "==> local platform up", "==> apply", "==> entry points answer",
		"==> apply base + gateway-api + ingress-nginx + gateway-api/weighted-canary", "==> local platform down"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	b, err := os.ReadFile(handoutFile)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	for _, l := range strings.Split(doc, "\n") {
		if utf8.RuneCountInString(l) > maxColumns {
			t.Errorf("handout line over %d columns: %q", maxColumns, l)
		}
	}
	// The truth tables keep their columns in the handout.
	if !regexp.MustCompile(`(?m)^frontend-0 +✓ ✓ +✓ ✓`).MatchString(doc) && netnsReady() {
		t.Errorf("handout's truth table lost its columns")
	}
	for n := 1; n <= stepCount; n++ {
		i := strings.Index(doc, fmt.Sprintf("\n## %d. ", n))
		if i < 0 {
			t.Errorf("handout lacks step %d", n)
			continue
		}
		section := doc[i+1:]
		if j := strings.Index(section, fmt.Sprintf("\n## %d. ", n+1)); j >= 0 {
			section = section[:j]
		}
		for _, want := range []string{"```yaml\n", "```sh\n", "```text\n", "**"} {
			if !strings.Contains(section, want) {
				t.Errorf("handout step %d lacks %q:\n%s", n, want, section)
			}
		}
	}
	if t.Failed() {
		t.Logf("output:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(dir, ".grpclab")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the demo left its state directory behind (%v)", err)
	}
}

// TestDemoFailsOnBrokenManifests: a route or a policy that no longer does what the article
// says makes its step ✗, the demo exit 1, and checkVerdicts (what TestDemoAuto asserts) fail.
func TestDemoFailsOnBrokenManifests(t *testing.T) {
	needNginx(t)
	for _, c := range []struct {
		name, file, yaml string
		step             int
		needNetns        bool
	}{
		{"foo-route sends GetProfile instead of Login", "route.yaml", `apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata:
  name: foo-route
  namespace: default
spec:
  parentRefs:
    - name: example-gateway
  hostnames:
    - "foo.example.com"
  rules:
    - matches:
        - method:
            service: com.example.User
            method: GetProfile
      backendRefs:
        - name: foo-svc
          port: 50051
`, 2, false},
		{"the policy forgets role=frontend", "policy.yaml", `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: test-network-policy
  namespace: default
spec:
  podSelector:
    matchLabels:
      role: db
  policyTypes: [Ingress]
  ingress:
    - from:
        - namespaceSelector:
            matchLabels:
              project: myproject
      ports:
        - protocol: TCP
          port: 6379
`, 10, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			if err := policyLabUnavailable(); c.needNetns && err != nil {
				t.Skipf("the NetworkPolicy step needs the local data plane: %v", err)
			}
			dir := t.TempDir()
			extra := filepath.Join(t.TempDir(), "broken")
			if err := os.Mkdir(extra, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(extra, c.file), []byte(c.yaml), 0o644); err != nil {
				t.Fatal(err)
			}
			out, code := grpclab(t, dir, "demo", "--platform", "local", "--auto", "--step", strconv.Itoa(c.step), "-f", extra)
			if code != 1 {
				t.Errorf("exit %d, want 1", code)
			}
			if !strings.Contains(out, fmt.Sprintf("1 of 1 steps failed: %d (", c.step)) || !regexp.MustCompile(`(?m)^✗ not shown: `).MatchString(out) {
				t.Errorf("no ✗ verdict for step %d", c.step)
			}
			err := checkVerdicts(out, []int{c.step})
			if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("step %d: ✗", c.step)) {
				t.Errorf("checkVerdicts = %v, want it to fail on step %d", err, c.step)
			}
			if t.Failed() {
				t.Logf("output:\n%s", out)
			}
		})
	}
}

// demoSession is a demo running in the background with its stdout read line by line.
type demoSession struct {
	cmd   *exec.Cmd
	in    io.WriteCloser
	lines chan string
}

func startDemo(t *testing.T, dir string, args ...string) *demoSession {
	t.Helper()
	cmd := exec.Command(filepath.Join(binDir, "grpclab"), append([]string{"demo", "--platform", "local"}, args...)...)
	cmd.Dir = dir
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout := startMerged(t, cmd)
	s := &demoSession{cmd: cmd, in: in, lines: make(chan string, 1024)}
	go func() {
		defer close(s.lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			s.lines <- sc.Text()
		}
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return s
}

// untilPrompt returns the lines up to the next "press Enter" prompt (ok false at EOF).
func (s *demoSession) untilPrompt(t *testing.T) (string, bool) {
	t.Helper()
	var b strings.Builder
	timeout := time.After(2 * time.Minute)
	for {
		select {
		case l, ok := <-s.lines:
			if !ok {
				return b.String(), false
			}
			b.WriteString(l + "\n")
			if strings.HasPrefix(l, "press Enter") {
				return b.String(), true
			}
		case <-timeout:
			t.Fatalf("no prompt within 2 minutes; so far:\n%s", b.String())
		}
	}
}

// TestDemoPrintedCommands walks the demo as a person would, pressing Enter after each step,
// and before pressing it pastes every command the step printed, with the real grpcurl: each
// must do what the step says (wantPrinted). `grpclab up`'s try line gets the same treatment.
func TestDemoPrintedCommands(t *testing.T) {
	needNginx(t)
	bin := grpcurlBinary(t)
	dir := t.TempDir()
	s := startDemo(t, dir)
	var all strings.Builder
	title := regexp.MustCompile(`── step (\d+)/\d+: `)
	for {
		seg, ok := s.untilPrompt(t)
		all.WriteString(seg)
		if !ok {
			break
		}
		m := title.FindStringSubmatch(seg)
		if m == nil {
			t.Fatalf("no step before the prompt:\n%s", seg)
		}
		n, _ := strconv.Atoi(m[1])
		if n == 10 || n == 11 {
			if err := policyLabUnavailable(); err != nil {
				t.Logf("step %d: no local data plane here (%v), its commands are not run", n, err)
			} else {
				checkPrinted(t, bin, n, seg)
			}
		} else {
			checkPrinted(t, bin, n, seg)
		}
		if _, err := io.WriteString(s.in, "\n"); err != nil {
			t.Fatalf("press Enter: %v", err)
		}
	}
	if err := s.cmd.Wait(); err != nil {
		t.Errorf("demo: %v", err)
	}
	if err := checkVerdicts(all.String(), allSteps()); err != nil {
		t.Errorf("%v\n%s", err, all.String())
	}
}

// TestUpTryLine: the grpcurl line `grpclab up` prints works when pasted, against the
// production routes (no reflection), from another directory.
func TestUpTryLine(t *testing.T) {
	needNginx(t)
	bin := grpcurlBinary(t)
	dir := t.TempDir()
	out, code := grpclab(t, dir, "up", "--platform", "local", "--detach")
	if code != 0 {
		t.Fatalf("up: exit %d\n%s", code, out)
	}
	r := readState(t, dir)
	_, try, _ := strings.Cut(out, "\ntry:\n")
	cmds := printedCommands(t, try)
	if len(cmds) != 1 {
		t.Errorf("up printed %d grpcurl lines after try:, want 1:\n%s", len(cmds), out)
	}
	for _, words := range cmds {
		got, code := runPrinted(t, bin, append(slices.Clone(words[:1]), append([]string{"-v"}, words[1:]...)...))
		if code != 0 || !strings.Contains(got, `"username": "alice"`) || !strings.Contains(got, "x-served-by: foo-") {
			t.Errorf("%q: exit %d:\n%s", words, code, got)
		}
	}
	for _, l := range strings.Split(out, "\n") {
		if utf8.RuneCountInString(l) > maxColumns {
			t.Errorf("up prints a line over %d columns: %q", maxColumns, l)
		}
	}
	if out, code := grpclab(t, dir, "down"); code != 0 {
		t.Fatalf("down: exit %d\n%s", code, out)
	}
	assertNothingLeft(t, dir, r)
}

// TestDemoInterruptInStep: Ctrl-C while a step runs, right after the NetworkPolicy step has
// started its network namespaces, tears everything down; the step says it was interrupted
// rather than failed.
func TestDemoInterruptInStep(t *testing.T) {
	needNginx(t)
	if err := policyLabUnavailable(); err != nil {
		t.Skipf("the NetworkPolicy step needs the local data plane: %v", err)
	}
	dir := t.TempDir()
	s := startDemo(t, dir, "--auto", "--from", "10")
	var out strings.Builder
	var prefix string
	re := regexp.MustCompile(`^==> data plane (glab-[0-9a-f]+) `)
	for prefix == "" {
		l, ok := <-s.lines
		if !ok {
			t.Fatalf("the demo ended before starting its data plane:\n%s", out.String())
		}
		out.WriteString(l + "\n")
		if m := re.FindStringSubmatch(l); m != nil {
			prefix = m[1]
		}
	}
	r := readState(t, dir)
	if err := s.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	for l := range s.lines {
		out.WriteString(l + "\n")
	}
	if err := s.cmd.Wait(); err != nil {
		t.Errorf("demo after Ctrl-C: %v", err)
	}
	for _, want := range []string{"○ skipped: interrupted (Ctrl-C)", "interrupted in step 10", "==> local platform down"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	assertNothingLeft(t, dir, r)
	if left, err := netns.Leftovers(prefix); err != nil || len(left) > 0 {
		t.Errorf("data plane %s left behind: %v %v", prefix, left, err)
	}
}

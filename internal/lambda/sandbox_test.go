package lambda

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/cloudlet/cloudlet/internal/sandbox"
	"github.com/cloudlet/cloudlet/internal/telemetry"
)

// isolated returns a registry whose instances run in the real sandbox. The
// sandbox needs bubblewrap and cgroups (scripts/deps.sh installs bubblewrap;
// CI runs as root).
func isolated(t *testing.T, opts Options) *Registry {
	t.Helper()
	sb := sandbox.New("cloudlet-test", "")
	if ok, why := sb.Isolated(); !ok {
		t.Fatalf("the sandbox is not available: %s (run `make deps` as root)", why)
	}
	t.Cleanup(sb.Close) // after the registry's own clean-up
	opts.Sandbox = sb
	return newRegistry(t, opts)
}

// copyTree copies a testdata folder so a test can place its own data in it.
func copyTree(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644)
	}
	return dst
}

// result is what a probe saw when it tried something.
type result struct {
	OK    bool            `json:"ok"`
	Code  string          `json:"code"`
	Value json.RawMessage `json:"value"`
}

type probe struct {
	Mountinfo    string   `json:"mountinfo"`
	Nofile       string   `json:"nofile"`
	FunctionName string   `json:"functionName"`
	StemVar      string   `json:"stemVar"`
	Pids         []string `json:"pids"`
	UID          int      `json:"uid"`
	TaskRoot     string   `json:"taskRoot"`
	Cwd          string   `json:"cwd"`
	Tmp          []string `json:"tmp"`
	Results      map[string]struct {
		OK   bool   `json:"ok"`
		Code string `json:"code"`
	} `json:"-"`
	ReadOther, ReadData, ReadHidden, WriteCode, WriteTmp, Shadow                                   result
	UIDMap, WriteRoot, WriteEtc, WriteDev, WriteDevNull, WriteSysctl, ReadProtected, Homedir, User result
}

// stemModes runs a test with instances started as new processes, and with
// instances made from stem cells.
func stemModes(t *testing.T, run func(t *testing.T, stems int)) {
	for _, n := range []int{0, 1} {
		name := "process"
		if n > 0 {
			name = "stem-cell"
		}
		t.Run(name, func(t *testing.T) { run(t, n) })
	}
}

// fromStem waits for a ready stem cell (when stems > 0) before the next cold
// start, so that the start takes it.
func fromStem(t *testing.T, r *Registry, stems int) {
	t.Helper()
	if stems > 0 {
		waitFor(t, "a ready stem cell", func() bool { return r.stems.readyCount() > 0 })
	}
}

// checkStarts checks how the registry's instances were started: with stem
// cells, each of the functions' first instances (fns of them, each started
// once a stem cell was ready) from one; without, none. On a busy machine a
// call that waits while its instance starts may start one more, from a
// process when no stem cell is ready then: those are not counted against.
func checkStarts(t *testing.T, r *Registry, stems int, fns int64) {
	t.Helper()
	p, s := starts(r).process, starts(r).stem
	if stems > 0 && s < fns || stems == 0 && (s != 0 || p < fns) {
		t.Errorf("instances from processes: %d, from stem cells: %d (stem cells on: %v, %d functions)", p, s, stems > 0, fns)
	}
}

func TestSandboxIsolation(t *testing.T) { stemModes(t, testSandboxIsolation) }

func testSandboxIsolation(t *testing.T, stems int) {
	a := copyTree(t, testdata(t, "sandbox"))
	b := copyTree(t, testdata(t, "sandbox"))
	data := filepath.Join(a, ".cloudlet") // the data directory inside a project, as `cloudlet up` makes it
	os.MkdirAll(filepath.Join(data, "logs"), 0o700)
	os.WriteFile(filepath.Join(data, "secret"), []byte("admin"), 0o600)
	// A file of the code that only the host's root may read.
	os.WriteFile(filepath.Join(a, "protected"), []byte("root only"), 0o600)
	r := isolated(t, Options{Hide: []string{data}, StemCells: stems})
	if err := r.Deploy([]FunctionSpec{
		{Name: "a", Runtime: "nodejs20.x", Handler: "handler.handler", TaskRoot: a, MemorySize: 256, Timeout: 5},
		{Name: "b", Runtime: "nodejs20.x", Handler: "handler.handler", TaskRoot: b, MemorySize: 256, Timeout: 5},
	}); err != nil {
		t.Fatal(err)
	}
	look := func(fn, other, marker string) probe {
		t.Helper()
		payload, _ := json.Marshal(map[string]string{"mode": "look", "other": other, "data": data, "marker": marker})
		fromStem(t, r, stems)
		res := invoke(t, r, fn, string(payload))
		var p probe
		if err := json.Unmarshal(res.Payload, &p); err != nil || res.FunctionError != "" {
			t.Fatalf("%s: %s", fn, res.Payload)
		}
		return p
	}
	pa := look("a", b, "from-a")
	pb := look("b", a, "from-b")
	for name, p := range map[string]probe{"a": pa, "b": pb} {
		if p.FunctionName != name || p.StemVar != "" {
			t.Errorf("%s runs with the environment of %q (CLOUDLET_STEM=%q)", name, p.FunctionName, p.StemVar)
		}
		if p.Nofile != "1024" {
			t.Errorf("%s may open %q files, want 1024", name, p.Nofile)
		}
		if len(p.Pids) > 3 {
			t.Errorf("%s sees other processes: %v", name, p.Pids)
		}
		if p.UID == 0 {
			t.Errorf("%s runs as root", name)
		}
		if p.TaskRoot != "/var/task" || p.Cwd != "/var/task" {
			t.Errorf("%s: LAMBDA_TASK_ROOT %q, cwd %q", name, p.TaskRoot, p.Cwd)
		}
		if p.ReadOther.OK {
			t.Errorf("%s read the other function's code folder", name)
		}
		if p.ReadData.OK {
			t.Errorf("%s read the data directory by its host path", name)
		}
		if p.WriteCode.OK || p.WriteCode.Code != "EROFS" {
			t.Errorf("%s wrote its own code: %+v", name, p.WriteCode)
		}
		if !p.WriteTmp.OK {
			t.Errorf("%s cannot write its /tmp: %+v", name, p.WriteTmp)
		}
		if p.Shadow.OK {
			t.Errorf("%s read /etc/shadow", name)
		}
		checkUnprivileged(t, name, p)
		if p.Homedir.OK == false || string(p.Homedir.Value) != `"/home/sbx_user1051"` || string(p.User.Value) != `"sbx_user1051"` {
			t.Errorf("%s: os.homedir() %+v, os.userInfo() %+v; want /home/sbx_user1051 as on Lambda", name, p.Homedir, p.User)
		}
		// The code's own folder shows (a bind mount's root is its
		// host path); nothing else of the host's does.
		other := map[string]string{"a": b, "b": a}[name]
		for _, host := range []string{other, data, "/" + "cloudlet-cells"} {
			if strings.Contains(p.Mountinfo, " "+host) || strings.Contains(p.Mountinfo, host+"-") {
				t.Errorf("%s: /proc/self/mountinfo shows the host path %s:\n%s", name, host, p.Mountinfo)
			}
		}
	}
	checkHostUIDs(t)
	if !pa.ReadProtected.OK && pa.ReadProtected.Code != "EACCES" || pa.ReadProtected.OK {
		t.Errorf("a read a root-only file of its own code: %+v, want EACCES", pa.ReadProtected)
	}
	if pa.ReadHidden.OK {
		t.Error("a listed the data directory inside its code folder")
	}
	// Each function's /tmp is its own.
	if p := look("b", a, "again"); strings.Contains(strings.Join(p.Tmp, " "), "from-a") {
		t.Errorf("b sees a's /tmp: %v", p.Tmp)
	}
	if b, _ := os.ReadFile(filepath.Join(a, "handler.js")); string(b) == "hacked" {
		t.Fatal("the code was changed")
	}
	checkStarts(t, r, stems, 2)
}

// checkUnprivileged checks that an instance holds nothing of the host's
// root and can write nothing but /tmp (and devices such as /dev/null).
func checkUnprivileged(t *testing.T, name string, p probe) {
	t.Helper()
	for what, r := range map[string]result{"/x": p.WriteRoot, "/etc/x": p.WriteEtc, "/dev/x": p.WriteDev} {
		if r.OK || r.Code != "EROFS" {
			t.Errorf("%s wrote %s: %+v, want EROFS (only /tmp is writable, as on Lambda)", name, what, r)
		}
	}
	if p.WriteSysctl.OK {
		t.Errorf("%s wrote a host sysctl (/proc/sys/vm/swappiness)", name)
	}
	if !p.WriteDevNull.OK {
		t.Errorf("%s cannot write /dev/null: %+v", name, p.WriteDevNull)
	}
}

// checkHostUIDs checks, from the host, that every process of every running
// instance has an unprivileged uid: not root, not this process's.
func checkHostUIDs(t *testing.T) {
	t.Helper()
	groups, _ := filepath.Glob("/sys/fs/cgroup/memory/cloudlet-test/i-*/cgroup.procs")
	v2, _ := filepath.Glob("/sys/fs/cgroup/cloudlet-test/i-*/cgroup.procs")
	n := 0
	for _, g := range append(groups, v2...) {
		b, _ := os.ReadFile(g)
		for _, pid := range strings.Fields(string(b)) {
			st, err := os.ReadFile("/proc/" + pid + "/status")
			if err != nil {
				continue // gone meanwhile
			}
			for _, line := range strings.Split(string(st), "\n") {
				if f := strings.Fields(line); len(f) == 5 && f[0] == "Uid:" {
					n++
					if f[1] == "0" || f[2] == "0" || f[1] == strconv.Itoa(os.Getuid()) {
						t.Errorf("instance process %s runs as host uid %v", pid, f[1:])
					}
				}
			}
		}
	}
	if n == 0 {
		t.Error("no instance processes found to check")
	}
}

func TestSandboxMemoryLimit(t *testing.T) { stemModes(t, testSandboxMemoryLimit) }

func testSandboxMemoryLimit(t *testing.T, stems int) {
	logs, _ := telemetry.NewLogs("")
	r := isolated(t, Options{Logs: logs, StemCells: stems})
	if err := r.Deploy([]FunctionSpec{{Name: "m", Runtime: "nodejs20.x", Handler: "handler.handler", TaskRoot: testdata(t, "sandbox"), MemorySize: 128, Timeout: 20}}); err != nil {
		t.Fatal(err)
	}
	fromStem(t, r, stems)
	res := invoke(t, r, "m", `{"mode":"memory"}`)
	if res.ErrorType != "Runtime.OutOfMemory" {
		t.Fatalf("result = %s", res.Payload)
	}
	report := ""
	lines, _ := logs.Since("m", 0)
	for _, l := range lines {
		if strings.HasPrefix(l.Text, "REPORT") {
			report = l.Text
		}
	}
	if !strings.Contains(report, "Memory Size: 128 MB\tMax Memory Used: 128 MB") {
		t.Fatalf("REPORT = %q", report)
	}
	if res := invoke(t, r, "m", `{}`); res.FunctionError != "" {
		t.Fatalf("after the OOM kill: %s", res.Payload)
	}
	if stems > 0 && starts(r).stem == 0 {
		t.Error("no instance came from a stem cell")
	}
}

func TestSandboxPidsLimitAndTimeoutKillsTree(t *testing.T) {
	r := isolated(t, Options{PidsMax: 64})
	if err := r.Deploy([]FunctionSpec{
		{Name: "p", Runtime: "nodejs20.x", Handler: "handler.handler", TaskRoot: testdata(t, "sandbox"), MemorySize: 256, Timeout: 30},
		{Name: "o", Runtime: "nodejs20.x", Handler: "handler.handler", TaskRoot: testdata(t, "sandbox"), MemorySize: 256, Timeout: 1},
	}); err != nil {
		t.Fatal(err)
	}
	// 100 children cannot all start under a pids limit of 64 per instance.
	res := invoke(t, r, "p", `{"mode":"forks","n":100}`)
	var out struct{ Failed int }
	if json.Unmarshal(res.Payload, &out); res.FunctionError != "" || out.Failed == 0 {
		t.Fatalf("forks = %s", res.Payload)
	}
	// A child left behind by a timed-out invocation dies with its instance.
	res = invoke(t, r, "o", `{"mode":"orphan","marker":"987.654321"}`)
	if res.ErrorType != "Sandbox.Timedout" {
		t.Fatalf("orphan = %s", res.Payload)
	}
	waitFor(t, "the orphan to be gone", func() bool {
		out, _ := exec.Command("pgrep", "-f", "sleep 987.654321").Output()
		return len(strings.TrimSpace(string(out))) == 0
	})
}

func TestPlainFallbackSaysItIsNotIsolated(t *testing.T) {
	sb := sandbox.Plain("test")
	if ok, why := sb.Isolated(); ok || why != "test" {
		t.Fatalf("plain sandbox: %v %q", ok, why)
	}
	r := newRegistry(t, Options{Sandbox: sb})
	if err := r.Deploy([]FunctionSpec{nodeSpec(t, "f")}); err != nil {
		t.Fatal(err)
	}
	m := decode(t, invoke(t, r, "f", `{"mode":"context"}`))
	if m["functionName"] != "f" {
		t.Fatalf("plain instance: %v", m)
	}
}

func TestSandboxTmpIsLimitedToEphemeralStorage(t *testing.T) {
	r := isolated(t, Options{})
	if err := r.Deploy([]FunctionSpec{{Name: "f", Runtime: "nodejs20.x", Handler: "handler.handler", TaskRoot: testdata(t, "sandbox"), MemorySize: 256, Timeout: 10, EphemeralStorage: 8}}); err != nil {
		t.Fatal(err)
	}
	res := invoke(t, r, "f", `{"mode":"fill","mb":16}`)
	var out struct {
		Written int
		Code    string
	}
	if json.Unmarshal(res.Payload, &out); out.Code != "ENOSPC" || out.Written > 8 {
		t.Fatalf("filling an 8 MB /tmp with 16 MB: %s", res.Payload)
	}
}

// A root server with --no-sandbox still never runs function code as root.
func TestUnisolatedInstancesAreNotRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the server's own user is not root here")
	}
	sb := sandbox.Unisolated("test")
	t.Cleanup(sb.Close)
	r := newRegistry(t, Options{Sandbox: sb})
	if err := r.Deploy([]FunctionSpec{{Name: "f", Runtime: "nodejs20.x", Handler: "handler.handler", TaskRoot: testdata(t, "sandbox"), MemorySize: 256, Timeout: 5}}); err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(map[string]string{"mode": "look", "other": "/", "data": "/", "marker": "m"})
	var p probe
	if res := invoke(t, r, "f", string(payload)); json.Unmarshal(res.Payload, &p) != nil || res.FunctionError != "" {
		t.Fatalf("look: %s", res.Payload)
	}
	if p.UID == 0 || p.UID < 60000 {
		t.Fatalf("an unisolated instance of a root server runs as uid %d", p.UID)
	}
	if p.WriteSysctl.OK {
		t.Fatal("an unisolated instance wrote a host sysctl")
	}
}

// As root, a code folder the functions' user cannot read fails the deploy
// with a message that says how to fix it, rather than every invocation.
func TestUnreadableCodeFolderFailsTheDeploy(t *testing.T) {
	r := isolated(t, Options{})
	if os.Geteuid() != 0 {
		t.Skip("the server's own user is not root here")
	}
	code := copyTree(t, testdata(t, "sandbox"))
	os.Chmod(code, 0o700)
	err := r.Deploy([]FunctionSpec{{Name: "f", Runtime: "nodejs20.x", Handler: "handler.handler", TaskRoot: code, MemorySize: 256, Timeout: 5}})
	if err == nil || !strings.Contains(err.Error(), "chmod o+rx "+code) {
		t.Fatalf("deploy of a 0700 code folder: %v", err)
	}
}

// A function whose code folder holds the sandbox's private directory (its
// code folder is the system's temporary folder) sees that directory empty:
// the views, cells and account files are mounts of their own, which the
// code's mount does not carry.
func TestSandboxPrivateDirectoryIsEmptyFromInside(t *testing.T) {
	stemModes(t, testSandboxPrivateDirectory)
}

func testSandboxPrivateDirectory(t *testing.T, stems int) {
	if os.Geteuid() != 0 {
		t.Skip("the private directory is mounted as root only")
	}
	dir, err := os.MkdirTemp("/tmp", "cloudlet-code-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	src, _ := os.ReadFile(filepath.Join(testdata(t, "sandbox"), "handler.js"))
	os.WriteFile(filepath.Join(dir, "handler.js"), src, 0o644)
	r := isolated(t, Options{StemCells: stems})
	if err := r.Deploy([]FunctionSpec{{Name: "f", Runtime: "nodejs20.x", Handler: filepath.Base(dir) + "/handler.handler", TaskRoot: "/tmp", MemorySize: 256, Timeout: 5}}); err != nil {
		t.Fatal(err)
	}
	fromStem(t, r, stems)
	invoke(t, r, "f", `{}`) // the private directory exists from the first instance on
	priv, _ := filepath.Glob(filepath.Join("/tmp", "cloudlet-cells-"+strconv.Itoa(os.Getpid())+"-*"))
	if len(priv) == 0 {
		t.Fatal("no private directory in /tmp")
	}
	for _, p := range priv {
		// Its folder, and a folder inside it by its path (the runtime's copy).
		payload, _ := json.Marshal(map[string]string{"mode": "look", "other": "/var/task/" + filepath.Base(p), "data": "/var/task/" + filepath.Base(p) + "/rt-0", "marker": "m"})
		fromStem(t, r, stems)
		res := invoke(t, r, "f", string(payload))
		var pr probe
		if err := json.Unmarshal(res.Payload, &pr); err != nil || res.FunctionError != "" {
			t.Fatalf("look: %s", res.Payload)
		}
		if pr.ReadOther.OK && string(pr.ReadOther.Value) != "[]" || pr.ReadData.OK {
			t.Errorf("the function sees the private directory's contents: %s; rt-0: %+v", pr.ReadOther.Value, pr.ReadData)
		}
	}
}

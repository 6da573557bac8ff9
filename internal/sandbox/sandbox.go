package sandbox

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// TaskDir is where an isolated instance sees its function's code, and
// RuntimeDir where it sees the runtime bootstraps (as on Lambda).
const (
	TaskDir    = "/var/task"
	RuntimeDir = "/var/runtime"
)

// uid and gid of the unprivileged user instances run as (as on Lambda, 993).
const sandboxID = "993"

// Sandbox starts instances, isolated when the machine allows it.
type Sandbox struct {
	bwrap  string
	cg     *cgroups
	cells  cells
	reason string    // why not isolated, when not
	user   *hostUser // the host user instances run as; nil: this process's own
}

// New probes the machine and returns an isolated sandbox when it can, else a
// plain one; Isolated tells which, and why not. stateDir holds the stem
// cells' mount points (default: the system's temporary folder); it should
// be a folder instances cannot see, such as the data directory.
func New(cgroupParent, stateDir string) *Sandbox {
	s := &Sandbox{}
	s.cells.parent = stateDir
	if os.Geteuid() == 0 {
		// Function code never runs as the host's root, isolated or not.
		s.user = pickHostUser()
		s.cells.user = s.user
	}
	if runtime.GOOS != "linux" {
		s.reason = "not Linux"
		return s
	}
	bw, err := exec.LookPath("bwrap")
	if err != nil {
		for _, p := range []string{"/usr/bin/bwrap", "/usr/local/bin/bwrap"} {
			if _, err := os.Stat(p); err == nil {
				bw = p
			}
		}
	}
	if bw == "" {
		s.reason = "bubblewrap (bwrap) is not installed: apt-get install bubblewrap"
		return s
	}
	// bwrap must be able to make the namespaces here, as the user the
	// instances run as.
	probe := exec.Command(bw, "--unshare-user", "--uid", sandboxID, "--unshare-pid", "--ro-bind", "/usr", "/usr",
		"--symlink", "usr/bin", "/bin", "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64", "--", "/bin/true")
	probe.SysProcAttr = &syscall.SysProcAttr{Credential: s.user.credential()}
	if out, err := probe.CombinedOutput(); err != nil {
		s.reason = fmt.Sprintf("bubblewrap cannot create namespaces here as an unprivileged user: %v %s", err, strings.TrimSpace(string(out)))
		return s
	}
	cg, err := newCgroups(cgroupParent, s.user)
	if err != nil {
		s.reason = "cannot create cgroups for limits: " + err.Error()
		return s
	}
	s.bwrap, s.cg = bw, cg
	return s
}

// Plain returns a sandbox that does not isolate and runs instances as this
// process's own user, root included: for tests of the parts above it.
func Plain(reason string) *Sandbox { return &Sandbox{reason: reason} }

// Unisolated returns a sandbox that does not isolate (--no-sandbox) but,
// when this process is root, still runs instances as an unused host user,
// never as root. Their code and interpreter must then be readable by that
// user at their host paths.
func Unisolated(reason string) *Sandbox {
	s := &Sandbox{reason: reason}
	if os.Geteuid() == 0 {
		s.user = pickHostUser()
		s.cells.user = s.user
	}
	return s
}

// Isolated reports whether instances are isolated, and if not, why.
func (s *Sandbox) Isolated() (bool, string) { return s.bwrap != "", s.reason }

// CodeInCell reports whether every instance needs its code attached to a
// cell (NewCell, Attach) before Wrap: isolated instances of a root server.
func (s *Sandbox) CodeInCell() bool { return s.bwrap != "" && s.user != nil }

// Close releases what the sandbox holds on the host (the stem cells' mount
// points). Instances must be gone first.
func (s *Sandbox) Close() {
	s.cells.close()
	if s.user != nil && s.user.lock != nil {
		s.user.lock.Close() // the host uid is free for another server
	}
}

// Config describes one function's instances.
type Config struct {
	TaskRoot    string   // host folder of the code, seen at TaskDir
	Cell        *Cell    // a stem cell's mount point, seen at TaskDir instead of TaskRoot
	Runtime     string   // host folder of the bootstraps, seen at RuntimeDir
	ReadOnly    []string // more host paths to bind read-only at the same path (an interpreter's prefix)
	Hide        []string // host paths under TaskRoot to cover with an empty tmpfs
	MemoryMB    int
	TmpMB       int // /tmp size; 0 means 512
	PidsMax     int // 0 means 1024
	CPUShares   int // relative; 0 means proportional to MemoryMB
	Environment []string
	Binds       []Bind // more host folders to show read-only (the runtime SDKs)
}

// Bind shows the host folder Host read-only at At inside the sandbox. At
// may lie inside RuntimeDir.
type Bind struct{ Host, At string }

// View maps a host path under the task root to the path the instance sees.
func (s *Sandbox) View(cfg *Config, p string) string {
	maps := [][2]string{{cfg.Runtime, RuntimeDir}, {cfg.TaskRoot, TaskDir}}
	for _, b := range cfg.Binds {
		maps = append([][2]string{{b.Host, b.At}}, maps...)
	}
	if s.bwrap == "" {
		if s.user == nil || cfg.Runtime == "" {
			return p
		}
		// Not isolated but not root either: the bootstraps are read from
		// a copy the instances' user can reach (the data directory is
		// private to the server).
		v, err := s.cells.copied(cfg.Runtime)
		if err != nil {
			return p
		}
		maps = [][2]string{{cfg.Runtime, v}}
	}
	// The runtime folder may lie inside the code folder (the data directory
	// of a project): the more specific mapping goes first.
	for _, m := range maps {
		if m[0] == "" {
			continue
		}
		if p == m[0] {
			return m[1]
		}
		if rel, ok := strings.CutPrefix(p, m[0]+string(os.PathSeparator)); ok {
			return m[1] + "/" + filepath.ToSlash(rel)
		}
	}
	return p
}

// etcFiles are the parts of /etc a function may need (TLS roots, name
// resolution, time zones), never the host's secrets.
var etcFiles = []string{
	"/etc/ssl", "/etc/ca-certificates", "/etc/pki", "/etc/resolv.conf", "/etc/hosts",
	"/etc/nsswitch.conf", "/etc/localtime", "/etc/zoneinfo", "/etc/mime.types", "/etc/host.conf",
}

// joinScript runs as the instance's first process: it joins the instance's
// cgroups (the files given first, after their count) and execs the rest, so
// that every process of the instance starts inside its limits. (Joining from
// the parent after the start races with bubblewrap's own fork.)
// It also sets the open-files limit of the instance, 1024 as on Lambda.
const joinScript = `n=$1; shift; while [ "$n" -gt 0 ]; do echo $$ >"$1" || exit 125; shift; n=$((n-1)); done; ulimit -n ` + openFilesMax + `; exec "$@"`

// openFilesMax is an instance's limit on open files (soft and hard), as on Lambda.
const openFilesMax = "1024"

// Wrap rewrites cmd (Path, Args, Dir, SysProcAttr) to run inside the
// sandbox, under the limits of lim. cmd.Path and cmd.Args must already name
// paths as the instance sees them (View); cmd.SysProcAttr, if set, is kept
// and added to.
//
// As root, cfg.Cell must hold the code (Attach) and the instance runs as
// the sandbox's host user: bubblewrap, started as that user, reaches only
// what that user may, so everything it binds from folders the user cannot
// pass through is bound from a view the sandbox mounted for it.
func (s *Sandbox) Wrap(cmd *exec.Cmd, cfg *Config, lim *Limits) error {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Credential = s.user.credential()
	if s.bwrap == "" {
		if cmd.Dir == "" {
			cmd.Dir = cfg.TaskRoot
		}
		return nil
	}
	if s.user != nil && cfg.Cell == nil {
		return errors.New("sandbox: an instance started as root needs its code attached to a cell")
	}
	if err := s.cells.setup(); err != nil {
		return err
	}
	tmp := cfg.TmpMB
	if tmp <= 0 {
		tmp = 512
	}
	a := []string{"bwrap",
		"--unshare-user", "--uid", sandboxID, "--gid", sandboxID,
		"--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
		"--die-with-parent", "--cap-drop", "ALL", "--hostname", "localhost",
		"--ro-bind", "/usr", "/usr",
		"--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64",
		"--symlink", "usr/bin", "/bin", "--symlink", "usr/sbin", "/sbin",
	}
	for _, p := range etcFiles {
		if _, err := os.Stat(p); err == nil {
			a = append(a, "--ro-bind", p, p)
		}
	}
	for _, f := range strings.Fields(accountFiles) {
		a = append(a, "--ro-bind", filepath.Join(s.cells.dir, f), "/etc/"+f)
	}
	bindRO := func(src, dst string) error {
		v, err := s.cells.view(src)
		if err != nil {
			return err
		}
		a = append(a, "--ro-bind", v, dst)
		return nil
	}
	for _, p := range cfg.ReadOnly {
		if p != "" && !strings.HasPrefix(p, "/usr/") {
			if err := bindRO(p, p); err != nil {
				return err
			}
		}
	}
	if cfg.Runtime != "" {
		v, err := s.cells.copied(cfg.Runtime)
		if err != nil {
			return err
		}
		a = append(a, "--ro-bind", v, RuntimeDir)
		// Binds inside the (read-only) runtime folder need their mount
		// points made in it beforehand.
		for _, b := range cfg.Binds {
			if rel, ok := strings.CutPrefix(b.At, RuntimeDir+"/"); ok {
				if err := mkdirAll(v, rel); err != nil {
					return err
				}
			}
		}
	}
	for _, b := range cfg.Binds {
		if err := bindRO(b.Host, b.At); err != nil {
			return err
		}
	}
	if cfg.Cell != nil {
		// The code is there, or arrives later (Cell.Attach), with its
		// hidden folders.
		a = append(a, "--ro-bind", cfg.Cell.path, TaskDir)
	} else {
		a = append(a, "--ro-bind", cfg.TaskRoot, TaskDir)
		for _, h := range cfg.Hide {
			if v := s.View(cfg, h); v != h {
				if _, err := os.Stat(h); err == nil {
					a = append(a, "--perms", "0000", "--tmpfs", v, "--remount-ro", v)
				}
			}
		}
	}
	a = append(a,
		"--size", strconv.Itoa(tmp<<20), "--perms", "1777", "--tmpfs", "/tmp",
		"--proc", "/proc", "--dev", "/dev",
		// As on Lambda, only /tmp is writable; nothing of /proc that
		// changes the host (sysctls) is, whoever the user.
		"--ro-bind", "/proc/sys", "/proc/sys", "--ro-bind-try", "/proc/sysrq-trigger", "/proc/sysrq-trigger",
		"--remount-ro", "/dev", "--remount-ro", "/",
		"--chdir", TaskDir, "--")
	a[0] = s.bwrap
	a = append(a, cmd.Args...)
	if lim != nil {
		files := lim.cg.procsFiles(lim.name)
		if lim.dir != nil {
			// cgroup v2: the kernel starts the process in its group
			// (CLONE_INTO_CGROUP): an unprivileged user may not move
			// itself there.
			cmd.SysProcAttr.UseCgroupFD, cmd.SysProcAttr.CgroupFD = true, int(lim.dir.Fd())
			files = nil
		}
		pre := append([]string{"/bin/sh", "-c", joinScript, "sh", strconv.Itoa(len(files))}, files...)
		a = append(pre, a...)
	}
	cmd.Args = a
	cmd.Path = a[0]
	cmd.Dir = ""
	return nil
}

// Limits is an instance's cgroup.
type Limits struct {
	cg   *cgroups
	name string
	peak *os.File // kept open: read on every invocation's REPORT line
	dir  *os.File // cgroup v2: the group's folder, to start the instance in
}

// Limit creates the limits of one instance, to pass to Wrap before its
// start; nil when the sandbox has no cgroups.
func (s *Sandbox) Limit(name string, cfg *Config) (*Limits, error) {
	if s.cg == nil {
		return nil, nil
	}
	pids := cfg.PidsMax
	if pids <= 0 {
		pids = 1024
	}
	shares := cfg.CPUShares
	if shares <= 0 {
		shares = cfg.MemoryMB // Lambda's CPU is proportional to memory
	}
	if err := s.cg.create(name, int64(cfg.MemoryMB)<<20, pids, shares); err != nil {
		return nil, err
	}
	l := &Limits{cg: s.cg, name: name}
	l.peak, _ = os.Open(s.cg.peakFile(name))
	if s.cg.v2 {
		d, err := os.Open(s.cg.dir("", name))
		if err != nil {
			l.Close()
			return nil, err
		}
		l.dir = d
	}
	return l, nil
}

// Resize changes the instance's memory limit and CPU share (0 shares means
// proportional to memory): a stem cell takes its function's limits.
func (l *Limits) Resize(memoryMB, shares int) error {
	if l == nil {
		return nil
	}
	if shares <= 0 {
		shares = memoryMB
	}
	return l.cg.resize(l.name, int64(memoryMB)<<20, shares)
}

// Procs lists the host process ids of the instance.
func (l *Limits) Procs() []int {
	if l == nil {
		return nil
	}
	return l.cg.procs(l.name)
}

// Tasks lists the host thread ids of every process in the instance.
func (l *Limits) Tasks() []int {
	if l == nil {
		return nil
	}
	return l.cg.tasks(l.name)
}

// PeakMemoryMB is the instance's peak memory use, rounded up.
func (l *Limits) PeakMemoryMB() int64 {
	if l == nil || l.peak == nil {
		return 0
	}
	var buf [32]byte
	n, _ := l.peak.ReadAt(buf[:], 0)
	var b int64
	for _, ch := range buf[:n] {
		if ch < '0' || ch > '9' {
			break
		}
		b = b*10 + int64(ch-'0')
	}
	return (b + 1<<20 - 1) >> 20
}

// OOMKilled reports whether the kernel killed a process of the instance for
// exceeding its memory.
func (l *Limits) OOMKilled() bool {
	return l != nil && l.cg.oomKilled(l.name)
}

// Close kills whatever is left in the instance's cgroup and removes it. A
// killed process leaves its group a moment after the signal, so removal is
// retried in the background for a few seconds.
func (l *Limits) Close() error {
	if l == nil {
		return nil
	}
	if l.peak != nil {
		l.peak.Close()
	}
	if l.dir != nil {
		l.dir.Close()
	}
	l.cg.killAll(l.name)
	if l.cg.remove(l.name) == nil {
		return nil
	}
	go func() {
		for i := 0; i < 100; i++ {
			time.Sleep(50 * time.Millisecond)
			if l.cg.remove(l.name) == nil {
				return
			}
		}
	}()
	return nil
}

var errNoCgroups = errors.New("no usable cgroup hierarchy")

// mkdirAll makes root/rel and the folders on its way, each 0755 whatever
// the umask: the instances' user must pass through them.
func mkdirAll(root, rel string) error {
	p := root
	for _, part := range strings.Split(filepath.Clean(rel), string(os.PathSeparator)) {
		if part == "" || part == "." {
			continue
		}
		p = filepath.Join(p, part)
		if err := os.Mkdir(p, 0o755); err != nil && !os.IsExist(err) {
			return err
		}
		if err := os.Chmod(p, 0o755); err != nil {
			return err
		}
	}
	return nil
}

package sandbox

import (
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

func TestUnescapeMount(t *testing.T) {
	for in, want := range map[string]string{
		`/tmp/a`:             "/tmp/a",
		`/tmp/with\040space`: "/tmp/with space",
		`/tmp/tab\011x`:      "/tmp/tab\tx",
		`/tmp/back\134slash`: `/tmp/back\slash`,
		`/tmp/short\04`:      `/tmp/short\04`,
		`/tmp/bad\9990`:      `/tmp/bad\9990`,
	} {
		if got := unescapeMount(in); got != want {
			t.Errorf("unescapeMount(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzUnescapeMount(f *testing.F) {
	for _, s := range []string{`/a\040b`, `\`, `\1`, `\12`, `\777`, `plain`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := unescapeMount(s)
		if len(out) > len(s) {
			t.Fatalf("unescaping grew %q to %q", s, out)
		}
	})
}

// deadPID finds a process id that no process has.
func deadPID(t *testing.T) int {
	for pid := 4190000; pid > 4000000; pid-- {
		if syscall.Kill(pid, 0) == syscall.ESRCH {
			return pid
		}
	}
	t.Skip("no free pid found")
	return 0
}

// The cells a killed server left behind are unmounted and removed at the
// next start, and the code that was mounted in them is untouched.
func TestSweepCellsOfDeadServers(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("mounting needs root (CI runs as root)")
	}
	code := t.TempDir()
	os.WriteFile(filepath.Join(code, "handler.js"), []byte("exports.handler = 1"), 0o644)
	dir := filepath.Join(os.TempDir(), cellsPrefix+strconv.Itoa(deadPID(t))+"-test")
	cell := filepath.Join(dir, "1")
	if err := os.MkdirAll(cell, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unmountUnder(dir); os.RemoveAll(dir) })
	if err := unix.Mount(dir, dir, "", unix.MS_BIND, ""); err != nil {
		t.Fatal(err)
	}
	if err := (&Cell{path: cell}).Attach(code, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(cell, "handler.js")); err != nil {
		t.Fatalf("the code is not mounted in the cell: %v", err)
	}
	if err := os.WriteFile(filepath.Join(cell, "x"), nil, 0o644); err == nil {
		t.Fatal("the cell's code is writable")
	}
	sweepCells(os.TempDir())
	if len(mountsUnder(dir)) != 0 {
		t.Fatalf("mounts left: %v", mountsUnder(dir))
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("cell directory left: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(code, "handler.js")); err != nil || string(b) != "exports.handler = 1" {
		t.Fatalf("the code was harmed: %q %v", b, err)
	}
}

// Attach hides the folders it is told to inside the code, and never mounts
// anything outside the cell, even when the way to a hidden folder is a
// symlink out of the code.
func TestAttachHidesOnlyInsideTheCell(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("mounting needs root (CI runs as root)")
	}
	s := &Sandbox{bwrap: "bwrap", user: pickHostUser()}
	s.cells.user = s.user
	t.Cleanup(s.Close)
	code, outside := t.TempDir(), t.TempDir()
	os.MkdirAll(filepath.Join(code, "data"), 0o755)
	os.WriteFile(filepath.Join(code, "data", "secret"), []byte("s"), 0o600)
	os.Symlink(outside, filepath.Join(code, "link"))
	cell, err := s.NewCell()
	if err != nil {
		t.Fatal(err)
	}
	defer cell.Close()
	if err := cell.Attach(code, []string{filepath.Join(code, "data"), filepath.Join(code, "link")}); err != nil {
		t.Fatal(err)
	}
	if entries, err := os.ReadDir(filepath.Join(cell.path, "data")); err == nil && len(entries) > 0 {
		t.Fatalf("the hidden folder shows %d entries in the cell", len(entries))
	}
	if b, _ := os.ReadFile(filepath.Join(code, "data", "secret")); string(b) != "s" {
		t.Fatal("the hidden folder's own content changed")
	}
	if err := os.WriteFile(filepath.Join(outside, "x"), nil, 0o644); err != nil {
		t.Fatalf("a mount landed outside the cell: %v", err)
	}
	for _, m := range mountsUnder(outside) {
		t.Fatalf("mount outside the cell: %s", m)
	}
}

// The host user instances run as is nobody's: no account, group or running
// process has its id.
func TestPickHostUserIsUnused(t *testing.T) {
	u := pickHostUser()
	if u.uid < firstHostID || u.uid != u.gid {
		t.Fatalf("picked %+v", u)
	}
	for _, f := range []string{"/etc/passwd", "/etc/group"} {
		for _, id := range idsIn(f) {
			if id == u.uid {
				t.Fatalf("%d is in %s", id, f)
			}
		}
	}
	for _, id := range processUIDs() {
		if id == u.uid {
			t.Fatalf("a running process has uid %d", id)
		}
	}
}

// The sweep removes nothing through a name someone else planted in the
// shared temporary folder: a symlink, or a folder that is not this user's.
func TestSweepIgnoresPlantedNames(t *testing.T) {
	parent := t.TempDir()
	victim := t.TempDir()
	os.WriteFile(filepath.Join(victim, "precious"), []byte("x"), 0o644)
	pid := strconv.Itoa(deadPID(t))
	if err := os.Symlink(victim, filepath.Join(parent, cellsPrefix+pid+"-link")); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(parent, cellsPrefix+pid+"-theirs")
	os.Mkdir(other, 0o755)
	os.WriteFile(filepath.Join(other, "theirs"), []byte("x"), 0o644)
	if os.Geteuid() == 0 {
		os.Chown(other, 12345, 12345)
	}
	sweepCells(parent)
	if _, err := os.Stat(filepath.Join(victim, "precious")); err != nil {
		t.Fatalf("the sweep removed a file through a planted symlink: %v", err)
	}
	if os.Geteuid() == 0 {
		if _, err := os.Stat(filepath.Join(other, "theirs")); err != nil {
			t.Fatalf("the sweep emptied a folder owned by another user: %v", err)
		}
	}
}

// Two servers never take the same host user: the first holds its id.
func TestPickHostUserReservesItsID(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("host users are picked as root")
	}
	old := reserveDir
	reserveDir = t.TempDir()
	defer func() { reserveDir = old }()
	a, b := pickHostUser(), pickHostUser()
	defer a.lock.Close()
	defer b.lock.Close()
	if a.uid == b.uid || a.lock == nil || b.lock == nil {
		t.Fatalf("two servers got uids %d and %d", a.uid, b.uid)
	}
}

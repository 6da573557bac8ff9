package sandbox

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// hostUser is the unprivileged host uid/gid that instances run as when
// Cloudlet runs as root: inside their user namespace they are 993 (as on
// Lambda), outside they are this, so the host's permission checks see an
// ordinary user with no files of its own, never root.
type hostUser struct {
	uid, gid uint32
	lock     *os.File // held for the server's life: no other server takes the id
}

// firstHostID is where the search for an unused host uid/gid starts: above
// the ranges distributions give to system services and people (below 60000,
// per Debian's policy) and below nobody's 65534.
const firstHostID = 60993

// reserveDir holds a lock file per id in use by a Cloudlet server.
var reserveDir = "/run/cloudlet"

// pickHostUser returns the first uid ≥ firstHostID that no account, group,
// running process or other Cloudlet server uses (a server holds a lock on
// its id for its life), so that instances never share a uid with another
// service of the host, another Cloudlet server's instances included.
func pickHostUser() *hostUser {
	taken := map[uint32]bool{}
	for _, f := range []string{"/etc/passwd", "/etc/group"} {
		for _, id := range idsIn(f) {
			taken[id] = true
		}
	}
	for _, id := range processUIDs() {
		taken[id] = true
	}
	dir := reserveDir
	if err := os.MkdirAll(dir, 0o755); err != nil {
		dir = ""
	}
	for id := uint32(firstHostID); id < 65534; id++ {
		if taken[id] {
			continue
		}
		u := &hostUser{uid: id, gid: id}
		if dir == "" {
			return u
		}
		f, err := os.OpenFile(filepath.Join(dir, "uid-"+strconv.FormatUint(uint64(id), 10)+".lock"),
			os.O_CREATE|os.O_RDWR|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0o600)
		if err != nil {
			continue
		}
		if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil {
			f.Close() // another server's
			continue
		}
		u.lock = f
		return u
	}
	return &hostUser{uid: 65533, gid: 65533}
}

// idsIn reads the third field (the uid of passwd, the gid of group) of each
// line of a colon-separated account file.
func idsIn(file string) []uint32 {
	f, err := os.Open(file)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []uint32
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		parts := strings.Split(sc.Text(), ":")
		if len(parts) < 3 {
			continue
		}
		if n, err := strconv.ParseUint(parts[2], 10, 32); err == nil {
			out = append(out, uint32(n))
		}
	}
	return out
}

// processUIDs lists the real uids of the host's running processes.
func processUIDs() []uint32 {
	entries, _ := os.ReadDir("/proc")
	var out []uint32
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		var st syscall.Stat_t
		if syscall.Stat(filepath.Join("/proc", e.Name()), &st) == nil {
			out = append(out, st.Uid)
		}
	}
	return out
}

// The account instances see, as Lambda's runtimes have it: SDKs ask for the
// home folder (Node's os.homedir(), Python's expanduser), which must
// resolve even though it does not exist.
const (
	sandboxUser  = "sbx_user1051"
	sandboxHome  = "/home/" + sandboxUser
	passwdFile   = "root:x:0:0:root:/root:/sbin/nologin\n" + sandboxUser + ":x:" + sandboxID + ":" + sandboxID + "::" + sandboxHome + ":/sbin/nologin\n"
	groupFile    = "root:x:0:\n" + sandboxUser + ":x:" + sandboxID + ":\n"
	accountFiles = "passwd group"
)

// credential is what a process started as u runs as.
func (u *hostUser) credential() *syscall.Credential {
	if u == nil {
		return nil
	}
	return &syscall.Credential{Uid: u.uid, Gid: u.gid, Groups: []uint32{}}
}

// UID is the host uid instances run as, or -1 when they run as the server's
// own user (it is not root).
func (s *Sandbox) UID() int {
	if s.user == nil {
		return -1
	}
	return int(s.user.uid)
}

// CheckCode says, when instances run as a host user of their own, whether
// that user may read a function's code folder: isolated, the folder itself
// must be readable by others (the sandbox mounts it; its parents do not
// matter); not isolated, every folder on its way must be passable too.
func (s *Sandbox) CheckCode(dir string) error {
	if s.user == nil {
		return nil
	}
	st, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if st.Mode().Perm()&0o005 != 0o005 {
		return fmt.Errorf("the code folder %s (mode %04o) is not readable by the user functions run as (uid %d, as Lambda's runtime user reads /var/task): chmod o+rx %s", dir, st.Mode().Perm(), s.user.uid, dir)
	}
	if s.bwrap == "" && !passable(dir) {
		return fmt.Errorf("the code folder %s cannot be reached by the user functions run as (uid %d) without the sandbox: a folder on its way lacks o+x", dir, s.user.uid)
	}
	return nil
}

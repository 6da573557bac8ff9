package sandbox

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"
)

// Cells are the empty folders that pre-started instances (stem cells) see
// at /var/task, onto which a function's code is mounted when a cell is
// given to that function.
//
// The folders live in a private directory of this process, under the state
// directory given to New (the server gives its data directory, which no
// instance sees), bound onto itself and made a shared mount. bubblewrap turns every mount of the
// sandbox into a slave of the host's, so a mount made later on the host at a
// cell's folder appears inside that cell's sandbox, and only there: each
// sandbox binds its own cell's folder and nothing else of the directory.
// The code is mounted read-only (open_tree, mount_setattr, move_mount), so
// the copy that propagates is read-only from its first moment.
type cells struct {
	parent string    // where the directory is made; "" for os.TempDir()
	user   *hostUser // who instances run as; nil: this process's own user
	once   sync.Once
	dir    string
	err    error
	seq    atomic.Int64

	mu    sync.Mutex
	views map[string]string // host path → its read-only view in dir
}

const cellsPrefix = "cloudlet-cells-"

// setup makes the directory, once, with the account files instances see
// as /etc/passwd and /etc/group. As root it is a shared tmpfs, where cells
// and views are mounted, and the instances' user may pass through it (mode
// 0710, group the instances' gid) but nobody else: it lives in the
// system's temporary folder, since the instances' user, which bubblewrap
// runs as, must reach what it binds, and the data directory's parents (a
// project in /root, say) need not be passable.
func (c *cells) setup() error {
	c.once.Do(func() {
		parent := c.parent
		if parent == "" {
			parent = os.TempDir()
		}
		if c.user != nil {
			parent = passableDir(os.TempDir(), "/tmp", "/var/tmp")
		}
		if err := os.MkdirAll(parent, 0o700); err != nil {
			c.err = err
			return
		}
		sweepCells(parent)
		dir, err := os.MkdirTemp(parent, cellsPrefix+strconv.Itoa(os.Getpid())+"-")
		if err != nil {
			c.err = err
			return
		}
		fail := func(err error) {
			unix.Unmount(dir, unix.MNT_DETACH)
			for _, f := range strings.Fields(accountFiles) {
				os.Remove(filepath.Join(dir, f))
			}
			os.Remove(dir)
			c.err = err
		}
		if c.user != nil {
			// A tmpfs of its own, so that what instances bind from it
			// shows in their mountinfo by its path in the tmpfs (/1,
			// /passwd), not by a host path.
			opts := fmt.Sprintf("mode=0710,uid=0,gid=%d,size=4m", c.user.gid)
			if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, opts); err != nil {
				fail(fmt.Errorf("mount a tmpfs at %s: %w", dir, err))
				return
			}
			if err := unix.Mount("", dir, "", unix.MS_SHARED, ""); err != nil {
				fail(fmt.Errorf("make %s shared: %w", dir, err))
				return
			}
		}
		for f, body := range map[string]string{"passwd": passwdFile, "group": groupFile} {
			p := filepath.Join(dir, f)
			if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
				fail(err)
				return
			}
			os.Chmod(p, 0o644) // whatever the umask
		}
		c.dir = dir
	})
	return c.err
}

// copied returns a folder of the directory holding a copy of the small
// host folder p (the runtime bootstraps), made once per path: instances
// bind it without learning where the data directory is.
func (c *cells) copied(p string) (string, error) {
	return c.made(p, "rt-", func(v string) error {
		err := filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(p, path)
			dst := filepath.Join(v, rel)
			switch {
			case d.IsDir():
				if err := os.MkdirAll(dst, 0o755); err != nil {
					return err
				}
				return os.Chmod(dst, 0o755) // whatever the umask
			case d.Type().IsRegular():
				b, err := os.ReadFile(path)
				if err != nil {
					return err
				}
				if err := os.WriteFile(dst, b, 0o644); err != nil {
					return err
				}
				return os.Chmod(dst, 0o644)
			}
			return nil // nothing else belongs in a runtime folder
		})
		if err != nil {
			return fmt.Errorf("copy %s for the instances: %w", p, err)
		}
		return nil
	})
}

// made returns the folder of the directory made for host path p (named
// prefix and a number) by build, once per path; without a host user, p.
func (c *cells) made(p, prefix string, build func(v string) error) (string, error) {
	if c.user == nil {
		return p, nil
	}
	if err := c.setup(); err != nil {
		return "", err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if v, ok := c.views[p]; ok {
		return v, nil
	}
	v := filepath.Join(c.dir, prefix+strconv.Itoa(len(c.views)))
	if err := build(v); err != nil {
		return "", err
	}
	if c.views == nil {
		c.views = map[string]string{}
	}
	c.views[p] = v
	return v, nil
}

// passableDir returns the first of dirs that every user may pass through
// (each folder on its way has o+x): bubblewrap, as the instances' user,
// reaches the directory's contents by its path. TMPDIR may point into a
// private folder.
func passableDir(dirs ...string) string {
	for _, d := range dirs {
		if passable(d) {
			return d
		}
	}
	return dirs[len(dirs)-1]
}

func passable(dir string) bool {
	d, err := filepath.Abs(dir)
	if err != nil {
		return false
	}
	for {
		st, err := os.Stat(d)
		if err != nil || !st.IsDir() || st.Mode().Perm()&0o001 == 0 {
			return false
		}
		if d == "/" {
			return true
		}
		d = filepath.Dir(d)
	}
}

// view returns a path the instances' user can reach where the host folder
// p is seen read-only (an interpreter's prefix, the runtime's SDK), made
// once per path; without a host user, p itself.
func (c *cells) view(p string) (string, error) {
	return c.made(p, "ro-", func(v string) error {
		if err := os.Mkdir(v, 0o755); err != nil && !os.IsExist(err) {
			return err
		}
		if err := mountReadOnly(p, v); err != nil {
			os.Remove(v)
			return err
		}
		return nil
	})
}

// mountReadOnly mounts a copy of the folder src at dst, read-only, nosuid
// and nodev from its first moment (open_tree, mount_setattr, move_mount).
func mountReadOnly(src, dst string) error {
	fd, err := unix.OpenTree(unix.AT_FDCWD, src, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
	if err != nil {
		return fmt.Errorf("open_tree %s: %w", src, err)
	}
	defer unix.Close(fd)
	attr := &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV}
	if err := unix.MountSetattr(fd, "", unix.AT_EMPTY_PATH, attr); err != nil {
		return fmt.Errorf("mount_setattr: %w", err)
	}
	if err := unix.MoveMount(fd, "", unix.AT_FDCWD, dst, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return fmt.Errorf("move_mount onto %s: %w", dst, err)
	}
	return nil
}

// close unmounts the directory and removes it (never recursively: a cell
// still mounted keeps its folder, and the code in it, untouched).
func (c *cells) close() {
	if c.dir == "" {
		return
	}
	unmountUnder(c.dir)
	entries, _ := os.ReadDir(c.dir)
	for _, e := range entries {
		os.Remove(filepath.Join(c.dir, e.Name())) // an empty folder or an account file
	}
	os.Remove(c.dir)
}

// Cell is one stem cell's mount point.
type Cell struct {
	path string
}

// NewCell makes a mount point for a stem cell; nil (and no error) when the
// sandbox does not isolate, as a plain stem cell reads the code where it is.
func (s *Sandbox) NewCell() (*Cell, error) {
	if s.bwrap == "" {
		return nil, nil
	}
	if s.user == nil {
		return nil, errors.New("stem cells need Cloudlet to run as root (to mount the code into a running sandbox)")
	}
	if err := s.cells.setup(); err != nil {
		return nil, err
	}
	p := filepath.Join(s.cells.dir, strconv.FormatInt(s.cells.seq.Add(1), 10))
	if err := os.Mkdir(p, 0o755); err != nil {
		return nil, err
	}
	os.Chmod(p, 0o755) // whatever the umask
	return &Cell{path: p}, nil
}

// Attach mounts taskRoot read-only at the cell, and an empty read-only
// tmpfs over each folder of hide that lies inside it, so that the cell's
// instance sees the code at /var/task exactly as Wrap would have shown it.
func (c *Cell) Attach(taskRoot string, hide []string) error {
	if c == nil {
		return nil
	}
	if err := mountReadOnly(taskRoot, c.path); err != nil {
		return err
	}
	// The folders to hide are found by their real paths, so that the
	// mount lands on a real folder of the code tree: a symlink on the way
	// would take a mount made here, on the host, somewhere else.
	realRoot, err := filepath.EvalSymlinks(taskRoot)
	if err != nil {
		c.Close()
		return err
	}
	cell, err := unix.Open(c.path, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		c.Close()
		return err
	}
	defer unix.Close(cell)
	for _, h := range hide {
		realH, err := filepath.EvalSymlinks(h)
		if err != nil {
			continue // not there: nothing to hide
		}
		rel, ok := strings.CutPrefix(realH, realRoot+string(os.PathSeparator))
		if !ok {
			continue // outside the code: the instance cannot reach it
		}
		// The folder is opened beneath the cell with no symlink on the way,
		// and the tmpfs mounted onto that open folder: a symlink swapped in
		// by whoever owns the code between a check and the mount cannot
		// take the mount elsewhere on the host.
		fd, err := unix.Openat2(cell, rel, &unix.OpenHow{
			Flags:   unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC,
			Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
		})
		if err != nil {
			c.Close()
			return fmt.Errorf("hide %s: %s is not a folder of the code tree: %w", h, rel, err)
		}
		err = unix.Mount("tmpfs", "/proc/self/fd/"+strconv.Itoa(fd), "tmpfs", unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "size=4k,mode=000")
		unix.Close(fd)
		if err != nil {
			c.Close()
			return fmt.Errorf("hide %s: %w", h, err)
		}
	}
	return nil
}

// Close unmounts whatever was attached and removes the mount point.
func (c *Cell) Close() {
	if c == nil {
		return
	}
	unmountUnder(c.path)
	os.Remove(c.path)
}

// unmountUnder detaches every mount at or below dir, deepest first.
func unmountUnder(dir string) {
	for _, m := range mountsUnder(dir) {
		unix.Unmount(m, unix.MNT_DETACH)
	}
}

// mountsUnder lists the mount points at or below dir, deepest first.
func mountsUnder(dir string) []string {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		mp := unescapeMount(fields[4])
		if mp == dir || strings.HasPrefix(mp, dir+"/") {
			out = append(out, mp)
		}
	}
	sort.Slice(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// sweepCells removes the cell directories of Cloudlet processes that died
// without cleaning up (kill -9): their mounts first, then the folders.
func sweepCells(parent string) {
	matches, _ := filepath.Glob(filepath.Join(parent, cellsPrefix+"*"))
	for _, dir := range matches {
		pidStr, _, _ := strings.Cut(strings.TrimPrefix(filepath.Base(dir), cellsPrefix), "-")
		pid, err := strconv.Atoi(pidStr)
		if err != nil || pid == os.Getpid() || syscall.Kill(pid, 0) != syscall.ESRCH {
			continue
		}
		// Only a real folder this user made: in a shared temporary folder
		// anyone may plant a name that matches (a symlink to /etc, say),
		// and what is swept is removed.
		var st syscall.Stat_t
		if syscall.Lstat(dir, &st) != nil || st.Mode&syscall.S_IFMT != syscall.S_IFDIR || int(st.Uid) != os.Geteuid() {
			continue
		}
		(&cells{dir: dir}).close()
	}
}

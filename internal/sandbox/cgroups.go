package sandbox

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

const cgroupFS = "/sys/fs/cgroup"

// cgroups creates one group per instance under parent, in cgroup v2 or in
// the v1 memory, pids and cpu hierarchies.
type cgroups struct {
	v2     bool
	parent string    // relative to each hierarchy's root
	user   *hostUser // who instances run as; nil: this process's own user
}

func newCgroups(parent string, user *hostUser) (*cgroups, error) {
	if parent == "" {
		parent = "cloudlet"
	}
	c := &cgroups{parent: parent, user: user}
	if _, err := os.Stat(filepath.Join(cgroupFS, "cgroup.controllers")); err == nil {
		c.v2 = true
		dir := filepath.Join(cgroupFS, parent)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		// Let the instances' groups use the controllers.
		for _, d := range []string{cgroupFS, dir} {
			os.WriteFile(filepath.Join(d, "cgroup.subtree_control"), []byte("+memory +pids +cpu"), 0)
		}
		c.sweep()
		return c, nil
	}
	for _, ctrl := range []string{"memory", "pids", "cpu"} {
		if _, err := os.Stat(filepath.Join(cgroupFS, ctrl)); err != nil {
			return nil, errNoCgroups
		}
		if err := os.MkdirAll(filepath.Join(cgroupFS, ctrl, parent), 0o755); err != nil {
			return nil, err
		}
	}
	// A probe group proves we may create and remove groups.
	probe := filepath.Join(cgroupFS, "memory", parent, "probe-"+strconv.Itoa(os.Getpid()))
	if err := os.Mkdir(probe, 0o755); err != nil && !os.IsExist(err) {
		return nil, err
	}
	os.Remove(probe)
	c.sweep()
	return c, nil
}

func (c *cgroups) dir(ctrl, name string) string {
	if c.v2 {
		return filepath.Join(cgroupFS, c.parent, name)
	}
	return filepath.Join(cgroupFS, ctrl, c.parent, name)
}

func write(dir, file, value string) error {
	if err := os.WriteFile(filepath.Join(dir, file), []byte(value), 0); err != nil {
		return fmt.Errorf("cgroup %s: %w", filepath.Join(dir, file), err)
	}
	return nil
}

// create makes the instance's group and sets its limits; the instance joins
// it through procsFiles before it execs (see Sandbox.Wrap).
func (c *cgroups) create(name string, memBytes int64, pidsMax, shares int) error {
	mem := strconv.FormatInt(memBytes, 10)
	if c.v2 {
		d := c.dir("", name)
		if err := os.Mkdir(d, 0o755); err != nil {
			return err
		}
		os.Chmod(d, 0o755) // whatever the umask
		weight := max(1, min(10000, shares*100/1024))
		for _, kv := range [][2]string{{"memory.max", mem}, {"memory.swap.max", "0"}, {"pids.max", strconv.Itoa(pidsMax)},
			{"cpu.weight", strconv.Itoa(weight)}} {
			if err := write(d, kv[0], kv[1]); err != nil && kv[0] != "memory.swap.max" {
				c.remove(name)
				return err
			}
		}
		return nil
	}
	steps := []struct{ ctrl, file, value string }{
		{"memory", "memory.limit_in_bytes", mem},
		{"pids", "pids.max", strconv.Itoa(pidsMax)},
		{"cpu", "cpu.shares", strconv.Itoa(max(2, shares))},
	}
	for _, st := range steps {
		d := c.dir(st.ctrl, name)
		if err := os.Mkdir(d, 0o755); err != nil && !os.IsExist(err) {
			c.remove(name)
			return err
		}
		os.Chmod(d, 0o755) // whatever the umask: the instance's user passes through
		if err := write(d, st.file, st.value); err != nil {
			c.remove(name)
			return err
		}
		// The instance's first process, already its host user, joins
		// the group itself: cgroup v1 lets a process that may write
		// cgroup.procs move itself.
		if c.user != nil {
			if err := os.Chown(filepath.Join(d, "cgroup.procs"), int(c.user.uid), int(c.user.gid)); err != nil {
				c.remove(name)
				return fmt.Errorf("cgroup %s: %w", d, err)
			}
		}
	}
	return nil
}

// resize changes the memory limit and CPU share of a group.
func (c *cgroups) resize(name string, memBytes int64, shares int) error {
	mem := strconv.FormatInt(memBytes, 10)
	if c.v2 {
		d := c.dir("", name)
		if err := write(d, "memory.max", mem); err != nil {
			return err
		}
		return write(d, "cpu.weight", strconv.Itoa(max(1, min(10000, shares*100/1024))))
	}
	if err := write(c.dir("memory", name), "memory.limit_in_bytes", mem); err != nil {
		return err
	}
	return write(c.dir("cpu", name), "cpu.shares", strconv.Itoa(max(2, shares)))
}

// tasks lists the thread ids in a group.
func (c *cgroups) tasks(name string) []int {
	file := filepath.Join(c.dir("cpu", name), "tasks")
	if c.v2 {
		file = filepath.Join(c.dir("", name), "cgroup.threads")
	}
	return readIDs(file)
}

// procs lists the process ids in a group.
func (c *cgroups) procs(name string) []int {
	return readIDs(filepath.Join(c.dir("memory", name), "cgroup.procs"))
}

func readIDs(file string) []int {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil
	}
	var out []int
	for _, f := range bytes.Fields(b) {
		if id, err := strconv.Atoi(string(f)); err == nil {
			out = append(out, id)
		}
	}
	return out
}

// procsFiles are the files a process writes its pid to, to join the group.
func (c *cgroups) procsFiles(name string) []string {
	if c.v2 {
		return []string{filepath.Join(c.dir("", name), "cgroup.procs")}
	}
	return []string{
		filepath.Join(c.dir("memory", name), "cgroup.procs"),
		filepath.Join(c.dir("pids", name), "cgroup.procs"),
		filepath.Join(c.dir("cpu", name), "cgroup.procs"),
	}
}

// field reads "key N" from a flat-keyed file such as memory.events.
func field(path, key string) int64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	for _, line := range bytes.Split(b, []byte("\n")) {
		if k, v, ok := bytes.Cut(line, []byte(" ")); ok && string(k) == key {
			n, _ := strconv.ParseInt(string(v), 10, 64)
			return n
		}
	}
	return 0
}

// peakFile is the file holding the group's peak memory use, in bytes.
func (c *cgroups) peakFile(name string) string {
	if c.v2 {
		return filepath.Join(c.dir("", name), "memory.peak")
	}
	return filepath.Join(c.dir("memory", name), "memory.max_usage_in_bytes")
}

func (c *cgroups) oomKilled(name string) bool {
	if c.v2 {
		return field(filepath.Join(c.dir("", name), "memory.events"), "oom_kill") > 0
	}
	d := c.dir("memory", name)
	return field(filepath.Join(d, "memory.oom_control"), "oom_kill") > 0
}

// killAll sends SIGKILL to every process still in the group.
func (c *cgroups) killAll(name string) {
	b, err := os.ReadFile(filepath.Join(c.dir("memory", name), "cgroup.procs"))
	if err != nil {
		return
	}
	for _, f := range bytes.Fields(b) {
		if pid, err := strconv.Atoi(string(f)); err == nil && pid > 0 {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// sweep removes the empty groups that earlier runs left under the parent.
func (c *cgroups) sweep() {
	ctrls := []string{"memory", "pids", "cpu"}
	if c.v2 {
		ctrls = []string{""}
	}
	for _, ctrl := range ctrls {
		entries, _ := os.ReadDir(filepath.Dir(c.dir(ctrl, "x")))
		for _, e := range entries {
			if e.IsDir() && strings.HasPrefix(e.Name(), "i-") {
				os.Remove(c.dir(ctrl, e.Name())) // fails, harmlessly, while in use
			}
		}
	}
}

func (c *cgroups) remove(name string) error {
	if c.v2 {
		return os.Remove(c.dir("", name))
	}
	var first error
	for _, ctrl := range []string{"memory", "pids", "cpu"} {
		if err := os.Remove(c.dir(ctrl, name)); err != nil && !os.IsNotExist(err) && first == nil {
			first = err
		}
	}
	return first
}

// Package sandbox runs function instances isolated from the host, from each
// other and from Cloudlet's data, behind one small interface, with a
// plain-process fallback that says plainly that it does not isolate.
//
// Isolated mode (Linux, bubblewrap present and working, cgroups writable):
// each instance runs under bubblewrap in its own PID, mount, IPC, UTS and user
// namespaces, as uid/gid 993 (sbx_user1051, with /etc/passwd and /etc/group
// entries and the home folder Lambda's runtimes report) with no capabilities
// and no_new_privs.
//
// Host user: when Cloudlet runs as root, function code never does. Instances
// run as an unprivileged host uid/gid of their own (the first id from 60993
// up that no account, group, running process or other Cloudlet server has;
// a server holds a lock on its id in /run/cloudlet): bubblewrap is started
// as that user, so uid 993 inside maps to it outside, and every check the
// host makes (files, /proc, signals) sees an ordinary user with no files of
// its own. A file of the code that only root may read is unreadable, as on
// Lambda. Everything bubblewrap binds from folders that user cannot pass
// through (a project under /root, the data directory, an interpreter under
// /root/.pyenv) is reached through a private directory: a tmpfs in the
// system's temporary folder, mode 0710 for that user's group alone, where
// the server mounts read-only views (open_tree) of the code and the
// interpreters and copies the runtime bootstraps. A code folder that is not
// readable by others fails the deploy, with the chmod that fixes it. When
// Cloudlet runs as a normal user, instances run as that user, as before.
//
// What an instance sees: its root is an empty tmpfs, read-only once set up
// (EROFS outside /tmp, as on Lambda), holding read-only binds of the host's
// /usr (and the /lib, /bin, /sbin links), a few files of /etc (certificates,
// resolver, hosts, time zones; never shadow or the like), the function's
// code at /var/task, the runtime bootstraps and the interpreter; a private
// /tmp of ephemeralStorageSize; a fresh /proc that shows only its own
// processes, with /proc/sys and /proc/sysrq-trigger read-only; a minimal,
// read-only /dev. Its mountinfo shows the host path of its own code folder
// and interpreter (a bind mount's root is its path in its file system;
// hiding it would take a copy of the code), never the data directory's.
// Anything inside the code folder named in Config.Hide (the
// data directory, when it lives in the project) is covered by an empty
// read-only tmpfs. The network namespace is shared, so the instance has the
// host's egress and reaches Cloudlet's endpoints on loopback as it is told
// to (they authenticate it: SigV4 with the function's own keys; the Runtime
// API only its own processes, see package lambda). It also reaches whatever
// else listens on the host's loopback: a network namespace per instance,
// with a forwarder for Cloudlet's endpoints and NAT for egress, is the next
// step.
//
// Stem cells (Cell): a pre-started instance binds an empty folder of the
// private, shared directory at /var/task (as root, instances started as new
// processes get a cell too, with the code attached before they start); the function's code is mounted onto
// that folder on the host later (open_tree, mount_setattr read-only,
// move_mount) and reaches the sandbox by mount propagation, read-only from
// its first moment, with the hidden folders covered the same way. Resize
// gives the cell its function's memory limit and CPU share. Close, and the
// sweep at the next start after a kill -9, unmount before removing, never
// recursively.
//
// A microVM tier (/dev/kvm works on these machines) would put each
// instance, or each stem cell, in a Firecracker or Cloud Hypervisor VM with
// a minimal kernel and a read-only root image holding the runtimes: what it
// takes is the VMM binary and a kernel image shipped or installed beside
// Cloudlet, a virtio-vsock channel for the pipe protocol and the Runtime API,
// virtio-fs or a block device per function's code, and snapshot/restore of
// a booted stem VM to keep cold starts in milliseconds (a VM boot costs
// ~100 ms+). It trades memory per instance (a guest kernel) for a hardware
// boundary.
//
// Limits come from cgroups (v1 or v2). In v1 the instance's first process
// (a two-line sh prelude, already the host user, who owns its groups'
// cgroup.procs) joins them before it execs bubblewrap; in v2 the kernel
// starts it inside its group (CLONE_INTO_CGROUP). Either way every process
// of the instance starts inside them: memory (= memorySize; exceeding it
// kills the instance, and OOMKilled says so), pids, and a CPU share
// proportional to memory. Peak memory comes from the cgroup. The prelude
// also sets the open-files limit, 1024 as on Lambda.
//
// Plain mode runs the command as it is: no isolation, no limits, as the host
// user when Cloudlet is root (Unisolated, --no-sandbox; Plain, for tests,
// as this process's user). New says which mode it chose and why.
package sandbox

// Package sandbox runs function instances isolated from the host, from each
// other and from Cloudlet's data, behind one small interface, with a
// plain-process fallback that says plainly that it does not isolate.
//
// Isolated mode (Linux, bubblewrap present and working, cgroups writable):
// each instance runs under bubblewrap in its own PID, mount, IPC, UTS and user
// namespaces, as uid/gid 993 with no capabilities and no_new_privs. Its root
// is an empty tmpfs holding read-only binds of the host's /usr (and the
// /lib, /bin, /sbin links), a few files of /etc (certificates, resolver,
// hosts, time zones; never shadow or the like), the function's code at
// /var/task, the runtime bootstraps and the interpreter; a private /tmp of
// ephemeralStorageSize; a fresh /proc that shows only its own processes; a
// minimal /dev. Anything inside the code folder named in Config.Hide (the
// data directory, when it lives in the project) is covered by an empty
// read-only tmpfs. The network namespace is shared, so the instance reaches
// Cloudlet's endpoints on loopback as it is told to.
//
// Limits come from cgroups (v1 or v2), which the instance's first process
// (a two-line sh prelude) joins before it execs bubblewrap, so every process
// of the instance starts inside them: memory (= memorySize; exceeding it kills the instance, and OOMKilled
// says so), pids, and a CPU share proportional to memory. Peak memory comes
// from the cgroup.
//
// Plain mode runs the command as it is: no isolation, no limits. New says
// which mode it chose and why.
package sandbox

package lambda

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
)

// Instances share the host's network (egress as on Lambda), so another
// function's instance could connect to an instance's Runtime API listener
// and take its invocations. Each accepted connection is therefore checked:
// the connecting socket must belong to a process of the instance (its
// cgroup). Instances without a cgroup (not isolated) are not checked.

// ownListener accepts only connections that allow says come from the instance.
type ownListener struct {
	net.Listener
	allow func(net.Conn) bool
}

func (l ownListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil || l.allow(c) {
			return c, err
		}
		c.Close()
	}
}

// fromInstance reports whether the peer of c, a loopback TCP connection, is
// a socket held by one of pids.
func fromInstance(c net.Conn, pids []int) bool {
	remote, ok1 := c.RemoteAddr().(*net.TCPAddr)
	local, ok2 := c.LocalAddr().(*net.TCPAddr)
	if !ok1 || !ok2 {
		return false
	}
	inode := socketInode("/proc/self/net/tcp", remote, local)
	if inode == "" {
		return false
	}
	want := "socket:[" + inode + "]"
	for _, pid := range pids {
		dir := "/proc/" + strconv.Itoa(pid) + "/fd"
		entries, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range entries {
			if l, err := os.Readlink(dir + "/" + e.Name()); err == nil && l == want {
				return true
			}
		}
	}
	return false
}

// socketInode finds, in a /proc/net/tcp table, the inode of the socket whose
// local address is from and whose remote address is to.
func socketInode(table string, from, to *net.TCPAddr) string {
	f, err := os.Open(table)
	if err != nil {
		return ""
	}
	defer f.Close()
	local, remote := procAddr(from), procAddr(to)
	if local == "" || remote == "" {
		return ""
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
		if len(fields) >= 10 && fields[1] == local && fields[2] == remote {
			return fields[9]
		}
	}
	return ""
}

// procAddr writes an IPv4 address as /proc/net/tcp does: the address as a
// little-endian hex word, a colon, the port in hex.
func procAddr(a *net.TCPAddr) string {
	ip := a.IP.To4()
	if ip == nil {
		return ""
	}
	return fmt.Sprintf("%02X%02X%02X%02X:%04X", ip[3], ip[2], ip[1], ip[0], a.Port)
}

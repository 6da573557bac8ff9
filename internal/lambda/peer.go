package lambda

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
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
	inode := diagInode(remote, local)
	if inode == "" {
		inode = socketInode("/proc/self/net/tcp", remote, local)
	}
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

// diagInode asks the kernel (NETLINK_SOCK_DIAG, one exact socket) for the
// inode of the TCP socket whose local address is from and whose remote
// address is to; "" when it cannot tell. Reading /proc/net/tcp instead costs
// milliseconds on a machine with many connections (TIME_WAIT included).
func diagInode(from, to *net.TCPAddr) string {
	src, dst := from.IP.To4(), to.IP.To4()
	if src == nil || dst == nil {
		return ""
	}
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.NETLINK_SOCK_DIAG)
	if err != nil {
		return ""
	}
	defer unix.Close(fd)
	// struct nlmsghdr (16 bytes) + struct inet_diag_req_v2 (56 bytes).
	var req [72]byte
	binary.NativeEndian.PutUint32(req[0:], uint32(len(req)))
	binary.NativeEndian.PutUint16(req[4:], unix.SOCK_DIAG_BY_FAMILY)
	binary.NativeEndian.PutUint16(req[6:], unix.NLM_F_REQUEST)
	r := req[16:]
	r[0], r[1] = unix.AF_INET, unix.IPPROTO_TCP
	binary.NativeEndian.PutUint32(r[4:], 0xffffffff) // every state
	id := r[8:]                                      // struct inet_diag_sockid
	binary.BigEndian.PutUint16(id[0:], uint16(from.Port))
	binary.BigEndian.PutUint16(id[2:], uint16(to.Port))
	copy(id[4:8], src)
	copy(id[20:24], dst)
	binary.NativeEndian.PutUint32(id[40:], 0xffffffff) // INET_DIAG_NOCOOKIE
	binary.NativeEndian.PutUint32(id[44:], 0xffffffff)
	if err := unix.Sendto(fd, req[:], 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return ""
	}
	var buf [512]byte
	n, _, err := unix.Recvfrom(fd, buf[:], 0)
	// struct nlmsghdr, then struct inet_diag_msg, whose idiag_inode is at 68.
	if err != nil || n < 16+72 || binary.NativeEndian.Uint16(buf[4:]) != unix.SOCK_DIAG_BY_FAMILY {
		return ""
	}
	return strconv.FormatUint(uint64(binary.NativeEndian.Uint32(buf[16+68:])), 10)
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

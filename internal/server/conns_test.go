package server_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cloudlet/cloudlet/internal/server"
)

// Connections that fill the gateway's cap (slow bodies, here) leave the AWS
// API answering; a slow body is cut off after the read timeout and an idle
// keep-alive connection after the idle timeout, freeing their places.
func TestFrontDoorsHaveTheirOwnConnectionCaps(t *testing.T) {
	s, err := server.New(server.Options{DataDir: t.TempDir(), GatewayAddr: "127.0.0.1:0", APIAddr: "127.0.0.1:0",
		Conns: server.ConnLimits{MaxConns: 8, GatewayRead: 300 * time.Millisecond, Idle: 300 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	gw := strings.TrimPrefix(s.GatewayURL(), "http://")
	var slow []net.Conn
	for range 8 {
		c, err := net.Dial("tcp", gw)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		// Headers promise a body that never comes.
		io.WriteString(c, "POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nab")
		slow = append(slow, c)
	}
	// The AWS API is another front door: it answers all the same.
	client := &http.Client{Timeout: 20 * time.Second}
	resp, err := client.Get(s.APIURL() + "/_cloudlet/health")
	if err != nil {
		t.Fatalf("the AWS API while the gateway is full: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("health: %d", resp.StatusCode)
	}
	// The slow bodies are cut off: each connection reaches EOF (or an
	// error answer, then EOF) without the client sending anything more.
	for i, c := range slow {
		c.SetReadDeadline(time.Now().Add(20 * time.Second))
		if _, err := io.ReadAll(c); err != nil {
			t.Fatalf("slow connection %d was not closed by the server: %v", i, err)
		}
	}
	// Their places are free again: the gateway answers.
	resp, err = client.Get(s.GatewayURL() + "/nope")
	if err != nil {
		t.Fatalf("gateway after the slow clients: %v", err)
	}
	resp.Body.Close()
	// An idle keep-alive connection is closed by the server.
	c, err := net.Dial("tcp", gw)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(c)
	r, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, r.Body)
	r.Body.Close()
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	if _, err := br.ReadByte(); err != io.EOF {
		t.Fatalf("idle keep-alive connection: %v, want EOF from the server", err)
	}
}

// Command gohttp is the ceiling for Cloudlet's Go path: a bare net/http server
// that does what examples/go-hello does for GET /hello/{id} (log one line to
// stdout, answer the same JSON), without Lambda in between.
//
// It listens on 127.0.0.1 at -addr (port 0: any free port), prints
// "PORT <n>", and exits when its stdin closes, so that it never outlives the
// bench program. With -exit it exits at once: the cold-start baseline
// (process start of a static Go binary).
package main

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
)

const (
	functionName = "bench-go-dev-hello"
	functionARN  = "arn:aws:lambda:us-east-1:000000000000:function:" + functionName
)

// requestID is a random UUID, as the platform would give each invocation.
func requestID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func hello(w http.ResponseWriter, r *http.Request) {
	id := requestID()
	name := r.URL.Query().Get("name")
	if name == "" {
		name = "World"
	}
	fmt.Printf("hello from Go, request %s\n", id)
	body, _ := json.Marshal(map[string]any{
		"message":       "Hello, " + name + "!",
		"requestId":     id,
		"functionArn":   functionARN,
		"functionName":  functionName,
		"memoryLimitMB": 1024,
		"hasDeadline":   true,
		"path":          r.URL.Path,
		"id":            strings.TrimPrefix(r.URL.Path, "/hello/"),
	})
	w.Header().Set("Content-Type", "application/json")
	w.Write(body)
}

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	exit := flag.Bool("exit", false, "exit at once (cold-start baseline)")
	flag.Parse()
	if *exit {
		return
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	go func() {
		io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /hello/{id}", hello)
	fmt.Printf("PORT %d\n", ln.Addr().(*net.TCPAddr).Port)
	http.Serve(ln, mux)
}

package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// goFloor measures the Go function alone: the unchanged bootstrap served
// by a minimal Runtime API — one goroutine on a locked thread, no gateway,
// no pool, nothing of Cloudlet, pinned to one CPU with the function as
// Cloudlet pins them — answering GET next at once with the API
// Gateway event Cloudlet's gateway sends (internal/gateway's golden event).
// It is the fastest one instance of that function can be served here: what
// aws-lambda-go itself costs per invocation. It returns the time per
// invocation over n invocations after a warm-up.
func goFloor(ctx context.Context, bootstrap, root string, n int) (time.Duration, error) {
	event, err := os.ReadFile(filepath.Join(root, "internal", "gateway", "testdata", "event_v1.golden.json"))
	if err != nil {
		return 0, err
	}
	// Pinned with its process to one CPU, as Cloudlet pins an instance and
	// the thread that serves it: a wake-up then stays on that CPU.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var one, all unix.CPUSet
	unix.SchedGetaffinity(0, &all)
	one.Set(0)
	if err := unix.SchedSetaffinity(0, &one); err == nil {
		defer unix.SchedSetaffinity(0, &all)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	cmd := exec.CommandContext(ctx, bootstrap)
	cmd.Env = append(toolEnv(), "AWS_LAMBDA_RUNTIME_API="+ln.Addr().String(), "_HANDLER=bootstrap",
		"AWS_LAMBDA_FUNCTION_NAME=floor", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=1024", "AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
		"AWS_LAMBDA_LOG_STREAM_NAME=floor", "AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/floor")
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	c, err := ln.Accept()
	if err != nil {
		return 0, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Minute))
	r := bufio.NewReaderSize(c, 64<<10)
	const warm = 500
	var start time.Time
	for i := 0; i < warm+n; i++ {
		if i == warm {
			start = time.Now()
		}
		if err := skipRequest(r); err != nil { // GET next
			return 0, err
		}
		fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nLambda-Runtime-Aws-Request-Id: r-%d\r\nLambda-Runtime-Deadline-Ms: %d\r\nLambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:000000000000:function:floor\r\nContent-Length: %d\r\n\r\n%s",
			i, time.Now().Add(time.Minute).UnixMilli(), len(event), event)
		if err := skipRequest(r); err != nil { // POST response
			return 0, err
		}
		io.WriteString(c, "HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: 16\r\n\r\n{\"status\":\"OK\"}\n")
	}
	return time.Since(start) / time.Duration(n), nil
}

// skipRequest reads one HTTP/1.1 request (Content-Length or chunked body).
func skipRequest(r *bufio.Reader) error {
	if _, err := r.ReadString('\n'); err != nil {
		return err
	}
	length, chunked := 0, false
	for {
		h, err := r.ReadString('\n')
		if err != nil {
			return err
		}
		h = strings.TrimRight(h, "\r\n")
		if h == "" {
			break
		}
		k, v, _ := strings.Cut(h, ":")
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "content-length":
			length, _ = strconv.Atoi(strings.TrimSpace(v))
		case "transfer-encoding":
			chunked = true
		}
	}
	if !chunked {
		_, err := r.Discard(length)
		return err
	}
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return err
		}
		size, err := strconv.ParseInt(strings.TrimSpace(strings.SplitN(line, ";", 2)[0]), 16, 64)
		if err != nil {
			return err
		}
		if _, err := r.Discard(int(size) + 2); err != nil { // data and CRLF (or the final CRLF)
			return err
		}
		if size == 0 {
			return nil
		}
	}
}

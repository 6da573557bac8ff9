package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// The peer is serverless-offline 13 on serverless 3, installed from
// bench/peer/package-lock.json.

// ensurePeer runs `npm ci` in peerDir when its node_modules is missing.
func ensurePeer(ctx context.Context, peerDir string) error {
	if _, err := os.Stat(filepath.Join(peerDir, "node_modules", "serverless", "bin", "serverless.js")); err == nil {
		if _, err := os.Stat(filepath.Join(peerDir, "node_modules", "serverless-offline", "package.json")); err == nil {
			return nil
		}
	}
	progress("installing serverless-offline: npm ci in %s", peerDir)
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	_, err := output(ctx, toolEnv(), peerDir, "npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts")
	return err
}

// peerVersions reads the installed versions of serverless and serverless-offline.
func peerVersions(peerDir string) string {
	v := func(pkg string) string {
		b, err := os.ReadFile(filepath.Join(peerDir, "node_modules", pkg, "package.json"))
		if err != nil {
			return "?"
		}
		var p struct{ Version string }
		json.Unmarshal(b, &p)
		return p.Version
	}
	return "serverless-offline " + v("serverless-offline") + " on serverless " + v("serverless")
}

// peerEnv keeps serverless from phoning home: no telemetry, no notifications
// (which carry its update check), no interactive setup, and a fresh HOME so
// that no user's credentials or config are found.
func peerEnv(home string) []string {
	return envWith("HOME="+home,
		"SLS_TELEMETRY_DISABLED=1", "SLS_TRACKING_DISABLED=1", "SLS_NOTIFICATIONS_MODE=off",
		"SLS_DEPRECATION_DISABLE=*", "SLS_INTERACTIVE_SETUP_DISABLE=1")
}

// startPeer serves a copy of the Node project (the same serverless.yml and
// handler.js, with node_modules linked to bench/peer's) with
// serverless-offline and waits until GET /hello answers 200.
//
// It runs node_modules/serverless/bin/serverless.js, which is what
// `npx serverless` runs, directly: one process, so that it is killed with the
// bench program, and no npx in between.
func startPeer(ctx context.Context, peerDir, projectDir, tmp string, log io.Writer) (*child, string, []string, error) {
	work := filepath.Join(tmp, "peer-project")
	if err := os.MkdirAll(work, 0o755); err != nil {
		return nil, "", nil, err
	}
	for _, f := range []string{"serverless.yml", "handler.js"} {
		b, err := os.ReadFile(filepath.Join(projectDir, f))
		if err != nil {
			return nil, "", nil, err
		}
		if err := os.WriteFile(filepath.Join(work, f), b, 0o644); err != nil {
			return nil, "", nil, err
		}
	}
	if err := os.Symlink(filepath.Join(peerDir, "node_modules"), filepath.Join(work, "node_modules")); err != nil {
		return nil, "", nil, err
	}
	home := filepath.Join(tmp, "peer-home")
	if err := os.MkdirAll(home, 0o700); err != nil {
		return nil, "", nil, err
	}
	var ports [4]int
	for i := range ports {
		p, err := freePort()
		if err != nil {
			return nil, "", nil, err
		}
		ports[i] = p
	}
	argv := []string{"node", "node_modules/serverless/bin/serverless.js", "offline",
		"--host", "127.0.0.1",
		"--httpPort", strconv.Itoa(ports[0]), "--lambdaPort", strconv.Itoa(ports[1]),
		"--websocketPort", strconv.Itoa(ports[2]), "--albPort", strconv.Itoa(ports[3]),
		"--noPrependStageInUrl"}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir, cmd.Env = work, peerEnv(home)
	c, _, err := startChild("serverless-offline", cmd, false, log)
	if err != nil {
		return nil, "", nil, err
	}
	base := "http://127.0.0.1:" + strconv.Itoa(ports[0])
	client := &http.Client{Timeout: 5 * time.Second}
	deadline := time.Now().Add(90 * time.Second)
	for {
		resp, err := client.Get(base + "/hello")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		select {
		case <-c.done:
			return nil, "", nil, fmt.Errorf("serverless-offline exited before serving: %v (see its log)", c.err)
		case <-ctx.Done():
			c.stop()
			return nil, "", nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			c.stop()
			return nil, "", nil, fmt.Errorf("serverless-offline did not answer GET /hello within 90 s (see its log)")
		}
	}
	client.CloseIdleConnections()
	shown := append([]string{"(cd <tmp>/peer-project &&"}, peerEnvShown()...)
	shown = append(shown, strings.Join(argv, " ")+")")
	return c, base, shown, nil
}

func peerEnvShown() []string {
	var out []string
	for _, kv := range peerEnv("<tmp>/peer-home") {
		k, v, _ := strings.Cut(kv, "=")
		if strings.ContainsAny(v, "*: ") {
			v = "'" + v + "'"
		}
		out = append(out, k+"="+v)
	}
	return []string{"env -i " + strings.Join(out, " ")}
}

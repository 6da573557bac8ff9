package sdk

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestForRuntime(t *testing.T) {
	for rt, want := range map[string]string{
		"nodejs22.x": NodeV3, "nodejs18.x": NodeV3, "nodejs16.x": NodeV2, "nodejs14.x": NodeV2,
		"python3.12": Python, "provided.al2023": "", "go1.x": "", "nodejsx": "",
	} {
		if got := For(rt); got != want {
			t.Errorf("For(%q) = %q, want %q", rt, got, want)
		}
	}
}

// Where pip cannot run, boto3 comes from Debian's packages, linked (not
// copied) into the cache under a name that says its version; where neither
// can, the error says what to do.
func TestPythonFallsBackToDebiansBoto3(t *testing.T) {
	deb := t.TempDir()
	for _, p := range pythonPackages {
		os.MkdirAll(filepath.Join(deb, p), 0o755)
	}
	os.MkdirAll(filepath.Join(deb, "boto3-1.26.27.egg-info"), 0o755)
	t.Setenv("PATH", t.TempDir()) // no python3, no npm
	c := NewCache(t.TempDir(), nil)
	c.DebianPackages = deb
	dir, err := c.Ensure(Python)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(dir) != "python-debian-boto3-1.26.27-2" {
		t.Fatalf("dir = %s", dir)
	}
	if target, err := os.Readlink(filepath.Join(dir, "botocore")); err != nil || target != filepath.Join(deb, "botocore") {
		t.Fatalf("botocore → %q %v", target, err)
	}
	// requests, which Debian's botocore imports, comes along
	if target, err := os.Readlink(filepath.Join(dir, "requests")); err != nil || target != filepath.Join(deb, "requests") {
		t.Fatalf("requests → %q %v", target, err)
	}

	c = NewCache(t.TempDir(), nil)
	c.DebianPackages = t.TempDir()
	if _, err := c.Ensure(Python); err == nil || !strings.Contains(err.Error(), "apt-get install python3-boto3") {
		t.Fatalf("nothing to install from: %v", err)
	}
	if _, err := c.Ensure(NodeV3); err == nil || !strings.Contains(err.Error(), "npm is not installed") {
		t.Fatalf("no npm: %v", err)
	}
}

// A cache folder others may write is not trusted: what is in it would run
// inside every function.
func TestCacheMustBeTheServers(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cache")
	os.MkdirAll(dir, 0o777)
	os.Chmod(dir, 0o777)
	c := NewCache(dir, nil)
	deb := t.TempDir()
	for _, p := range pythonPackages {
		os.MkdirAll(filepath.Join(deb, p), 0o755)
	}
	os.MkdirAll(filepath.Join(deb, "boto3-1.26.27.egg-info"), 0o755)
	c.DebianPackages = deb
	t.Setenv("PATH", t.TempDir())
	if _, err := c.Ensure(Python); err == nil || !strings.Contains(err.Error(), "not trusted") {
		t.Fatalf("a world-writable cache: %v", err)
	}
}

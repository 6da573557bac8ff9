package runtimes

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Listed one by one: a directory pattern would skip _cloudlet_runtime.py.
//
//go:embed bootstrap/node/bootstrap.cjs bootstrap/python/bootstrap.py bootstrap/python/_cloudlet_runtime.py bootstrap/exec/stem.py
var bootstrapFS embed.FS

// Paths of the bootstraps inside the runtime folder given to Install and Prepare.
const (
	nodeBootstrap       = "node/bootstrap.cjs"
	pythonBootstrap     = "python/bootstrap.py"
	pythonRuntimeModule = "python/_cloudlet_runtime.py"
	execStem            = "exec/stem.py"
)

// Install writes the embedded bootstraps into dir (e.g. <data-dir>/runtime):
// dir/node/bootstrap.cjs, dir/python/bootstrap.py and
// dir/python/_cloudlet_runtime.py. Files whose content is already right are
// left alone (their modification time too, so Python's cached bytecode stays
// valid); others are replaced atomically, so an instance starting meanwhile
// reads either the old or the new file, never half of one.
func Install(dir string) error {
	return fs.WalkDir(bootstrapFS, "bootstrap", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		want, err := bootstrapFS.ReadFile(name)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel("bootstrap", filepath.FromSlash(name))
		dst := filepath.Join(dir, rel)
		if have, err := os.ReadFile(dst); err == nil && bytes.Equal(have, want) {
			return nil
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return fmt.Errorf("install runtime bootstrap: %w", err)
		}
		tmp, err := os.CreateTemp(filepath.Dir(dst), ".tmp-"+filepath.Base(dst)+"-*")
		if err != nil {
			return fmt.Errorf("install runtime bootstrap: %w", err)
		}
		_, werr := tmp.Write(want)
		cerr := tmp.Close()
		if werr == nil {
			werr = cerr
		}
		if werr == nil {
			werr = os.Chmod(tmp.Name(), 0o644)
		}
		if werr == nil {
			werr = os.Rename(tmp.Name(), dst)
		}
		if werr != nil {
			os.Remove(tmp.Name())
			return fmt.Errorf("install runtime bootstrap %s: %w", dst, werr)
		}
		return nil
	})
}

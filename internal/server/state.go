package server

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// deployedFile records the last successful deploy, so that a server
// restarted on the same data directory (even after kill -9) serves it again.
const deployedFile = "deployed.json"

// deployedState is the deploy last acknowledged (Dir, Stage: what a
// restart serves) and, while one is being applied, the next (Pending: never
// served by a restart, as it was never acknowledged).
type deployedState struct {
	Dir     string         `json:"dir,omitempty"`
	Stage   string         `json:"stage,omitempty"`
	Pending *deployedState `json:"pending,omitempty"`
}

// saveDeployed writes the state durably (writeFileDurably).
func saveDeployed(dataDir string, st deployedState) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return writeFileDurably(dataDir, deployedFile, b)
}

// writeFileDurably replaces dir/name with b so that a crash leaves the old
// or the new content, never a mix: a temporary file, fsynced, renamed over
// the old one, and the directory fsynced.
func writeFileDurably(dir, name string, b []byte) error {
	tmp, err := os.CreateTemp(dir, name+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, name)); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

func loadDeployed(dataDir string) (deployedState, bool, error) {
	var st deployedState
	b, err := os.ReadFile(filepath.Join(dataDir, deployedFile))
	if os.IsNotExist(err) {
		return st, false, nil
	}
	if err != nil {
		return st, false, err
	}
	if err := json.Unmarshal(b, &st); err != nil || st.Dir == "" {
		return st, false, fmt.Errorf("%s is damaged: %v", filepath.Join(dataDir, deployedFile), err)
	}
	return st, true, nil
}

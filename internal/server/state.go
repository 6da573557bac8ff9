package server

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/cloudlet/cloudlet/internal/store"
)

// deployedFile is where a data directory kept its deployed state before
// the store: Start moves it into the store.
const deployedFile = "deployed.json"

// deployedKey names the deployed state's row in the store's deployed table.
const deployedKey = "state"

// deployedState is the deploy last acknowledged (Dir, Stage: what a
// restart serves) and, while one is being applied, the next (Pending: never
// served by a restart, as it was never acknowledged).
type deployedState struct {
	Dir     string         `json:"dir,omitempty"`
	Stage   string         `json:"stage,omitempty"`
	Pending *deployedState `json:"pending,omitempty"`
}

// saveDeployed records the state in the store; it is durable (so a
// restart, even after kill -9, serves it) once this returns nil.
func (s *Server) saveDeployed(st deployedState) error {
	if s.recordFailure != nil {
		return s.recordFailure
	}
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return s.store.Update(context.Background(), func(tx *store.Tx) error {
		_, err := tx.Exec(`INSERT INTO deployed (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value`,
			deployedKey, string(b))
		return err
	})
}

// loadDeployed reads the recorded state; ok is false when nothing was ever
// recorded.
func (s *Server) loadDeployed() (st deployedState, ok bool, err error) {
	var v string
	err = s.store.View(context.Background(), func(tx *store.Tx) error {
		return tx.QueryRow(`SELECT value FROM deployed WHERE name = ?`, deployedKey).Scan(&v)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return st, false, nil
	}
	if err != nil {
		return st, false, err
	}
	if err := json.Unmarshal([]byte(v), &st); err != nil {
		return st, false, fmt.Errorf("the deployed state in the store is damaged: %v", err)
	}
	return st, true, nil
}

// migrateDeployedFile moves the state of a data directory written before
// the store (deployed.json) into it, then removes the file. The store's
// own record, when there is one, wins.
func (s *Server) migrateDeployedFile() error {
	path := filepath.Join(s.opts.DataDir, deployedFile)
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if _, ok, err := s.loadDeployed(); err != nil {
		return err
	} else if !ok {
		var st deployedState
		if err := json.Unmarshal(b, &st); err != nil || st.Dir == "" && st.Pending == nil {
			return fmt.Errorf("%s is damaged: %v", path, err)
		}
		if err := s.saveDeployed(st); err != nil {
			return err
		}
		s.log.Info("moved the deployed state into the store", "from", path)
	}
	return os.Remove(path)
}

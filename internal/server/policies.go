package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/cloudlet/cloudlet/internal/awsapi"
	"github.com/cloudlet/cloudlet/internal/iam"
	"github.com/cloudlet/cloudlet/internal/store"
)

// policiesFile is where a data directory kept the functions' resource
// policies before the store: loadPolicies moves it into the store.
const policiesFile = "lambda-policies.json"

// functionPolicies is awsapi.FunctionPolicies over the store's
// lambda_policies table (one row per statement, in the order added), with
// the parsed policies cached. A change is durable before it returns.
type functionPolicies struct {
	st *store.Store
	mu sync.Mutex // serialises changes (held across the store's write)
	// cacheMu guards docs and parsed for the readers (every Lambda call
	// reads parsed), held only while they are swapped, never across a write.
	cacheMu sync.RWMutex
	// by function: statements in the order they were added
	docs   map[string][]map[string]any
	parsed map[string]*iam.Policy
}

func loadPolicies(st *store.Store, dir string) (*functionPolicies, error) {
	p := &functionPolicies{st: st, docs: map[string][]map[string]any{}, parsed: map[string]*iam.Policy{}}
	if err := p.migrateFile(dir); err != nil {
		return nil, err
	}
	err := st.View(context.Background(), func(tx *store.Tx) error {
		rows, err := tx.Query(`SELECT function, statement FROM lambda_policies ORDER BY function, seq`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var fn, doc string
			if err := rows.Scan(&fn, &doc); err != nil {
				return err
			}
			var stmt map[string]any
			if err := json.Unmarshal([]byte(doc), &stmt); err != nil {
				return fmt.Errorf("function %s: a damaged statement: %v", fn, err)
			}
			p.docs[fn] = append(p.docs[fn], stmt)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("read the functions' resource policies: %w", err)
	}
	for fn := range p.docs {
		if err := p.parseLocked(fn); err != nil {
			return nil, fmt.Errorf("the resource policy of %s: %v", fn, err)
		}
	}
	return p, nil
}

// migrateFile moves a lambda-policies.json from before the store into it.
func (p *functionPolicies) migrateFile(dir string) error {
	path := filepath.Join(dir, policiesFile)
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	var docs map[string][]map[string]any
	if err := json.Unmarshal(b, &docs); err != nil {
		return fmt.Errorf("%s is damaged: %v", path, err)
	}
	err = p.st.Update(context.Background(), func(tx *store.Tx) error {
		var n int
		if err := tx.QueryRow(`SELECT COUNT(*) FROM lambda_policies`).Scan(&n); err != nil || n > 0 {
			return err // the store's own record wins
		}
		for fn, sts := range docs {
			for i, stmt := range sts {
				doc, _ := json.Marshal(stmt)
				sid, _ := stmt["Sid"].(string)
				if _, err := tx.Exec(`INSERT INTO lambda_policies (function, sid, seq, statement) VALUES (?, ?, ?, ?)`, fn, sid, i, string(doc)); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("move %s into the store: %w", path, err)
	}
	return os.Remove(path)
}

func (p *functionPolicies) parseLocked(fn string) error {
	sts := p.docs[fn]
	if len(sts) == 0 {
		delete(p.docs, fn)
		delete(p.parsed, fn)
		return nil
	}
	pol := &iam.Policy{Name: "the resource policy of " + fn}
	for _, st := range sts {
		s, err := iam.ParseStatement(st, fmt.Sprintf("the resource policy of %s, statement %v", fn, st["Sid"]))
		if err != nil {
			return err
		}
		pol.Statements = append(pol.Statements, s)
	}
	p.parsed[fn] = pol
	return nil
}

func (p *functionPolicies) doc(fn string) []byte {
	b, _ := json.Marshal(map[string]any{"Version": "2012-10-17", "Id": "default", "Statement": p.docs[fn]})
	return b
}

// Policy implements awsapi.FunctionPolicies.
func (p *functionPolicies) Policy(fn string) *iam.Policy {
	p.cacheMu.RLock()
	defer p.cacheMu.RUnlock()
	return p.parsed[fn]
}

// Document implements awsapi.FunctionPolicies; the revision is a hash of
// the document.
func (p *functionPolicies) Document(fn string) ([]byte, string, bool) {
	p.cacheMu.RLock()
	defer p.cacheMu.RUnlock()
	if _, ok := p.parsed[fn]; !ok {
		return nil, "", false
	}
	doc := p.doc(fn)
	sum := sha256.Sum256(doc)
	h := hex.EncodeToString(sum[:16])
	return doc, h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32], true
}

// Add implements awsapi.FunctionPolicies.
func (p *functionPolicies) Add(fn, sid string, stmt map[string]any) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, x := range p.docs[fn] {
		if x["Sid"] == sid {
			return awsapi.ErrStatementExists
		}
	}
	doc, err := json.Marshal(stmt)
	if err != nil {
		return err
	}
	err = p.st.Update(context.Background(), func(tx *store.Tx) error {
		_, err := tx.Exec(`INSERT INTO lambda_policies (function, sid, seq, statement)
			VALUES (?, ?, (SELECT COALESCE(MAX(seq), -1) + 1 FROM lambda_policies WHERE function = ?), ?)`, fn, sid, fn, string(doc))
		return err
	})
	if err != nil {
		return err
	}
	p.cacheMu.Lock()
	defer p.cacheMu.Unlock()
	p.docs[fn] = append(p.docs[fn], stmt)
	return p.parseLocked(fn)
}

// Remove implements awsapi.FunctionPolicies.
func (p *functionPolicies) Remove(fn, sid string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	prev := p.docs[fn]
	for i, x := range prev {
		if x["Sid"] != sid {
			continue
		}
		if err := p.st.Update(context.Background(), func(tx *store.Tx) error {
			_, err := tx.Exec(`DELETE FROM lambda_policies WHERE function = ? AND sid = ?`, fn, sid)
			return err
		}); err != nil {
			return err
		}
		p.cacheMu.Lock()
		defer p.cacheMu.Unlock()
		p.docs[fn] = append(append([]map[string]any(nil), prev[:i]...), prev[i+1:]...)
		return p.parseLocked(fn)
	}
	return awsapi.ErrStatementNotFound
}

// forget drops the policies of functions no longer deployed, as deleting a
// function on AWS deletes its policy.
func (p *functionPolicies) forget(deployed map[string]bool) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	var gone []string
	for fn := range p.docs {
		if !deployed[fn] {
			gone = append(gone, fn)
		}
	}
	if len(gone) == 0 {
		return nil
	}
	if err := p.st.Update(context.Background(), func(tx *store.Tx) error {
		for _, fn := range gone {
			if _, err := tx.Exec(`DELETE FROM lambda_policies WHERE function = ?`, fn); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return err
	}
	p.cacheMu.Lock()
	defer p.cacheMu.Unlock()
	for _, fn := range gone {
		delete(p.docs, fn)
		delete(p.parsed, fn)
	}
	return nil
}

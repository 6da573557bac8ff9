package server

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/cloudlet/cloudlet/internal/awsapi"
	"github.com/cloudlet/cloudlet/internal/iam"
)

// policiesFile keeps the functions' resource-based policies (AddPermission)
// in the data directory until the store (a later issue) holds them.
const policiesFile = "lambda-policies.json"

// functionPolicies is awsapi.FunctionPolicies over a JSON file written
// atomically and fsynced before a change is acknowledged.
type functionPolicies struct {
	dir string
	mu  sync.Mutex
	// by function: statements in the order they were added
	docs   map[string][]map[string]any
	parsed map[string]*iam.Policy
}

func loadPolicies(dir string) (*functionPolicies, error) {
	p := &functionPolicies{dir: dir, docs: map[string][]map[string]any{}, parsed: map[string]*iam.Policy{}}
	b, err := os.ReadFile(filepath.Join(dir, policiesFile))
	if os.IsNotExist(err) {
		return p, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &p.docs); err != nil {
		return nil, fmt.Errorf("%s is damaged: %v", filepath.Join(dir, policiesFile), err)
	}
	for fn := range p.docs {
		if err := p.parseLocked(fn); err != nil {
			return nil, fmt.Errorf("%s: function %s: %v", filepath.Join(dir, policiesFile), fn, err)
		}
	}
	return p, nil
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
func (p *functionPolicies) Policy(fn string) ([]byte, *iam.Policy, string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	pol, ok := p.parsed[fn]
	if !ok {
		return nil, nil, "", false
	}
	doc := p.doc(fn)
	sum := sha256.Sum256(doc)
	h := hex.EncodeToString(sum[:16])
	return doc, pol, h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32], true
}

// Add implements awsapi.FunctionPolicies.
func (p *functionPolicies) Add(fn, sid string, st map[string]any) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, x := range p.docs[fn] {
		if x["Sid"] == sid {
			return awsapi.ErrStatementExists
		}
	}
	prev := p.docs[fn]
	p.docs[fn] = append(prev[:len(prev):len(prev)], st)
	if err := p.saveLocked(); err != nil {
		p.docs[fn] = prev
		if len(prev) == 0 {
			delete(p.docs, fn)
		}
		return err
	}
	return p.parseLocked(fn)
}

// Remove implements awsapi.FunctionPolicies.
func (p *functionPolicies) Remove(fn, sid string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	prev := p.docs[fn]
	for i, x := range prev {
		if x["Sid"] == sid {
			next := append(append([]map[string]any(nil), prev[:i]...), prev[i+1:]...)
			p.docs[fn] = next
			if err := p.saveLocked(); err != nil {
				p.docs[fn] = prev
				return err
			}
			return p.parseLocked(fn)
		}
	}
	return awsapi.ErrStatementNotFound
}

// forget drops the policies of functions no longer deployed, as deleting a
// function on AWS deletes its policy.
func (p *functionPolicies) forget(deployed map[string]bool) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	changed := false
	for fn := range p.docs {
		if !deployed[fn] {
			delete(p.docs, fn)
			delete(p.parsed, fn)
			changed = true
		}
	}
	if !changed {
		return nil
	}
	return p.saveLocked()
}

func (p *functionPolicies) saveLocked() error {
	b, err := json.Marshal(p.docs)
	if err != nil {
		return err
	}
	return writeFileDurably(p.dir, policiesFile, b)
}

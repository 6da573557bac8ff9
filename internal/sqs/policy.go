package sqs

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/cloudlet/cloudlet/internal/iam"
	"github.com/cloudlet/cloudlet/internal/store"
)

// policies caches the queues' Policy attributes, parsed: every call on a
// queue is authorized with its policy as the resource policy, so that it
// may grant (another principal, a role without the permission) or deny.
type policies struct {
	mu         sync.Mutex // serializes refreshes: a refresh re-reads the store
	loaded     bool
	loadedFlag atomic.Bool // loaded, for Policy's lock-free read
	by         sync.Map    // queue name → *iam.Policy
}

func parseQueuePolicy(name, doc string) (*iam.Policy, error) {
	return iam.ParsePolicy("the Policy of queue "+name, []byte(doc))
}

// LoadPolicies reads every queue's policy, once: the server calls it
// before it serves, so that Policy (called inside transactions) never
// reads the store.
func (s *Service) LoadPolicies(ctx context.Context) error { return s.loadPolicies(ctx) }

// loadPolicies reads every queue's policy once.
func (s *Service) loadPolicies(ctx context.Context) error {
	s.pol.mu.Lock()
	defer s.pol.mu.Unlock()
	if s.pol.loaded {
		return nil
	}
	err := s.st.View(ctx, func(tx *store.Tx) error {
		names, err := store.QueryStrings(tx, `SELECT name FROM sqs_queues`)
		if err != nil {
			return err
		}
		for _, n := range names {
			q, err := loadQueueTx(tx, n)
			if err != nil {
				return err
			}
			if q != nil && q.attrs["Policy"] != "" {
				if p, err := parseQueuePolicy(n, q.attrs["Policy"]); err == nil {
					s.pol.by.Store(n, p)
				} else {
					s.log.Warn("sqs: a queue's Policy does not parse; it is ignored", "queue", n, "err", err)
				}
			}
		}
		return nil
	})
	if err == nil {
		s.pol.loaded = true
		s.pol.loadedFlag.Store(true)
	}
	return err
}

// queuePolicy is the named queue's policy, or nil.
func (s *Service) queuePolicy(ctx context.Context, name string) (*iam.Policy, error) {
	if !s.pol.loadedFlag.Load() { // loaded once; no lock on every call after
		if err := s.loadPolicies(ctx); err != nil {
			return nil, err
		}
	}
	if p, ok := s.pol.by.Load(name); ok {
		return p.(*iam.Policy), nil
	}
	return nil, nil
}

// refreshPolicy re-reads the named queue's policy after a change to it
// committed (created, its attributes set, deleted).
func (s *Service) refreshPolicy(ctx context.Context, name string) {
	s.pol.mu.Lock()
	defer s.pol.mu.Unlock()
	if !s.pol.loaded {
		return // read in full at the first use
	}
	var q *queue
	err := s.st.View(context.WithoutCancel(ctx), func(tx *store.Tx) (err error) {
		q, err = loadQueueTx(tx, name)
		return err
	})
	switch {
	case err != nil: // the store is closing: the next start reads it
		s.log.Error("sqs: re-read a queue's Policy", "queue", name, "err", err)
	case q == nil || q.attrs["Policy"] == "":
		s.pol.by.Delete(name)
	default:
		if p, err := parseQueuePolicy(name, q.attrs["Policy"]); err == nil {
			s.pol.by.Store(name, p)
		} else {
			s.pol.by.Delete(name)
		}
	}
}

// Policy is the named queue's Policy attribute, parsed (nil: none), for
// the platform's own sends on a principal's behalf, which may be inside a
// store transaction: it reads only what LoadPolicies loaded, and refuses
// everything (a policy that denies all) when that was not called.
func (s *Service) Policy(name string) *iam.Policy {
	if !s.pol.loadedFlag.Load() {
		s.log.Error("sqs: Policy before LoadPolicies; refusing", "queue", name)
		return denyAll
	}
	if p, ok := s.pol.by.Load(name); ok {
		return p.(*iam.Policy)
	}
	return nil
}

var denyAll = func() *iam.Policy {
	p, _ := iam.ParsePolicy("deny all", []byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"*","Resource":"*"}]}`))
	return p
}()

package sqs

import (
	"context"
	"sync"

	"github.com/cloudlet/cloudlet/internal/iam"
	"github.com/cloudlet/cloudlet/internal/store"
)

// policies caches the queues' Policy attributes, parsed: every call on a
// queue is authorized with its policy as the resource policy, so that it
// may grant (another principal, a role without the permission) or deny.
type policies struct {
	mu     sync.Mutex // serializes refreshes: a refresh re-reads the store
	loaded bool
	by     sync.Map // queue name → *iam.Policy
}

func parseQueuePolicy(name, doc string) (*iam.Policy, error) {
	return iam.ParsePolicy("the Policy of queue "+name, []byte(doc))
}

// load reads every queue's policy once.
func (s *Service) loadPolicies(ctx context.Context) error {
	s.pol.mu.Lock()
	defer s.pol.mu.Unlock()
	if s.pol.loaded {
		return nil
	}
	err := s.st.View(ctx, func(tx *store.Tx) error {
		rows, err := tx.Query(`SELECT name FROM sqs_queues`)
		if err != nil {
			return err
		}
		var names []string
		for rows.Next() {
			var n string
			if err := rows.Scan(&n); err != nil {
				rows.Close()
				return err
			}
			names = append(names, n)
		}
		rows.Close()
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
		return rows.Err()
	})
	if err == nil {
		s.pol.loaded = true
	}
	return err
}

// queuePolicy is the named queue's policy, or nil.
func (s *Service) queuePolicy(ctx context.Context, name string) (*iam.Policy, error) {
	if err := s.loadPolicies(ctx); err != nil {
		return nil, err
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
	case err != nil:
		s.log.Error("sqs: re-read a queue's Policy; the next start reads it", "queue", name, "err", err)
		s.pol.loaded = false // read again in full at the next use
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
// the platform's own sends on a principal's behalf.
func (s *Service) Policy(ctx context.Context, name string) *iam.Policy {
	p, err := s.queuePolicy(ctx, name)
	if err != nil {
		s.log.Error("sqs: read the queues' policies", "err", err)
	}
	return p
}

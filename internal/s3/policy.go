package s3

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/cloudlet/cloudlet/internal/awsapi"
	"github.com/cloudlet/cloudlet/internal/iam"
	"github.com/cloudlet/cloudlet/internal/store"
)

// Bucket policies (PutBucketPolicy, GetBucketPolicy, DeleteBucketPolicy)
// are kept with their bucket and evaluated as the resource policy of
// every call on it and its objects: they grant what a caller's role does
// not, and their Deny refuses what it allows.

type bucketDoc struct {
	Policy        string            `json:"policy,omitempty"`
	Notifications []NotifConfig     `json:"notifications,omitempty"`
	Tags          map[string]string `json:"tags,omitempty"`
	Lifecycle     []LifecycleRule   `json:"lifecycle,omitempty"`
	ObjectLock    *lockConfig       `json:"lock,omitempty"`
	CORS          []corsRule        `json:"cors,omitempty"`
	// CORSDeployed: CORS is what a deploy declared (a later deploy that
	// declares none removes it)
	CORSDeployed bool `json:"corsDeployed,omitempty"`
}

// updateBucketDocTx changes bucket's doc with change; found is false when
// there is no such bucket.
func updateBucketDocTx(tx *store.Tx, bucket string, change func(*bucketDoc)) (found bool, err error) {
	var raw string
	err = tx.QueryRow(`SELECT doc FROM s3_buckets WHERE name = ?`, bucket).Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	var d bucketDoc
	json.Unmarshal([]byte(raw), &d)
	change(&d)
	b, _ := json.Marshal(d)
	_, err = tx.Exec(`UPDATE s3_buckets SET doc = ? WHERE name = ?`, string(b), bucket)
	return true, err
}

// eachBucketTx calls fn with every bucket's name and doc (as stored).
func eachBucketTx(tx *store.Tx, fn func(name, doc string)) error {
	rows, err := tx.Query(`SELECT name, doc FROM s3_buckets`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var name, doc string
		if err := rows.Scan(&name, &doc); err != nil {
			return err
		}
		fn(name, doc)
	}
	return rows.Err()
}

func bucketDocTx(tx *store.Tx, bucket string) (*bucketDoc, error) {
	var raw string
	err := tx.QueryRow(`SELECT doc FROM s3_buckets WHERE name = ?`, bucket).Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var d bucketDoc
	json.Unmarshal([]byte(raw), &d)
	return &d, nil
}

// readBucketDoc reads bucket's doc, or answers NoSuchBucket.
func (s *Service) readBucketDoc(r *http.Request, bucket string) (*bucketDoc, *s3Error) {
	var d *bucketDoc
	if err := s.st.View(r.Context(), func(tx *store.Tx) (err error) {
		d, err = bucketDocTx(tx, bucket)
		return err
	}); err != nil {
		return nil, internal(s, "read a bucket", err)
	}
	if d == nil {
		return nil, noSuchBucket(bucket)
	}
	return d, nil
}

// bucketDocOp serves a Get, Put or Delete of one part of bucket's doc:
// apply reads it from the doc as stored (write false) or changes it in
// a write transaction (write true); what names the change for the log.
func (s *Service) bucketDocOp(r *http.Request, bucket string, write bool, what string, apply func(*bucketDoc)) *s3Error {
	if !write {
		d, e := s.readBucketDoc(r, bucket)
		if e == nil {
			apply(d)
		}
		return e
	}
	var found bool
	err := s.st.Update(r.Context(), func(tx *store.Tx) (err error) {
		found, err = updateBucketDocTx(tx, bucket, apply)
		return err
	})
	switch {
	case err != nil:
		return internal(s, what, err)
	case !found:
		return noSuchBucket(bucket)
	}
	return nil
}

// policies caches the buckets' parsed policies (every write goes through
// the Service).
type policies struct {
	mu sync.Mutex // serializes loading and changes; reads take none
	// by is the current map, never changed in place (a change stores a
	// new one); nil until loaded.
	by atomic.Pointer[map[string]*iam.Policy]
}

func (s *Service) bucketPolicy(ctx context.Context, bucket string) (*iam.Policy, error) {
	if m := s.pol.by.Load(); m != nil { // every call but the first: no lock
		return (*m)[bucket], nil
	}
	s.pol.mu.Lock()
	defer s.pol.mu.Unlock()
	if s.pol.by.Load() == nil {
		by := map[string]*iam.Policy{}
		err := s.st.View(ctx, func(tx *store.Tx) error {
			return eachBucketTx(tx, func(name, doc string) {
				var d bucketDoc
				json.Unmarshal([]byte(doc), &d)
				if d.Policy != "" {
					if p, err := iam.ParsePolicy("the policy of bucket "+name, []byte(d.Policy)); err == nil {
						by[name] = p
					}
				}
			})
		})
		if err != nil {
			return nil, err
		}
		s.pol.by.Store(&by)
	}
	return (*s.pol.by.Load())[bucket], nil
}

// setPolicy records bucket's policy ("" removes it) and its parsed form.
func (s *Service) setPolicy(ctx context.Context, bucket, doc string, parsed *iam.Policy) (found bool, err error) {
	if _, err := s.bucketPolicy(ctx, bucket); err != nil { // loaded first
		return false, err
	}
	s.pol.mu.Lock()
	defer s.pol.mu.Unlock()
	err = s.st.Update(ctx, func(tx *store.Tx) (err error) {
		found, err = updateBucketDocTx(tx, bucket, func(d *bucketDoc) { d.Policy = doc })
		return err
	})
	if err == nil && found {
		s.storePolicy(bucket, parsed)
	}
	return found, err
}

// forgetPolicy drops a deleted bucket's policy from the cache.
func (s *Service) forgetPolicy(bucket string) {
	s.pol.mu.Lock()
	defer s.pol.mu.Unlock()
	s.storePolicy(bucket, nil)
}

// storePolicy makes p bucket's policy (nil: none) in a new map; the
// caller holds s.pol.mu.
func (s *Service) storePolicy(bucket string, p *iam.Policy) {
	next := map[string]*iam.Policy{}
	if cur := s.pol.by.Load(); cur != nil {
		maps.Copy(next, *cur)
	}
	if p == nil {
		delete(next, bucket)
	} else {
		next[bucket] = p
	}
	s.pol.by.Store(&next)
}

// policyOp serves ?policy on a bucket.
func (s *Service) policyOp(w http.ResponseWriter, r *http.Request, call *awsapi.Call, bucket string) *s3Error {
	op := map[string]string{http.MethodPut: "PutBucketPolicy", http.MethodGet: "GetBucketPolicy", http.MethodDelete: "DeleteBucketPolicy"}[r.Method]
	if op == "" {
		return methodNotAllowed()
	}
	if e := s.authorize(call, op, s.bucketARN(bucket), nil); e != nil {
		return e
	}
	switch op {
	case "GetBucketPolicy":
		var doc string
		var found bool
		err := s.st.View(r.Context(), func(tx *store.Tx) error {
			d, err := bucketDocTx(tx, bucket)
			if d != nil {
				found, doc = true, d.Policy
			}
			return err
		})
		switch {
		case err != nil:
			return internal(s, "read a bucket policy", err)
		case !found:
			return noSuchBucket(bucket)
		case doc == "":
			return &s3Error{code: "NoSuchBucketPolicy", status: 404, msg: "The bucket policy does not exist", bucket: bucket}
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, doc)
		return nil
	case "DeleteBucketPolicy":
		found, err := s.setPolicy(r.Context(), bucket, "", nil)
		if err != nil {
			return internal(s, "delete a bucket policy", err)
		}
		if !found {
			return noSuchBucket(bucket)
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	body, e := readSmall(r, 20<<10)
	if e != nil {
		if e.code == "MaxMessageLengthExceeded" {
			return errorf("PolicyTooLarge", 400, "Policies must be less than 20 KB")
		}
		return e
	}
	parsed, err := iam.ParsePolicy("the policy of bucket "+bucket, body)
	if err != nil {
		return errorf("MalformedPolicy", 400, "Policy has invalid resource or action: "+err.Error())
	}
	for _, st := range parsed.Statements {
		if st.Principals == nil && st.NotPrincipals == nil {
			return errorf("MalformedPolicy", 400, "Missing required field Principal")
		}
	}
	found, err := s.setPolicy(r.Context(), bucket, string(body), parsed)
	if err != nil {
		return internal(s, "put a bucket policy", err)
	}
	if !found {
		return noSuchBucket(bucket)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

package s3

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/cloudlet/cloudlet/internal/awsapi"
	"github.com/cloudlet/cloudlet/internal/store"
)

// Lifecycle rules (Put/Get/DeleteBucketLifecycleConfiguration): objects
// under a rule's prefix expire after Expiration Days (or on its Date),
// and unfinished uploads are aborted after AbortIncompleteMultipartUpload
// DaysAfterInitiation; Expire applies them (the server runs it with its
// other sweeps). In a versioned bucket an expiration adds a delete
// marker, NoncurrentVersionExpiration NoncurrentDays deletes the
// versions that have not been current for that long (but the
// NewerNoncurrentVersions newest, and any Object Lock holds), and
// ExpiredObjectDeleteMarker removes a marker no version is left behind.
// Each expiration sends its LifecycleExpiration event in the transaction
// that applies it. Transitions have no effect: every object stays
// STANDARD.

// LifecycleRule is one rule, as kept.
type LifecycleRule struct {
	ID         string    `json:"id"`
	Prefix     string    `json:"prefix,omitempty"`
	Enabled    bool      `json:"enabled"`
	Days       int       `json:"days,omitempty"`
	Date       time.Time `json:"date,omitempty"`
	AbortAfter int       `json:"abort,omitempty"`      // days after an upload's initiation
	Noncurrent int       `json:"noncurrent,omitempty"` // days since a version stopped being current
	// NewerNoncurrent noncurrent versions of a key are kept however old
	NewerNoncurrent int `json:"newerNoncurrent,omitempty"`
	// ExpiredMarkers: a delete marker with no version left behind it goes
	ExpiredMarkers bool `json:"expiredMarkers,omitempty"`
}

type filterXML struct {
	Prefix *string    `xml:"Prefix,omitempty"`
	Tag    *struct{}  `xml:"Tag,omitempty"`
	And    *struct{}  `xml:"And,omitempty"`
	Size   *struct{}  `xml:"ObjectSizeGreaterThan,omitempty"`
	Small  *struct{}  `xml:"ObjectSizeLessThan,omitempty"`
	Extra  []xml.Name `xml:",any"`
}

type expirationXML struct {
	Days          int    `xml:"Days,omitempty"`
	Date          string `xml:"Date,omitempty"`
	ExpiredMarker *bool  `xml:"ExpiredObjectDeleteMarker,omitempty"`
}

type noncurrentXML struct {
	Days  int `xml:"NoncurrentDays"`
	Newer int `xml:"NewerNoncurrentVersions,omitempty"`
}

type abortXML struct {
	Days int `xml:"DaysAfterInitiation"`
}

type ruleXML struct {
	ID         string         `xml:"ID,omitempty"`
	Prefix     *string        `xml:"Prefix,omitempty"`
	Filter     *filterXML     `xml:"Filter,omitempty"`
	Status     string         `xml:"Status"`
	Expiration *expirationXML `xml:"Expiration,omitempty"`
	Noncurrent *noncurrentXML `xml:"NoncurrentVersionExpiration,omitempty"`
	Abort      *abortXML      `xml:"AbortIncompleteMultipartUpload,omitempty"`
}

type lifecycleXML struct {
	XMLName xml.Name  `xml:"LifecycleConfiguration"`
	Xmlns   string    `xml:"xmlns,attr,omitempty"`
	Rules   []ruleXML `xml:"Rule"`
}

func parseLifecycle(body []byte) ([]LifecycleRule, *s3Error) {
	var l lifecycleXML
	malformed := malformedXML()
	if err := xml.Unmarshal(body, &l); err != nil || l.XMLName.Local != "LifecycleConfiguration" || len(l.Rules) == 0 || len(l.Rules) > 1000 {
		return nil, malformed
	}
	var out []LifecycleRule
	for _, x := range l.Rules {
		r := LifecycleRule{ID: x.ID, Enabled: x.Status == "Enabled"}
		if x.Status != "Enabled" && x.Status != "Disabled" {
			return nil, malformed
		}
		if x.Prefix != nil {
			r.Prefix = *x.Prefix
		}
		if f := x.Filter; f != nil {
			if f.Tag != nil || f.And != nil || f.Size != nil || f.Small != nil {
				return nil, errorf("NotImplemented", 501, "Cloudlet's lifecycle rules filter by Prefix only")
			}
			if f.Prefix != nil {
				r.Prefix = *f.Prefix
			}
		}
		if e := x.Expiration; e != nil {
			if e.ExpiredMarker != nil && (e.Days != 0 || e.Date != "") {
				return nil, errorf("InvalidArgument", 400, "ExpiredObjectDeleteMarker cannot be specified with Days or Date in a Lifecycle Expiration Policy")
			}
			switch {
			case e.ExpiredMarker != nil:
				r.ExpiredMarkers = *e.ExpiredMarker
			case e.Days > 0:
				r.Days = e.Days
			case e.Date != "":
				t, err := time.Parse(time.RFC3339, e.Date)
				if err != nil || !t.Equal(t.UTC().Truncate(24*time.Hour)) {
					return nil, errorf("InvalidArgument", 400, "'Date' must be at midnight GMT")
				}
				r.Date = t
			default:
				return nil, errorf("InvalidArgument", 400, "'Days' for Expiration action must be a positive integer")
			}
		}
		if n := x.Noncurrent; n != nil {
			if n.Days < 1 {
				return nil, errorf("InvalidArgument", 400, "'NoncurrentDays' for NoncurrentVersionExpiration action must be a positive integer")
			}
			if n.Newer < 0 || n.Newer > 100 {
				return nil, errorf("InvalidArgument", 400, "'NewerNoncurrentVersions' for NoncurrentVersionExpiration action must be a positive integer up to 100")
			}
			r.Noncurrent, r.NewerNoncurrent = n.Days, n.Newer
		}
		if a := x.Abort; a != nil {
			if a.Days < 1 {
				return nil, errorf("InvalidArgument", 400, "'DaysAfterInitiation' for AbortIncompleteMultipartUpload action must be a positive integer")
			}
			r.AbortAfter = a.Days
		}
		out = append(out, r)
	}
	return out, nil
}

func (s *Service) lifecycleOp(w http.ResponseWriter, r *http.Request, call *awsapi.Call, bucket string) *s3Error {
	op := map[string]string{http.MethodPut: "PutBucketLifecycleConfiguration", http.MethodGet: "GetBucketLifecycleConfiguration", http.MethodDelete: "DeleteBucketLifecycle"}[r.Method]
	if op == "" {
		return methodNotAllowed()
	}
	if e := s.authorize(call, op, s.bucketARN(bucket), nil); e != nil {
		return e
	}
	var rules []LifecycleRule
	if op == "PutBucketLifecycleConfiguration" {
		body, e := readSmall(r, 1<<20)
		if e != nil {
			return e
		}
		if rules, e = parseLifecycle(body); e != nil {
			return e
		}
	}
	var got []LifecycleRule
	if e := s.bucketDocOp(r, bucket, op != "GetBucketLifecycleConfiguration", "a bucket's lifecycle", func(d *bucketDoc) {
		switch op {
		case "GetBucketLifecycleConfiguration":
			got = d.Lifecycle
		case "PutBucketLifecycleConfiguration":
			d.Lifecycle = rules
		default:
			d.Lifecycle = nil
		}
	}); e != nil {
		return e
	}
	switch op {
	case "GetBucketLifecycleConfiguration":
		if len(got) == 0 {
			return &s3Error{code: "NoSuchLifecycleConfiguration", status: 404, msg: "The lifecycle configuration does not exist", bucket: bucket}
		}
		out := lifecycleXML{Xmlns: xmlns}
		for _, lr := range got {
			x := ruleXML{ID: lr.ID, Status: "Disabled"}
			if lr.Enabled {
				x.Status = "Enabled"
			}
			p := lr.Prefix
			x.Filter = &filterXML{Prefix: &p}
			if lr.Days > 0 || !lr.Date.IsZero() {
				x.Expiration = &expirationXML{Days: lr.Days}
				if !lr.Date.IsZero() {
					x.Expiration.Date = lr.Date.UTC().Format("2006-01-02T15:04:05.000Z")
				}
			}
			if lr.ExpiredMarkers {
				yes := true
				x.Expiration = &expirationXML{ExpiredMarker: &yes}
			}
			if lr.AbortAfter > 0 {
				x.Abort = &abortXML{lr.AbortAfter}
			}
			if lr.Noncurrent > 0 {
				x.Noncurrent = &noncurrentXML{lr.Noncurrent, lr.NewerNoncurrent}
			}
			out.Rules = append(out.Rules, x)
		}
		writeXML(w, out)
	case "PutBucketLifecycleConfiguration":
		w.WriteHeader(http.StatusOK)
	default:
		w.WriteHeader(http.StatusNoContent)
	}
	return nil
}

// Expire applies the buckets' lifecycle rules as of now: it deletes the
// objects whose rule says they expired and aborts the uploads whose rule
// says they are too old. It answers how many objects and uploads went.
func (s *Service) Expire(ctx context.Context, now time.Time) (int, error) {
	type bucketRules struct {
		name  string
		rules []LifecycleRule
	}
	var all []bucketRules
	err := s.st.View(ctx, func(tx *store.Tx) error {
		names, err := store.QueryStrings(tx, `SELECT name FROM s3_buckets`)
		if err != nil {
			return err
		}
		for _, n := range names {
			d, err := bucketDocTx(tx, n)
			if err != nil {
				return err
			}
			if d != nil && len(d.Lifecycle) > 0 {
				all = append(all, bucketRules{n, d.Lifecycle})
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	count := 0
	for _, b := range all {
		var drop []string
		var afters []func()
		err := s.st.Update(ctx, func(tx *store.Tx) error {
			drop, afters = nil, nil
			ok, state, err := bucketStateTx(tx, b.name)
			if err != nil || !ok {
				return err
			}
			// event sends S3's LifecycleExpiration event of key
			event := func(key, name, version string, size int64, etag string) error {
				if s.notify == nil {
					return nil
				}
				ev := ObjectEvent{Bucket: b.name, Key: key, Name: name, Size: size, ETag: etag, Sequencer: nextSequencer(), Time: now,
					VersionID: version, RequestID: lifecycleRequestID(), SourceIP: "s3.amazonaws.com", PrincipalID: "s3.amazonaws.com"}
				var err error
				if ev.Configs, err = matchingConfigsTx(tx, b.name, name, key); err != nil {
					return err
				}
				after, err := s.notify(tx, ev)
				if after != nil {
					afters = append(afters, after)
				}
				return err
			}
			for _, r := range b.rules {
				if !r.Enabled {
					continue
				}
				// noncurrent versions first: the ones this run's expirations
				// make noncurrent have only just become so
				if r.Noncurrent > 0 {
					gone, blobs, err := expireNoncurrentTx(tx, b.name, r.Prefix, r.NewerNoncurrent, now.Add(-time.Duration(r.Noncurrent)*24*time.Hour), now)
					if err != nil {
						return err
					}
					for _, v := range gone {
						if err := event(v.key, "LifecycleExpiration:Delete", wireVersion(v.version), v.size, v.etag); err != nil {
							return err
						}
					}
					drop = append(drop, blobs...)
					count += len(gone)
				}
				if r.Days > 0 || !r.Date.IsZero() && !now.Before(r.Date) {
					before := now.UnixMilli() + 1 // a Date rule: everything under it
					if r.Days > 0 {
						before = now.Add(-time.Duration(r.Days) * 24 * time.Hour).UnixMilli()
					}
					under, args := underPrefix("key", r.Prefix)
					keys, err := store.QueryStrings(tx, `SELECT key FROM s3_objects WHERE bucket = ? AND `+under+` AND modified < ? ORDER BY key LIMIT 1000`,
						append(append([]any{b.name}, args...), before)...)
					if err != nil {
						return err
					}
					for _, k := range keys {
						prev, err := loadHeadTx(tx, b.name, k)
						if err != nil {
							return err
						}
						res, gone, err := deleteCurrentTx(tx, b.name, k, state, prev)
						if err != nil {
							return err
						}
						name, version := "LifecycleExpiration:Delete", ""
						if res.marker {
							name, version = "LifecycleExpiration:DeleteMarkerCreated", wireVersion(res.version)
						}
						if err := event(k, name, version, prev.size, prev.etag); err != nil {
							return err
						}
						drop = append(drop, gone...)
						count++
					}
				}
				if r.ExpiredMarkers {
					gone, err := expireMarkersTx(tx, b.name, r.Prefix)
					if err != nil {
						return err
					}
					for _, m := range gone { // a marker is a version, deleted for good
						if err := event(m.key, "LifecycleExpiration:Delete", wireVersion(m.version), 0, ""); err != nil {
							return err
						}
					}
					count += len(gone)
				}

				if r.AbortAfter > 0 {
					rows, err := tx.Query(`SELECT id, key FROM s3_uploads WHERE bucket = ? AND initiated < ?`, b.name,
						now.Add(-time.Duration(r.AbortAfter)*24*time.Hour).UnixMilli())
					if err != nil {
						return err
					}
					var ids []string
					for rows.Next() {
						var id, k string
						if err := rows.Scan(&id, &k); err != nil {
							rows.Close()
							return err
						}
						if strings.HasPrefix(k, r.Prefix) {
							ids = append(ids, id)
						}
					}
					rows.Close()
					for _, id := range ids {
						blobs, err := dropUploadTx(tx, id)
						if err != nil {
							return err
						}
						drop = append(drop, blobs...)
						count++
					}
				}
			}
			return nil
		})
		if err != nil {
			return count, err
		}
		for _, blob := range drop {
			s.blobs.Remove(blob)
		}
		for _, after := range afters {
			after()
		}
	}
	return count, nil
}

// lifecycleRequestID is the request id of a lifecycle action's event.
func lifecycleRequestID() string { return strings.ToUpper(strconv.FormatUint(uint64(nextSeq()), 16)) }

// underPrefix is the SQL condition (on column col) and its arguments
// for the keys under prefix, as a range of the key index: keys compare
// as bytes, so the range ends before the prefix with its last byte that
// can grow grown by one.
func underPrefix(col, prefix string) (string, []any) {
	b := []byte(prefix)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xff {
			b[i]++
			return col + " >= ? AND " + col + " < ?", []any{prefix, string(b[:i+1])}
		}
	}
	return col + " >= ?", []any{prefix}
}

// expireMarkersTx deletes bucket's delete markers under prefix that
// have no version left behind them (S3's expired object delete
// markers), answering them.
func expireMarkersTx(tx *store.Tx, bucket, prefix string) ([]expiredVersion, error) {
	under, args := underPrefix("v.key", prefix)
	rows, err := tx.Query(`SELECT v.key, v.version FROM s3_versions v WHERE v.bucket = ? AND `+under+` AND v.marker = 1
		AND NOT EXISTS (SELECT 1 FROM s3_objects o WHERE o.bucket = v.bucket AND o.key = v.key)
		AND (SELECT COUNT(*) FROM s3_versions w WHERE w.bucket = v.bucket AND w.key = v.key) = 1
		ORDER BY v.key LIMIT 1000`, append([]any{bucket}, args...)...)
	if err != nil {
		return nil, err
	}
	var gone []expiredVersion
	for rows.Next() {
		var m expiredVersion
		if err := rows.Scan(&m.key, &m.version); err != nil {
			rows.Close()
			return nil, err
		}
		gone = append(gone, m)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, m := range gone {
		if _, err := tx.Exec(`DELETE FROM s3_versions WHERE bucket = ? AND key = ? AND version = ?`, bucket, m.key, m.version); err != nil {
			return nil, err
		}
	}
	return gone, nil
}

// expiredVersion is a version a lifecycle rule deleted.
type expiredVersion struct {
	key, version, blob, etag string
	size                     int64
}

// expireNoncurrentTx deletes bucket's versions under prefix that
// stopped being current before cutoff, but the newer newest noncurrent
// versions of each key (not delete markers, nor versions Object Lock
// holds at now), answering them and their blobs.
func expireNoncurrentTx(tx *store.Tx, bucket, prefix string, newer int, cutoff, now time.Time) ([]expiredVersion, []string, error) {
	under, args := underPrefix("key", prefix)
	rows, err := tx.Query(`SELECT key, version, blob, size, etag, doc, seq < ? FROM s3_versions WHERE bucket = ? AND `+under+` AND marker = 0
		ORDER BY key, seq DESC`, append([]any{cutoff.UnixNano(), bucket}, args...)...)
	if err != nil {
		return nil, nil, err
	}
	var gone []expiredVersion
	kept, last := 0, ""
	for rows.Next() && len(gone) < 1000 {
		var x expiredVersion
		var doc string
		var old bool
		if err := rows.Scan(&x.key, &x.version, &x.blob, &x.size, &x.etag, &doc, &old); err != nil {
			rows.Close()
			return nil, nil, err
		}
		if x.key != last {
			kept, last = 0, x.key
		}
		if kept < newer {
			kept++
			continue
		}
		o := &object{}
		json.Unmarshal([]byte(doc), &o.meta)
		if old && protected(o, false, now) == "" {
			gone = append(gone, x)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	var drop []string
	for _, x := range gone {
		if _, err := tx.Exec(`DELETE FROM s3_versions WHERE bucket = ? AND key = ? AND version = ?`, bucket, x.key, x.version); err != nil {
			return nil, nil, err
		}
		if x.blob != "" {
			drop = append(drop, x.blob)
		}
	}
	return gone, drop, nil
}

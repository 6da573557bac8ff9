package s3

import (
	"encoding/json"
	"encoding/xml"
	"net/http"
	"net/url"
	"time"

	"github.com/cloudlet/cloudlet/internal/awsapi"
	"github.com/cloudlet/cloudlet/internal/store"
)

// Object Lock, as S3 keeps it: a bucket created with
// x-amz-bucket-object-lock-enabled (or given an ObjectLockConfiguration
// while its versioning is Enabled) keeps each version's retention (mode
// and date) and legal hold. A version under either cannot be deleted by
// its version id, nor its retention shortened, until it lapses; a
// GOVERNANCE retention gives way to a caller allowed
// s3:BypassGovernanceRetention who sends
// x-amz-bypass-governance-retention: true. Deletes without a version id
// only add a delete marker, as S3's do.

// objectLock is a version's retention and legal hold.
type objectLock struct {
	Mode      string    `json:"m,omitempty"` // GOVERNANCE or COMPLIANCE
	Until     time.Time `json:"u,omitzero"`
	LegalHold bool      `json:"h,omitempty"`
}

// lockConfig is a bucket's Object Lock configuration: enabled, with an
// optional default retention.
type lockConfig struct {
	Mode  string `json:"m,omitempty"`
	Days  int    `json:"d,omitempty"`
	Years int    `json:"y,omitempty"`
}

const (
	lockGovernance = "GOVERNANCE"
	lockCompliance = "COMPLIANCE"
)

func errNoLockConfig() *s3Error {
	return errorf("InvalidRequest", 400, "Bucket is missing Object Lock Configuration")
}

// parseLockHeaders reads a write's x-amz-object-lock-* headers.
func parseLockHeaders(h http.Header) (objectLock, *s3Error) {
	var l objectLock
	mode, until := h.Get("x-amz-object-lock-mode"), h.Get("x-amz-object-lock-retain-until-date")
	switch mode {
	case "", lockGovernance, lockCompliance:
	default:
		return l, errorf("InvalidArgument", 400, "Unknown wormMode directive.")
	}
	if (mode == "") != (until == "") {
		return l, errorf("InvalidArgument", 400, "x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied")
	}
	if until != "" {
		t, err := time.Parse(time.RFC3339, until)
		if err != nil {
			return l, errorf("InvalidArgument", 400, "The retain until date must be provided in ISO 8601 format")
		}
		if !t.After(time.Now()) {
			return l, errorf("InvalidArgument", 400, "The retain until date must be in the future!")
		}
		l.Mode, l.Until = mode, t.UTC()
	}
	switch h.Get("x-amz-object-lock-legal-hold") {
	case "":
	case "ON":
		l.LegalHold = true
	case "OFF":
	default:
		return l, errorf("InvalidArgument", 400, "Legal Hold must be either of 'ON' or 'OFF'")
	}
	return l, nil
}

// asked is whether a write asked for a lock.
func (l objectLock) asked() bool { return l.Mode != "" || l.LegalHold }

// lockDefaultsTx checks a new version's lock against its bucket
// (state: its versioning) and gives it the bucket's default retention
// when it asked for none.
func lockDefaultsTx(tx *store.Tx, bucket, state string, meta *objectMeta) (*s3Error, error) {
	if state != versioningEnabled { // a bucket with Object Lock is always Enabled
		if meta.Lock.asked() {
			return errNoLockConfig(), nil
		}
		return nil, nil
	}
	d, err := bucketDocTx(tx, bucket)
	if err != nil || d == nil {
		return nil, err
	}
	if d.ObjectLock == nil {
		if meta.Lock.asked() {
			return errNoLockConfig(), nil
		}
		return nil, nil
	}
	if meta.Lock.Mode == "" && d.ObjectLock.Mode != "" {
		meta.Lock.Mode = d.ObjectLock.Mode
		meta.Lock.Until = time.Now().UTC().AddDate(d.ObjectLock.Years, 0, d.ObjectLock.Days)
	}
	return nil, nil
}

// lockHeaders writes a version's lock as GetObject answers it.
func lockHeaders(h http.Header, m *objectMeta) {
	if m.Lock.Mode != "" {
		h.Set("x-amz-object-lock-mode", m.Lock.Mode)
		h.Set("x-amz-object-lock-retain-until-date", m.Lock.Until.Format(time.RFC3339))
	}
	if m.Lock.LegalHold {
		h.Set("x-amz-object-lock-legal-hold", "ON")
	}
}

// protected is why version o cannot be deleted or have its retention
// shortened now ("" when it can); bypass is a GOVERNANCE bypass allowed.
func protected(o *object, bypass bool, now time.Time) string {
	if o == nil || o.marker {
		return ""
	}
	if o.meta.Lock.LegalHold {
		return "legal hold"
	}
	if o.meta.Lock.Mode != "" && now.Before(o.meta.Lock.Until) && (o.meta.Lock.Mode == lockCompliance || !bypass) {
		return "retention"
	}
	return ""
}

func errLocked() *s3Error {
	return errorf("AccessDenied", 403, "Access Denied because object protected by object lock.")
}

// lockedTx refuses the permanent delete of version v when its lock
// holds (prev: the key's current version).
func lockedTx(tx *store.Tx, bucket, key, v string, prev *object, bypass bool) (*s3Error, error) {
	o := prev
	if o == nil || o.version != v {
		var err error
		if o, err = loadVersionTx(tx, bucket, key, v); err != nil {
			return nil, err
		}
	}
	if protected(o, bypass, time.Now()) != "" {
		return errLocked(), nil
	}
	return nil, nil
}

// bypassAllowed is whether the request asks to bypass GOVERNANCE
// retention and its caller may.
func (s *Service) bypassAllowed(r *http.Request, call *awsapi.Call, bucket, key string) bool {
	if r.Header.Get("x-amz-bypass-governance-retention") != "true" {
		return false
	}
	return s.authorize(call, "BypassGovernanceRetention", s.objectARN(bucket, key), nil) == nil
}

type retentionXML struct {
	XMLName         xml.Name `xml:"Retention"`
	Xmlns           string   `xml:"xmlns,attr,omitempty"`
	Mode            string   `xml:"Mode,omitempty"`
	RetainUntilDate string   `xml:"RetainUntilDate,omitempty"`
}

type legalHoldXML struct {
	XMLName xml.Name `xml:"LegalHold"`
	Xmlns   string   `xml:"xmlns,attr,omitempty"`
	Status  string   `xml:"Status"`
}

// objectLockOp serves Put/GetObjectRetention and Put/GetObjectLegalHold.
func (s *Service) objectLockOp(w http.ResponseWriter, r *http.Request, call *awsapi.Call, bucket, key string, q url.Values) *s3Error {
	hold := q.Has("legal-hold")
	op := map[bool]string{false: "ObjectRetention", true: "ObjectLegalHold"}[hold]
	switch r.Method {
	case http.MethodGet:
		op = "Get" + op
	case http.MethodPut:
		op = "Put" + op
	default:
		return methodNotAllowed()
	}
	version, e := versionParam(q)
	if e != nil {
		return e
	}
	if e := s.authorize(call, op, s.objectARN(bucket, key), nil); e != nil {
		return e
	}
	var want objectLock
	if r.Method == http.MethodPut {
		body, e := readSmall(r, 64<<10)
		if e != nil {
			return e
		}
		malformed := malformedXML()
		if hold {
			var x legalHoldXML
			if xml.Unmarshal(body, &x) != nil || x.Status != "ON" && x.Status != "OFF" {
				return malformed
			}
			want.LegalHold = x.Status == "ON"
		} else {
			var x retentionXML
			if xml.Unmarshal(body, &x) != nil {
				return malformed
			}
			if x.Mode != "" || x.RetainUntilDate != "" {
				h := http.Header{}
				h.Set("x-amz-object-lock-mode", x.Mode)
				h.Set("x-amz-object-lock-retain-until-date", x.RetainUntilDate)
				l, e := parseLockHeaders(h)
				if e != nil {
					return malformed
				}
				want.Mode, want.Until = l.Mode, l.Until
			}
		}
	}
	bypass := r.Method == http.MethodPut && !hold && s.bypassAllowed(r, call, bucket, key)
	var got objectLock
	var e2 *s3Error
	err := s.st.Update(r.Context(), func(tx *store.Tx) error {
		e2 = nil
		d, err := bucketDocTx(tx, bucket)
		if err != nil || d == nil {
			e2 = orNoBucket(nil, bucket)
			return err
		}
		if d.ObjectLock == nil {
			e2 = errNoLockConfig()
			return nil
		}
		var o *object
		if version != nil {
			o, err = loadVersionTx(tx, bucket, key, *version)
		} else {
			o, err = loadObjectTx(tx, bucket, key)
		}
		if err != nil {
			return err
		}
		if o == nil || o.marker {
			e2 = noSuchKey(key)
			if version != nil && o == nil {
				e2 = noSuchVersion(key, wireVersion(*version))
			}
			return nil
		}
		got = o.meta.Lock
		if r.Method == http.MethodGet {
			return nil
		}
		if hold {
			o.meta.Lock.LegalHold = want.LegalHold
		} else {
			// shortening, removing or weakening a retention in force is
			// a delete of its protection
			cur := o.meta.Lock
			weaker := cur.Mode != "" && time.Now().Before(cur.Until) &&
				(want.Mode == "" || want.Until.Before(cur.Until) || cur.Mode == lockCompliance && want.Mode != lockCompliance)
			if weaker && (cur.Mode == lockCompliance || !bypass) {
				e2 = errLocked()
				return nil
			}
			o.meta.Lock.Mode, o.meta.Lock.Until = want.Mode, want.Until
		}
		return updateVersionDocTx(tx, bucket, key, o)
	})
	if err != nil {
		return internal(s, "read or change an object's lock", err)
	}
	if e2 != nil {
		return e2
	}
	if r.Method == http.MethodPut {
		w.WriteHeader(http.StatusOK)
		return nil
	}
	if hold {
		if !got.LegalHold {
			return errorf("NoSuchObjectLockConfiguration", 404, "The specified object does not have a ObjectLock configuration")
		}
		writeXML(w, legalHoldXML{Xmlns: xmlns, Status: "ON"})
		return nil
	}
	if got.Mode == "" {
		return errorf("NoSuchObjectLockConfiguration", 404, "The specified object does not have a ObjectLock configuration")
	}
	writeXML(w, retentionXML{Xmlns: xmlns, Mode: got.Mode, RetainUntilDate: got.Until.Format("2006-01-02T15:04:05.000Z")})
	return nil
}

// updateVersionDocTx writes o's metadata back, where o lives.
func updateVersionDocTx(tx *store.Tx, bucket, key string, o *object) error {
	doc, _ := json.Marshal(o.meta)
	if o.current {
		_, err := tx.Exec(`UPDATE s3_objects SET doc = ? WHERE bucket = ? AND key = ?`, string(doc), bucket, key)
		return err
	}
	_, err := tx.Exec(`UPDATE s3_versions SET doc = ? WHERE bucket = ? AND key = ? AND version = ?`, string(doc), bucket, key, o.version)
	return err
}

type lockConfigXML struct {
	XMLName           xml.Name `xml:"ObjectLockConfiguration"`
	Xmlns             string   `xml:"xmlns,attr,omitempty"`
	ObjectLockEnabled string   `xml:"ObjectLockEnabled"`
	Rule              *struct {
		DefaultRetention struct {
			Mode  string `xml:"Mode"`
			Days  int    `xml:"Days,omitempty"`
			Years int    `xml:"Years,omitempty"`
		} `xml:"DefaultRetention"`
	} `xml:"Rule,omitempty"`
}

// parseLockConfig reads PutObjectLockConfiguration's body.
func parseLockConfig(body []byte) (*lockConfig, *s3Error) {
	malformed := malformedXML()
	var x lockConfigXML
	if xml.Unmarshal(body, &x) != nil || x.XMLName.Local != "ObjectLockConfiguration" || x.ObjectLockEnabled != "Enabled" {
		return nil, malformed
	}
	c := &lockConfig{}
	if x.Rule != nil {
		d := x.Rule.DefaultRetention
		if d.Mode != lockGovernance && d.Mode != lockCompliance || (d.Days > 0) == (d.Years > 0) || d.Days < 0 || d.Years < 0 ||
			d.Days > 36500 || d.Years > 100 {
			return nil, malformed
		}
		c.Mode, c.Days, c.Years = d.Mode, d.Days, d.Years
	}
	return c, nil
}

// lockConfigOp serves Put/GetObjectLockConfiguration.
func (s *Service) lockConfigOp(w http.ResponseWriter, r *http.Request, call *awsapi.Call, bucket string) *s3Error {
	switch r.Method {
	case http.MethodGet:
		if e := s.authorize(call, "GetObjectLockConfiguration", s.bucketARN(bucket), nil); e != nil {
			return e
		}
		d, e := s.readBucketDoc(r, bucket)
		if e != nil {
			return e
		}
		if d.ObjectLock == nil {
			return &s3Error{code: "ObjectLockConfigurationNotFoundError", status: 404, msg: "Object Lock configuration does not exist for this bucket", bucket: bucket}
		}
		x := lockConfigXML{Xmlns: xmlns, ObjectLockEnabled: "Enabled"}
		if d.ObjectLock.Mode != "" {
			x.Rule = &struct {
				DefaultRetention struct {
					Mode  string `xml:"Mode"`
					Days  int    `xml:"Days,omitempty"`
					Years int    `xml:"Years,omitempty"`
				} `xml:"DefaultRetention"`
			}{}
			x.Rule.DefaultRetention.Mode, x.Rule.DefaultRetention.Days, x.Rule.DefaultRetention.Years = d.ObjectLock.Mode, d.ObjectLock.Days, d.ObjectLock.Years
		}
		writeXML(w, x)
		return nil
	case http.MethodPut:
		if e := s.authorize(call, "PutObjectLockConfiguration", s.bucketARN(bucket), nil); e != nil {
			return e
		}
		body, e := readSmall(r, 64<<10)
		if e != nil {
			return e
		}
		c, e := parseLockConfig(body)
		if e != nil {
			return e
		}
		var e2 *s3Error
		err := s.st.Update(r.Context(), func(tx *store.Tx) error {
			e2 = nil
			ok, state, err := bucketStateTx(tx, bucket)
			if err != nil || !ok {
				e2 = orNoBucket(nil, bucket)
				return err
			}
			if state != versioningEnabled {
				e2 = errorf("InvalidBucketState", 409, "Versioning must be 'Enabled' on the bucket to apply a Object Lock configuration")
				return nil
			}
			_, err = updateBucketDocTx(tx, bucket, func(d *bucketDoc) { d.ObjectLock = c })
			return err
		})
		if err != nil {
			return internal(s, "set a bucket's Object Lock configuration", err)
		}
		if e2 != nil {
			return e2
		}
		w.WriteHeader(http.StatusOK)
		return nil
	}
	return methodNotAllowed()
}

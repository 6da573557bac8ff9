package s3

import (
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/cloudlet/cloudlet/internal/store"
)

// ObjectEvent is an object created or removed, for the bucket's
// notifications (s3 events).
type ObjectEvent struct {
	Bucket, Key string
	Name        string // e.g. ObjectCreated:Put, ObjectRemoved:Delete
	Size        int64
	ETag        string // hex MD5, "" for a removal
	VersionID   string // "" when the bucket was never versioned
	Sequencer   string
	Time        time.Time
	RequestID   string
	SourceIP    string
	PrincipalID string
	// Configs are the bucket's notification configurations that the event
	// matches (PutBucketNotificationConfiguration).
	Configs []NotifConfig
}

// Notifier records an object event's notifications in tx, the
// transaction that creates or removes the object: an acknowledged write
// always has its notifications, even across a crash. after, when not
// nil, runs once tx has committed.
type Notifier func(tx *store.Tx, ev ObjectEvent) (after func(), err error)

// SetNotifier makes s record the notifications of every object event
// through n. Call it before serving.
func (s *Service) SetNotifier(n Notifier) { s.notify = n }

// sequencer orders a key's events, as S3's sequencer does: hex that sorts
// later for later events.
var sequence atomic.Uint64

func nextSequencer() string { return "00" + strconv.FormatUint(uint64(nextSeq()), 16) }

// eventOf is the event of r's change to bucket/key.
func eventOf(r *http.Request, requestID, principal, bucket, key, name string, size int64, etag string) ObjectEvent {
	ip := r.RemoteAddr
	if h, _, err := splitHostPort(ip); err == nil {
		ip = h
	}
	return ObjectEvent{Bucket: bucket, Key: key, Name: name, Size: size, ETag: etag, Sequencer: nextSequencer(),
		Time: time.Now(), RequestID: requestID, SourceIP: ip, PrincipalID: principal}
}

type bucketNameError struct{ name string }

func (e *bucketNameError) Error() string {
	return "bucket name " + strconv.Quote(e.name) + " is not valid: 3 to 63 lower-case letters, digits, dots and hyphens, starting and ending with a letter or digit"
}

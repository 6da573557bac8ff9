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

// Bucket notification configuration (PutBucketNotificationConfiguration,
// GetBucketNotificationConfiguration): object events sent to a queue or a
// function, besides the s3 events a deploy declares. The configurations
// travel with each ObjectEvent to the Notifier, read in the transaction
// that changes the object.

// NotifConfig is one configuration of a bucket's notifications.
type NotifConfig struct {
	ID     string   `json:"id"`
	Kind   string   `json:"kind"` // "queue" or "function"
	ARN    string   `json:"arn"`
	Events []string `json:"events"` // e.g. s3:ObjectCreated:*
	Prefix string   `json:"prefix,omitempty"`
	Suffix string   `json:"suffix,omitempty"`
}

// Matches reports whether an event named name (e.g. ObjectCreated:Put)
// of key fires c.
func (c NotifConfig) Matches(name, key string) bool {
	if !strings.HasPrefix(key, c.Prefix) || !strings.HasSuffix(key, c.Suffix) {
		return false
	}
	for _, e := range c.Events {
		if p, ok := strings.CutSuffix(e, "*"); ok && strings.HasPrefix("s3:"+name, p) || e == "s3:"+name {
			return true
		}
	}
	return false
}

type filterRule struct {
	Name  string `xml:"Name"`
	Value string `xml:"Value"`
}

type notifXML struct {
	ID     string   `xml:"Id,omitempty"`
	Queue  string   `xml:"Queue,omitempty"`
	Func   string   `xml:"CloudFunction,omitempty"`
	Topic  string   `xml:"Topic,omitempty"`
	Events []string `xml:"Event"`
	Filter *struct {
		Rules []filterRule `xml:"S3Key>FilterRule"`
	} `xml:"Filter,omitempty"`
}

type notificationsXML struct {
	XMLName   xml.Name   `xml:"NotificationConfiguration"`
	Xmlns     string     `xml:"xmlns,attr,omitempty"`
	Queues    []notifXML `xml:"QueueConfiguration"`
	Functions []notifXML `xml:"CloudFunctionConfiguration"`
	Topics    []notifXML `xml:"TopicConfiguration"`
	EventBr   *struct{}  `xml:"EventBridgeConfiguration,omitempty"`
}

// parseNotifications reads a NotificationConfiguration body.
func parseNotifications(body []byte) ([]NotifConfig, *s3Error) {
	var n notificationsXML
	if err := xml.Unmarshal(body, &n); err != nil || n.XMLName.Local != "NotificationConfiguration" {
		return nil, malformedXML()
	}
	if len(n.Topics) > 0 || n.EventBr != nil {
		return nil, errorf("InvalidArgument", 400, "Cloudlet sends object events to queues and functions, not to topics or EventBridge.")
	}
	var out []NotifConfig
	add := func(list []notifXML, kind string) *s3Error {
		for i, x := range list {
			c := NotifConfig{ID: x.ID, Kind: kind, ARN: x.Queue + x.Func, Events: x.Events}
			if c.ID == "" {
				c.ID = kind + "-" + strconv.Itoa(i+1)
			}
			if c.ARN == "" || len(c.Events) == 0 {
				return malformedXML()
			}
			for _, e := range c.Events {
				known := false
				for _, k := range []string{"s3:ObjectCreated:", "s3:ObjectRemoved:", "s3:LifecycleExpiration:"} {
					known = known || strings.HasPrefix(e, k)
				}
				if !known {
					return &s3Error{code: "InvalidArgument", status: 400, msg: "The event is not supported for notifications",
						extra: [][2]string{{"ArgumentName", "Event"}, {"ArgumentValue", e}}}
				}
			}
			if x.Filter != nil {
				for _, r := range x.Filter.Rules {
					switch strings.ToLower(r.Name) {
					case "prefix":
						c.Prefix = r.Value
					case "suffix":
						c.Suffix = r.Value
					default:
						return &s3Error{code: "InvalidArgument", status: 400, msg: "filter rule name must be either prefix or suffix",
							extra: [][2]string{{"ArgumentName", "FilterRule.Name"}, {"ArgumentValue", r.Name}}}
					}
				}
			}
			out = append(out, c)
		}
		return nil
	}
	if e := add(n.Queues, "queue"); e != nil {
		return nil, e
	}
	if e := add(n.Functions, "function"); e != nil {
		return nil, e
	}
	return out, nil
}

// Destinations checks that a notification's target exists and that its
// resource policy lets S3 send it bucket's events (S3 refuses a
// configuration it cannot deliver to); why says what is wrong, "" when
// the target is taken. nil: every target is taken.
type Destinations func(kind, arn, bucket string) (why string)

// SetDestinations makes s check targets through d. Call it before serving.
func (s *Service) SetDestinations(d Destinations) { s.targets = d }

// TestEvents sends S3's s3:TestEvent message to a queue a configuration
// newly names.
type TestEvents func(ctx context.Context, queueARN string, body []byte) error

// SetTestEvents makes s send the test events through t. Call it before
// serving.
func (s *Service) SetTestEvents(t TestEvents) { s.testEvents = t }

func (s *Service) notificationOp(w http.ResponseWriter, r *http.Request, call *awsapi.Call, bucket string) *s3Error {
	switch r.Method {
	case http.MethodGet:
		if e := s.authorize(call, "GetBucketNotificationConfiguration", s.bucketARN(bucket), nil); e != nil {
			return e
		}
		d, e := s.readBucketDoc(r, bucket)
		if e != nil {
			return e
		}
		out := notificationsXML{Xmlns: xmlns}
		for _, c := range d.Notifications {
			x := notifXML{ID: c.ID, Events: c.Events}
			if c.Prefix != "" || c.Suffix != "" {
				x.Filter = &struct {
					Rules []filterRule `xml:"S3Key>FilterRule"`
				}{}
				if c.Prefix != "" {
					x.Filter.Rules = append(x.Filter.Rules, filterRule{"Prefix", c.Prefix})
				}
				if c.Suffix != "" {
					x.Filter.Rules = append(x.Filter.Rules, filterRule{"Suffix", c.Suffix})
				}
			}
			if c.Kind == "queue" {
				x.Queue = c.ARN
				out.Queues = append(out.Queues, x)
			} else {
				x.Func = c.ARN
				out.Functions = append(out.Functions, x)
			}
		}
		writeXML(w, out)
		return nil
	case http.MethodPut:
		if e := s.authorize(call, "PutBucketNotificationConfiguration", s.bucketARN(bucket), nil); e != nil {
			return e
		}
		body, e := readSmall(r, 1<<20)
		if e != nil {
			return e
		}
		cs, e := parseNotifications(body)
		if e != nil {
			return e
		}
		for _, c := range cs {
			if s.targets == nil {
				continue
			}
			if why := s.targets(c.Kind, c.ARN, bucket); why != "" {
				return &s3Error{code: "InvalidArgument", status: 400, msg: "Unable to validate the following destination configurations",
					extra: [][2]string{{"ArgumentName1", c.ARN}, {"ArgumentValue1", why}}}
			}
		}
		var found bool
		had := map[string]bool{}
		if err := s.st.Update(r.Context(), func(tx *store.Tx) (err error) {
			found, err = updateBucketDocTx(tx, bucket, func(d *bucketDoc) {
				for _, c := range d.Notifications {
					had[c.Kind+" "+c.ARN] = true
				}
				d.Notifications = cs
			})
			return err
		}); err != nil {
			return internal(s, "put a bucket's notifications", err)
		}
		if !found {
			return noSuchBucket(bucket)
		}
		// S3 tells a queue it was newly configured
		for _, c := range cs {
			if c.Kind != "queue" || had["queue "+c.ARN] || s.testEvents == nil {
				continue
			}
			had["queue "+c.ARN] = true
			body, _ := json.Marshal(map[string]string{"Service": "Amazon S3", "Event": "s3:TestEvent", "Time": time.Now().UTC().Format(timeFormat),
				"Bucket": bucket, "RequestId": call.RequestID, "HostId": call.RequestID})
			if err := s.testEvents(r.Context(), c.ARN, body); err != nil {
				s.log.Warn("s3: send the test event to a queue", "queue", c.ARN, "err", err)
			}
		}
		w.WriteHeader(http.StatusOK)
		return nil
	}
	return methodNotAllowed()
}

// matchingConfigsTx are bucket's notification configurations an event
// named name of key fires.
func matchingConfigsTx(tx *store.Tx, bucket, name, key string) ([]NotifConfig, error) {
	_, _, doc, err := bucketRowTx(tx, bucket)
	if err != nil {
		return nil, err
	}
	return matchingConfigs(doc, name, key), nil
}

// matchingConfigs are the notification configurations in a bucket's
// doc (as stored) that an event named name of key fires.
func matchingConfigs(doc, name, key string) []NotifConfig {
	if !strings.Contains(doc, `"notifications"`) { // most buckets: no decoding
		return nil
	}
	var d bucketDoc
	json.Unmarshal([]byte(doc), &d)
	var out []NotifConfig
	for _, c := range d.Notifications {
		if c.Matches(name, key) {
			out = append(out, c)
		}
	}
	return out
}

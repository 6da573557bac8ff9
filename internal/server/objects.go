package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"strconv"
	"strings"

	"github.com/cloudlet/cloudlet/internal/async"
	"github.com/cloudlet/cloudlet/internal/iam"
	"github.com/cloudlet/cloudlet/internal/manifest"
	"github.com/cloudlet/cloudlet/internal/s3"
	"github.com/cloudlet/cloudlet/internal/store"
)

// notification is one s3 event of a deployed function.
type notification struct {
	function, bucket, event, prefix, suffix, id string
}

// matches reports whether an object event fires n.
func (n notification) matches(ev s3.ObjectEvent) bool {
	if ev.Bucket != n.bucket || !strings.HasPrefix(ev.Key, n.prefix) || !strings.HasSuffix(ev.Key, n.suffix) {
		return false
	}
	name := "s3:" + ev.Name
	if p, ok := strings.CutSuffix(n.event, "*"); ok {
		return strings.HasPrefix(name, p)
	}
	return name == n.event
}

// notificationsOf are the s3 events of a project's functions.
func notificationsOf(proj *manifest.Project) []notification {
	var out []notification
	for _, fn := range proj.Functions {
		i := 0
		for _, e := range fn.Events {
			if e.S3 == nil {
				continue
			}
			i++
			out = append(out, notification{function: fn.Name, bucket: e.S3.Bucket, event: e.S3.Event, prefix: e.S3.Prefix,
				suffix: e.S3.Suffix, id: fn.Name + "-s3-" + strconv.Itoa(i)})
		}
	}
	return out
}

// s3Record is an object event as S3 sends it to a function.
type s3Record struct {
	EventVersion      string            `json:"eventVersion"`
	EventSource       string            `json:"eventSource"`
	AwsRegion         string            `json:"awsRegion"`
	EventTime         string            `json:"eventTime"`
	EventName         string            `json:"eventName"`
	UserIdentity      map[string]string `json:"userIdentity"`
	RequestParameters map[string]string `json:"requestParameters"`
	ResponseElements  map[string]string `json:"responseElements"`
	S3                struct {
		SchemaVersion   string `json:"s3SchemaVersion"`
		ConfigurationID string `json:"configurationId"`
		Bucket          struct {
			Name          string            `json:"name"`
			OwnerIdentity map[string]string `json:"ownerIdentity"`
			Arn           string            `json:"arn"`
		} `json:"bucket"`
		Object struct {
			Key       string `json:"key"`
			Size      *int64 `json:"size,omitempty"`
			ETag      string `json:"eTag,omitempty"`
			VersionID string `json:"versionId,omitempty"`
			Sequencer string `json:"sequencer"`
		} `json:"object"`
	} `json:"s3"`
}

// recordOf is ev as S3 sends it for the configuration id.
func (s *Server) recordOf(ev s3.ObjectEvent, id string) []byte {
	var r s3Record
	r.EventVersion, r.EventSource, r.AwsRegion = "2.1", "aws:s3", s.opts.Region
	r.EventTime, r.EventName = ev.Time.UTC().Format("2006-01-02T15:04:05.000Z"), ev.Name
	r.UserIdentity = map[string]string{"principalId": ev.PrincipalID}
	r.RequestParameters = map[string]string{"sourceIPAddress": ev.SourceIP}
	r.ResponseElements = map[string]string{"x-amz-request-id": ev.RequestID, "x-amz-id-2": ev.RequestID}
	r.S3.SchemaVersion, r.S3.ConfigurationID = "1.0", id
	r.S3.Bucket.Name, r.S3.Bucket.Arn = ev.Bucket, "arn:aws:s3:::"+ev.Bucket
	r.S3.Bucket.OwnerIdentity = map[string]string{"principalId": DefaultAccountID}
	r.S3.Object.Key, r.S3.Object.Sequencer, r.S3.Object.VersionID = url.QueryEscape(ev.Key), ev.Sequencer, ev.VersionID
	if strings.HasPrefix(ev.Name, "ObjectCreated:") {
		size := ev.Size
		r.S3.Object.Size, r.S3.Object.ETag = &size, ev.ETag
	}
	payload, _ := json.Marshal(map[string]any{"Records": []s3Record{r}})
	return payload
}

// notifyObject queues, in the transaction that changes the object, an
// asynchronous invocation of every function whose s3 event it matches,
// and sends what the bucket's notification configuration asks to its
// queues and functions.
func (s *Server) notifyObject(tx *store.Tx, ev s3.ObjectEvent) (func(), error) {
	var fired []string
	sent := false
	if ns := s.notifications.Load(); ns != nil {
		for _, n := range *ns {
			if !n.matches(ev) {
				continue
			}
			if _, err := async.EnqueueTx(tx, "", n.function, s.recordOf(ev, n.id), ""); err != nil {
				return nil, err
			}
			fired = append(fired, n.function)
		}
	}
	for _, c := range ev.Configs {
		payload := s.recordOf(ev, c.ID)
		switch c.Kind {
		case "function":
			cfg, ok := s.registry.Function(c.ARN)
			if !ok {
				s.log.Warn("s3: a notification's function does not exist; the event is dropped", "bucket", ev.Bucket, "function", c.ARN)
				continue
			}
			if _, err := async.EnqueueTx(tx, "", cfg.Name, payload, ""); err != nil {
				return nil, err
			}
			fired = append(fired, cfg.Name)
		case "queue":
			name := c.ARN[strings.LastIndexByte(c.ARN, ':')+1:]
			_, why, err := s.queues.SendTx(tx, name, string(payload), nil, "S3")
			if err != nil {
				return nil, err
			}
			if why != "" {
				s.log.Warn("s3: a notification's queue refused the event", "bucket", ev.Bucket, "queue", c.ARN, "why", why)
				continue
			}
			sent = true
		}
	}
	if len(fired) == 0 && !sent {
		return nil, nil
	}
	return func() {
		s.events.Wake(fired...)
		if sent {
			s.queues.Wake()
		}
	}, nil
}

// notificationTarget says why S3 cannot send bucket's events to a
// notification's target ("" when it can): the target must exist, and its
// resource policy must let s3.amazonaws.com call it from the bucket.
func (s *Server) notificationTarget(kind, arn, bucket string) string {
	source := "arn:aws:s3:::" + bucket
	if kind == "function" {
		cfg, ok := s.registry.Function(arn)
		if !ok {
			return "The destination function does not exist."
		}
		if !iam.ServiceAllowed("s3.amazonaws.com", DefaultAccountID, source, "lambda:InvokeFunction", s.registry.ARN(cfg.Name), s.policies.Policy(cfg.Name)) {
			return "Not authorized to invoke function [" + arn + "]: its policy must allow s3.amazonaws.com lambda:InvokeFunction from " + source +
				" (aws lambda add-permission --principal s3.amazonaws.com --source-arn " + source + ")."
		}
		return ""
	}
	if !strings.HasPrefix(arn, "arn:aws:sqs:"+s.opts.Region+":"+DefaultAccountID+":") {
		return "The destination queue is not in this server's region and account."
	}
	name := arn[strings.LastIndexByte(arn, ':')+1:]
	if _, ok, err := s.queues.VisibilityTimeout(context.Background(), name); err != nil {
		s.log.Error("s3: read a notification's queue", "queue", arn, "err", err)
		return "The destination queue could not be read; try again."
	} else if !ok {
		return "The destination queue does not exist."
	}
	if !iam.ServiceAllowed("s3.amazonaws.com", DefaultAccountID, source, "sqs:SendMessage", arn, s.queues.Policy(name)) {
		return "Permissions on the destination queue do not allow S3 to publish notifications from this bucket: its Policy must allow " +
			"s3.amazonaws.com sqs:SendMessage with aws:SourceArn " + source + "."
	}
	return ""
}

// sendTestEvent sends S3's s3:TestEvent message to a queue.
func (s *Server) sendTestEvent(ctx context.Context, queueARN string, body []byte) error {
	name := queueARN[strings.LastIndexByte(queueARN, ':')+1:]
	var why string
	err := s.store.Update(ctx, func(tx *store.Tx) (err error) {
		_, why, err = s.queues.SendTx(tx, name, string(body), nil, "S3")
		return err
	})
	if err == nil && why != "" {
		err = errors.New(why)
	}
	if err == nil {
		s.queues.Wake()
	}
	return err
}

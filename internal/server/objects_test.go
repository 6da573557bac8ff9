package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/cloudlet/cloudlet/internal/server"
)

func s3Client(s *server.Server) *s3.Client {
	return s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(s.APIURL()), UsePathStyle: true,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}, nil
		})})
}

// The seed's upload pattern end to end: the deploy makes both buckets
// (the s3 event's and the resource), an upload that matches the event's
// rules runs the function asynchronously with S3's event record, the
// function (client-s3 as Lambda ships it, reaching Cloudlet through the
// endpoint the platform injects) reads it and writes the derived object
// under its role; an upload the rules leave out runs nothing.
func TestObjectEventsRunFunctions(t *testing.T) {
	s := start(t)
	if _, err := s.Deploy(copyDir(t, "testdata/thumbnails"), ""); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c := s3Client(s)
	for _, b := range []string{"thumbs-uploads", "thumbs-thumbnails"} {
		if _, err := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(b)}); err != nil {
			t.Fatalf("the deploy's bucket %s: %v", b, err)
		}
	}
	put := func(key, body string) {
		t.Helper()
		if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("thumbs-uploads"), Key: aws.String(key), Body: strings.NewReader(body)}); err != nil {
			t.Fatal(err)
		}
	}
	put("in/skip.jpg", "not text")     // the suffix rule leaves it out
	put("elsewhere/note.txt", "other") // the prefix rule leaves it out
	put("in/my note.txt", "hello from an upload")
	got, meta := waitObject(t, c, "thumbs-thumbnails", "out/my note.txt")
	if got != "HELLO FROM AN UPLOAD" || meta["event"] != "ObjectCreated:Put" || meta["size"] != "20" || meta["etag"] == "" {
		t.Fatalf("the derived object: %q %v", got, meta)
	}
	starts := 0
	lines, _ := s.Logs().Since("thumbs-dev-resize", 0)
	for _, l := range lines {
		if strings.HasPrefix(l.Text, "START RequestId:") {
			starts++
		}
	}
	out, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("thumbs-thumbnails")})
	if err != nil || len(out.Contents) != 1 { // py/ uploads come below
		t.Fatalf("thumbnails holds %+v (%v): uploads the rules leave out made some", out, err)
	}
	if starts != 1 {
		t.Fatalf("the function ran %d times for one matching upload", starts)
	}
	// a Python function with the boto3 its runtime ships
	put("py/word.txt", "stressed")
	got, _ = waitObject(t, c, "thumbs-thumbnails", "py-out/word.txt")
	if got != "desserts" {
		t.Fatalf("the Python function wrote %q", got)
	}
}

// waitObject waits until bucket/key exists (written by a function an
// event ran) and answers its body and metadata.
func waitObject(t *testing.T, c *s3.Client, bucket, key string) (string, map[string]string) {
	t.Helper()
	var body string
	var meta map[string]string
	waitFor(t, bucket+"/"+key, func() bool {
		out, err := c.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
		if err != nil {
			return false
		}
		b, _ := io.ReadAll(out.Body)
		out.Body.Close()
		body, meta = string(b), out.Metadata
		return true
	})
	return body, meta
}

// thumbsRole is an S3 client with the thumbnails function's role (a
// session AssumeRole makes).
func thumbsRole(t *testing.T, s *server.Server) *s3.Client {
	t.Helper()
	out, err := sts.New(sts.Options{Region: "us-east-1", BaseEndpoint: aws.String(s.APIURL()),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}, nil
		})}).AssumeRole(context.Background(), &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::000000000000:role/thumbs-dev-us-east-1-lambdaRole"), RoleSessionName: aws.String("test")})
	if err != nil {
		t.Fatal(err)
	}
	c := out.Credentials
	return s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(s.APIURL()), UsePathStyle: true,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: *c.AccessKeyId, SecretAccessKey: *c.SecretAccessKey, SessionToken: *c.SessionToken}, nil
		})})
}

// A bucket's policy is its resource policy: it grants a role what the
// role's own policy does not, and its Deny refuses what the role allows.
func TestBucketPolicy(t *testing.T) {
	s := start(t)
	if _, err := s.Deploy(copyDir(t, "testdata/thumbnails"), ""); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	admin := s3Client(s)
	admin.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("thumbs-thumbnails"), Key: aws.String("t.txt"), Body: strings.NewReader("thumb")})
	admin.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("thumbs-uploads"), Key: aws.String("other/u.txt"), Body: strings.NewReader("up")})
	role := thumbsRole(t, s)
	getAs := func(bucket, key string) error {
		o, err := role.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
		if err == nil {
			o.Body.Close()
		}
		return err
	}
	if err := getAs("thumbs-thumbnails", "t.txt"); apiCode(err) != "AccessDenied" {
		t.Fatalf("a GetObject the role does not allow: %v", err)
	}
	if err := getAs("thumbs-uploads", "other/u.txt"); err != nil {
		t.Fatalf("a GetObject the role allows: %v", err)
	}
	put := func(bucket, doc string) {
		t.Helper()
		if _, err := admin.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(bucket), Policy: aws.String(doc)}); err != nil {
			t.Fatal(err)
		}
	}
	put("thumbs-thumbnails", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:role/thumbs-dev-us-east-1-lambdaRole"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::thumbs-thumbnails/*"}]}`)
	if err := getAs("thumbs-thumbnails", "t.txt"); err != nil {
		t.Fatalf("a GetObject the bucket's policy grants: %v", err)
	}
	put("thumbs-uploads", `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::thumbs-uploads/other/*"}]}`)
	if err := getAs("thumbs-uploads", "other/u.txt"); apiCode(err) != "AccessDenied" {
		t.Fatalf("a GetObject the bucket's policy denies: %v", err)
	}
	got, err := admin.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String("thumbs-uploads")})
	if err != nil || !strings.Contains(aws.ToString(got.Policy), `"Effect":"Deny"`) {
		t.Fatalf("GetBucketPolicy: %v %v", got, err)
	}
	if _, err := admin.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String("thumbs-uploads"), Policy: aws.String(`{"Statement":[{"Effect":"Allow","Action":"s3:GetObject"}]}`)}); apiCode(err) != "MalformedPolicy" {
		t.Fatalf("a policy without a Principal: %v", err)
	}
	// a condition on S3's request keys: writes must ask for encryption
	put("thumbs-thumbnails", `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::thumbs-thumbnails/*",
		"Condition":{"StringNotEquals":{"s3:x-amz-server-side-encryption":"AES256"}}}]}`)
	if _, err := role.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("thumbs-thumbnails"), Key: aws.String("plain"), Body: strings.NewReader("x")}); apiCode(err) != "AccessDenied" {
		t.Fatalf("a write without the encryption the policy asks for: %v", err)
	}
	if _, err := role.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("thumbs-thumbnails"), Key: aws.String("sealed"), Body: strings.NewReader("x"),
		ServerSideEncryption: s3types.ServerSideEncryptionAes256}); err != nil {
		t.Fatalf("a write with it: %v", err)
	}
	if _, err := admin.DeleteBucketPolicy(ctx, &s3.DeleteBucketPolicyInput{Bucket: aws.String("thumbs-uploads")}); err != nil {
		t.Fatal(err)
	}
	if err := getAs("thumbs-uploads", "other/u.txt"); err != nil {
		t.Fatalf("after DeleteBucketPolicy: %v", err)
	}
	if _, err := admin.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String("thumbs-uploads")}); apiCode(err) != "NoSuchBucketPolicy" {
		t.Fatalf("GetBucketPolicy of none: %v", err)
	}
}

// The bucket notification configuration API: events go to a queue
// (S3's record as the message body) and to a function, as filtered; a
// target that does not exist is refused; Get answers what was put.
func TestBucketNotificationConfiguration(t *testing.T) {
	s := start(t)
	if _, err := s.Deploy(copyDir(t, "testdata/thumbnails"), ""); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c, q := s3Client(s), sqsClient(s)
	qu, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("uploads-events")})
	if err != nil {
		t.Fatal(err)
	}
	cfg := &s3types.NotificationConfiguration{
		QueueConfigurations: []s3types.QueueConfiguration{{Id: aws.String("to-queue"), QueueArn: aws.String("arn:aws:sqs:us-east-1:000000000000:uploads-events"),
			Events: []s3types.Event{"s3:ObjectCreated:*", "s3:ObjectRemoved:*"},
			Filter: &s3types.NotificationConfigurationFilter{Key: &s3types.S3KeyFilter{FilterRules: []s3types.FilterRule{{Name: "prefix", Value: aws.String("q/")}}}}}},
		LambdaFunctionConfigurations: []s3types.LambdaFunctionConfiguration{{Id: aws.String("to-fn"), LambdaFunctionArn: aws.String("arn:aws:lambda:us-east-1:000000000000:function:thumbs-dev-resize"),
			Events: []s3types.Event{"s3:ObjectCreated:Put"},
			Filter: &s3types.NotificationConfigurationFilter{Key: &s3types.S3KeyFilter{FilterRules: []s3types.FilterRule{{Name: "prefix", Value: aws.String("api/")}}}}}},
	}
	// S3 may send to neither until their policies say so, as on AWS
	put := func(cfg *s3types.NotificationConfiguration) error {
		_, err := c.PutBucketNotificationConfiguration(ctx, &s3.PutBucketNotificationConfigurationInput{Bucket: aws.String("thumbs-uploads"), NotificationConfiguration: cfg})
		return err
	}
	queueOnly := &s3types.NotificationConfiguration{QueueConfigurations: cfg.QueueConfigurations}
	functionOnly := &s3types.NotificationConfiguration{LambdaFunctionConfigurations: cfg.LambdaFunctionConfigurations}
	queuePolicy := func(bucket string) {
		t.Helper()
		doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"s3.amazonaws.com"},"Action":"sqs:SendMessage",` +
			`"Resource":"arn:aws:sqs:us-east-1:000000000000:uploads-events","Condition":{"ArnEquals":{"aws:SourceArn":"arn:aws:s3:::` + bucket + `"}}}]}`
		if _, err := q.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: qu.QueueUrl, Attributes: map[string]string{"Policy": doc}}); err != nil {
			t.Fatal(err)
		}
	}
	for _, try := range []struct {
		what   string
		before func()
		cfg    *s3types.NotificationConfiguration
		ok     bool
	}{
		{"a queue without a policy", func() {}, queueOnly, false},
		{"a queue whose policy allows another bucket", func() { queuePolicy("another-bucket") }, queueOnly, false},
		{"a queue whose policy allows the bucket", func() { queuePolicy("thumbs-uploads") }, queueOnly, true},
		{"a function whose policy does not allow S3", func() {}, functionOnly, false},
		{"a function that allows S3 from the bucket", func() {
			if _, err := lambdaClient(s, "test").AddPermission(ctx, &lambda.AddPermissionInput{FunctionName: aws.String("thumbs-dev-resize"), StatementId: aws.String("s3"),
				Action: aws.String("lambda:InvokeFunction"), Principal: aws.String("s3.amazonaws.com"), SourceArn: aws.String("arn:aws:s3:::thumbs-uploads")}); err != nil {
				t.Fatal(err)
			}
		}, functionOnly, true},
		{"both", func() {}, cfg, true},
	} {
		try.before()
		err := put(try.cfg)
		if try.ok && err != nil || !try.ok && (apiCode(err) != "InvalidArgument" || !strings.Contains(err.Error(), "Unable to validate the following destination configurations")) {
			t.Fatalf("%s: %v", try.what, err)
		}
	}
	got, err := c.GetBucketNotificationConfiguration(ctx, &s3.GetBucketNotificationConfigurationInput{Bucket: aws.String("thumbs-uploads")})
	if err != nil || len(got.QueueConfigurations) != 1 || len(got.LambdaFunctionConfigurations) != 1 || aws.ToString(got.QueueConfigurations[0].Id) != "to-queue" {
		t.Fatalf("GetBucketNotificationConfiguration: %+v %v", got, err)
	}
	// S3's test event first, as a newly configured queue gets it
	var test struct{ Service, Event, Bucket string }
	waitFor(t, "the test event", func() bool {
		r, err := q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: qu.QueueUrl, WaitTimeSeconds: 1})
		if err != nil || len(r.Messages) == 0 {
			return false
		}
		json.Unmarshal([]byte(*r.Messages[0].Body), &test)
		q.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: qu.QueueUrl, ReceiptHandle: r.Messages[0].ReceiptHandle})
		return true
	})
	if test.Event != "s3:TestEvent" || test.Service != "Amazon S3" || test.Bucket != "thumbs-uploads" {
		t.Fatalf("the test event: %+v", test)
	}
	c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("thumbs-uploads"), Key: aws.String("q/one.txt"), Body: strings.NewReader("1")})
	c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("thumbs-uploads"), Key: aws.String("q/one.txt")})
	var names []string
	waitFor(t, "the two events in the queue", func() bool {
		r, err := q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: qu.QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
		for _, m := range r.Messages {
			var ev struct {
				Records []struct {
					EventName string `json:"eventName"`
					S3        struct {
						ConfigurationID string `json:"configurationId"`
						Object          struct {
							Key string `json:"key"`
						} `json:"object"`
					} `json:"s3"`
				} `json:"Records"`
			}
			json.Unmarshal([]byte(*m.Body), &ev)
			if len(ev.Records) == 1 && ev.Records[0].S3.ConfigurationID == "to-queue" && ev.Records[0].S3.Object.Key == "q%2Fone.txt" {
				names = append(names, ev.Records[0].EventName)
			}
		}
		return err == nil && len(names) >= 2
	})
	if strings.Join(names, ",") != "ObjectCreated:Put,ObjectRemoved:Delete" {
		t.Fatalf("events %v", names)
	}
	c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("thumbs-uploads"), Key: aws.String("api/two.txt"), Body: strings.NewReader("two")})
	waitObject(t, c, "thumbs-thumbnails", "api/two.txt") // written by the function the configuration names
	bad := &s3types.NotificationConfiguration{QueueConfigurations: []s3types.QueueConfiguration{{QueueArn: aws.String("arn:aws:sqs:us-east-1:000000000000:nope"), Events: []s3types.Event{"s3:ObjectCreated:*"}}}}
	if _, err := c.PutBucketNotificationConfiguration(ctx, &s3.PutBucketNotificationConfigurationInput{Bucket: aws.String("thumbs-uploads"), NotificationConfiguration: bad}); apiCode(err) != "InvalidArgument" {
		t.Fatalf("a queue that does not exist: %v", err)
	}
}

// postUpload sends a browser's POST form with the fields a presigned POST
// gives (less those set to "" in change, plus the others) and file.
func postUpload(t *testing.T, p *s3.PresignedPostRequest, change map[string]string, file string) (int, string) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range p.Values {
		if _, ok := change[strings.ToLower(k)]; !ok {
			mw.WriteField(k, v)
		}
	}
	for k, v := range change {
		if v != "" {
			mw.WriteField(k, v)
		}
	}
	fw, _ := mw.CreateFormFile("file", "upload.txt")
	io.WriteString(fw, file)
	mw.Close()
	resp, err := http.Post(p.URL, mw.FormDataContentType(), &body)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp.StatusCode, string(b)
}

// Browser POST uploads on the server: a form a role signed is authorized
// as the role (its session token part of the form), and an upload that
// matches an s3 event runs the function with ObjectCreated:Post.
func TestPostUploads(t *testing.T) {
	s := start(t)
	if _, err := s.Deploy(copyDir(t, "testdata/thumbnails"), ""); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	presign := func(c *s3.Client, bucket, key string) *s3.PresignedPostRequest {
		t.Helper()
		p, err := s3.NewPresignClient(c).PresignPostObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	role := thumbsRole(t, s)
	if status, body := postUpload(t, presign(role, "thumbs-thumbnails", "form.txt"), nil, "by the role"); status != 204 {
		t.Fatalf("a POST the role may make: %d %s", status, body)
	}
	if status, body := postUpload(t, presign(role, "thumbs-uploads", "in/x.txt"), nil, "x"); status != 403 || !strings.Contains(body, "<Code>AccessDenied</Code>") {
		t.Fatalf("a POST the role may not make: %d %s", status, body)
	}
	if status, body := postUpload(t, presign(role, "thumbs-thumbnails", "f2.txt"), map[string]string{"x-amz-security-token": ""}, "x"); status != 403 ||
		!strings.Contains(body, "<Code>InvalidAccessKeyId</Code>") {
		t.Fatalf("a role's POST without its session token: %d %s", status, body)
	}
	admin := s3Client(s)
	if status, body := postUpload(t, presign(admin, "thumbs-uploads", "in/form.txt"), nil, "posted"); status != 204 {
		t.Fatalf("an admin's POST: %d %s", status, body)
	}
	got, meta := waitObject(t, admin, "thumbs-thumbnails", "out/form.txt")
	if got != "POSTED" || meta["event"] != "ObjectCreated:Post" {
		t.Fatalf("the derived object: %q %v", got, meta)
	}
}

// A copy's tags are authorized as S3 authorizes them: copying a tagged
// object takes s3:GetObjectTagging on the source, replacing the tags
// s3:PutObjectTagging on the copy, beside the copy's own permissions.
func TestCopyTagPermissions(t *testing.T) {
	s := start(t)
	if _, err := s.Deploy(copyDir(t, "testdata/thumbnails"), ""); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	admin := s3Client(s)
	for key, tags := range map[string]string{"plain.txt": "", "tagged.txt": "team=a"} {
		in := &s3.PutObjectInput{Bucket: aws.String("thumbs-uploads"), Key: aws.String(key), Body: strings.NewReader("x")}
		if tags != "" {
			in.Tagging = aws.String(tags)
		}
		if _, err := admin.PutObject(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	role := thumbsRole(t, s) // may GetObject in uploads and PutObject in thumbnails, nothing else
	copyAs := func(src string, directive s3types.TaggingDirective, tags string) error {
		in := &s3.CopyObjectInput{Bucket: aws.String("thumbs-thumbnails"), Key: aws.String("copy-" + src), CopySource: aws.String("thumbs-uploads/" + src),
			TaggingDirective: directive}
		if tags != "" {
			in.Tagging = aws.String(tags)
		}
		_, err := role.CopyObject(ctx, in)
		return err
	}
	if err := copyAs("plain.txt", "", ""); err != nil {
		t.Fatalf("a copy of an untagged object: %v", err)
	}
	if err := copyAs("tagged.txt", "", ""); apiCode(err) != "AccessDenied" {
		t.Fatalf("a copy that takes the source's tags without s3:GetObjectTagging: %v", err)
	}
	if err := copyAs("tagged.txt", s3types.TaggingDirectiveReplace, ""); err != nil {
		t.Fatalf("a copy that drops the tags: %v", err)
	}
	if err := copyAs("tagged.txt", s3types.TaggingDirectiveReplace, "team=b"); apiCode(err) != "AccessDenied" {
		t.Fatalf("a copy that sets tags without s3:PutObjectTagging: %v", err)
	}
}

// A bucket's CloudFormation properties are applied on deploy: its
// CorsConfiguration (so a browser's preflight is answered) and its
// VersioningConfiguration.
func TestBucketPropertiesOnDeploy(t *testing.T) {
	s := start(t)
	if _, err := s.Deploy(copyDir(t, "testdata/thumbnails"), ""); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c := s3Client(s)
	cors, err := c.GetBucketCors(ctx, &s3.GetBucketCorsInput{Bucket: aws.String("thumbs-thumbnails")})
	if err != nil || len(cors.CORSRules) != 1 || strings.Join(cors.CORSRules[0].AllowedMethods, ",") != "GET,HEAD" || aws.ToInt32(cors.CORSRules[0].MaxAgeSeconds) != 600 {
		t.Fatalf("the declared CORS: %+v %v", cors, err)
	}
	req, _ := http.NewRequest(http.MethodOptions, s.APIURL()+"/thumbs-thumbnails/a.txt", nil)
	req.Header.Set("Origin", "https://app.example.com")
	req.Header.Set("Access-Control-Request-Method", "GET")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example.com" || resp.Header.Get("Access-Control-Max-Age") != "600" {
		t.Fatalf("a preflight the declared rule allows: %d %v", resp.StatusCode, resp.Header)
	}
	v, err := c.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: aws.String("thumbs-thumbnails")})
	if err != nil || v.Status != s3types.BucketVersioningStatusEnabled {
		t.Fatalf("the declared versioning: %+v %v", v, err)
	}
	if _, err := c.GetBucketCors(ctx, &s3.GetBucketCorsInput{Bucket: aws.String("thumbs-uploads")}); apiCode(err) != "NoSuchCORSConfiguration" {
		t.Fatalf("a bucket that declares no CORS: %v", err)
	}
}

package s3_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	svc "github.com/cloudlet/cloudlet/internal/s3"
)

// errorCode reads the Code of an S3 XML error body.
func errorCode(t *testing.T, resp *http.Response) string {
	t.Helper()
	var e struct {
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	xml.Unmarshal(b, &e)
	return e.Code + ": " + e.Message
}

func preflight(t *testing.T, url, origin, method, headers string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodOptions, url, nil)
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	req.Header.Set("Access-Control-Request-Method", method)
	if headers != "" {
		req.Header.Set("Access-Control-Request-Headers", headers)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// Bucket CORS with the Go SDK: the configuration round-trips, preflights
// are answered from the first rule that allows their origin, method and
// headers (and refused with S3's AccessForbidden otherwise), and actual
// requests that carry an Origin get the rule's headers.
func TestCORS(t *testing.T) {
	e := serve(t)
	c, ctx := e.c, context.Background()
	c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("web")})
	put(t, c, "web", "page.txt", "hello")
	obj := e.url + "/web/page.txt"
	if _, err := c.GetBucketCors(ctx, &s3.GetBucketCorsInput{Bucket: aws.String("web")}); code(err) != "NoSuchCORSConfiguration" {
		t.Fatalf("GetBucketCors of none: %v", err)
	}
	if resp := preflight(t, obj, "https://app.example.com", "PUT", ""); resp.StatusCode != 403 ||
		errorCode(t, resp) != "AccessForbidden: CORSResponse: CORS is not enabled for this bucket." {
		t.Fatalf("a preflight before any CORS: %d", resp.StatusCode)
	}
	rules := []types.CORSRule{
		{ID: aws.String("app"), AllowedOrigins: []string{"https://app.example.com"}, AllowedMethods: []string{"PUT", "POST"},
			AllowedHeaders: []string{"content-type", "x-amz-*"}, ExposeHeaders: []string{"ETag"}, MaxAgeSeconds: aws.Int32(600)},
		{AllowedOrigins: []string{"*"}, AllowedMethods: []string{"GET"}},
	}
	if _, err := c.PutBucketCors(ctx, &s3.PutBucketCorsInput{Bucket: aws.String("web"), CORSConfiguration: &types.CORSConfiguration{
		CORSRules: []types.CORSRule{{AllowedOrigins: []string{"*"}, AllowedMethods: []string{"PATCH"}}}}}); code(err) != "InvalidRequest" {
		t.Fatalf("a rule with PATCH: %v", err)
	}
	if _, err := c.PutBucketCors(ctx, &s3.PutBucketCorsInput{Bucket: aws.String("web"), CORSConfiguration: &types.CORSConfiguration{CORSRules: rules}}); err != nil {
		t.Fatal(err)
	}
	got, err := c.GetBucketCors(ctx, &s3.GetBucketCorsInput{Bucket: aws.String("web")})
	if err != nil || len(got.CORSRules) != 2 || aws.ToString(got.CORSRules[0].ID) != "app" || aws.ToInt32(got.CORSRules[0].MaxAgeSeconds) != 600 ||
		strings.Join(got.CORSRules[0].AllowedHeaders, ",") != "content-type,x-amz-*" || strings.Join(got.CORSRules[1].AllowedMethods, ",") != "GET" {
		t.Fatalf("GetBucketCors: %+v %v", got, err)
	}

	resp := preflight(t, obj, "https://app.example.com", "PUT", "Content-Type, X-Amz-Date")
	h := resp.Header
	if resp.StatusCode != 200 || h.Get("Access-Control-Allow-Origin") != "https://app.example.com" || h.Get("Access-Control-Allow-Credentials") != "true" ||
		h.Get("Access-Control-Allow-Methods") != "PUT, POST" || h.Get("Access-Control-Allow-Headers") != "content-type, x-amz-date" ||
		h.Get("Access-Control-Max-Age") != "600" || h.Get("Access-Control-Expose-Headers") != "ETag" {
		t.Fatalf("an allowed preflight: %d %v", resp.StatusCode, h)
	}
	if resp := preflight(t, obj, "https://app.example.com", "PUT", "x-custom"); resp.StatusCode != 403 || !strings.HasPrefix(errorCode(t, resp), "AccessForbidden: CORSResponse: This CORS request is not allowed.") {
		t.Fatalf("a header no rule allows: %d", resp.StatusCode)
	}
	if resp := preflight(t, obj, "https://other.example.org", "GET", ""); resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != "*" ||
		resp.Header.Get("Access-Control-Allow-Credentials") != "" {
		t.Fatalf("the wildcard rule: %d %v", resp.StatusCode, resp.Header)
	}
	if resp := preflight(t, obj, "https://other.example.org", "PUT", ""); resp.StatusCode != 403 {
		t.Fatalf("a method the origin's rule does not allow: %d", resp.StatusCode)
	}
	if resp := preflight(t, obj, "", "GET", ""); resp.StatusCode != 400 || errorCode(t, resp) != "BadRequest: Insufficient information. Origin request header needed." {
		t.Fatalf("a preflight without Origin: %d", resp.StatusCode)
	}
	if resp := preflight(t, e.url+"/nowhere/k", "https://app.example.com", "GET", ""); resp.StatusCode != 403 {
		t.Fatalf("a preflight on no bucket: %d", resp.StatusCode)
	}

	// an actual (presigned) GET: the rule's headers when it has an Origin
	ps, err := s3.NewPresignClient(c).PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("web"), Key: aws.String("page.txt")})
	if err != nil {
		t.Fatal(err)
	}
	for origin, want := range map[string]string{"https://other.example.org": "*", "": ""} {
		req, _ := http.NewRequest(http.MethodGet, ps.URL, nil)
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(b) != "hello" || resp.Header.Get("Access-Control-Allow-Origin") != want {
			t.Fatalf("GET with Origin %q: %d %q %v", origin, resp.StatusCode, b, resp.Header)
		}
	}

	// a request no rule allows (no rule has HEAD) gets no CORS headers,
	// but still says its answer varies with the Origin
	ph, err := s3.NewPresignClient(c).PresignHeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("web"), Key: aws.String("page.txt")})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodHead, ph.URL, nil)
	req.Header.Set("Origin", "https://app.example.com")
	hr, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	hr.Body.Close()
	if hr.StatusCode != 200 || hr.Header.Get("Access-Control-Allow-Origin") != "" || !strings.Contains(hr.Header.Get("Vary"), "Origin") {
		t.Fatalf("a HEAD no rule allows: %d %v", hr.StatusCode, hr.Header)
	}

	if _, err := c.DeleteBucketCors(ctx, &s3.DeleteBucketCorsInput{Bucket: aws.String("web")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetBucketCors(ctx, &s3.GetBucketCorsInput{Bucket: aws.String("web")}); code(err) != "NoSuchCORSConfiguration" {
		t.Fatalf("GetBucketCors after its delete: %v", err)
	}
	if resp := preflight(t, obj, "https://other.example.org", "GET", ""); resp.StatusCode != 403 {
		t.Fatalf("a preflight after DeleteBucketCors: %d", resp.StatusCode)
	}
}

// postForm sends a browser's multipart/form-data POST: fields, then the
// file (when file is not nil).
func postForm(t *testing.T, url string, fields map[string]string, filename string, file []byte, origin string) *http.Response {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	if file != nil {
		fw, _ := mw.CreateFormFile("file", filename)
		fw.Write(file)
	}
	mw.Close()
	req, _ := http.NewRequest(http.MethodPost, url, &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func with(fields map[string]string, kv ...string) map[string]string {
	out := map[string]string{}
	for k, v := range fields {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		for k := range out { // form field names are case-insensitive
			if strings.EqualFold(k, kv[i]) {
				delete(out, k)
			}
		}
		if kv[i+1] == "" {
			delete(out, kv[i])
		} else {
			out[kv[i]] = kv[i+1]
		}
	}
	return out
}

// field is a form's field named name, in any case.
func field(fields map[string]string, name string) string {
	for k, v := range fields {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// Browser POST uploads with forms the Go SDK's PresignPostObject signs:
// an upload the policy allows is stored (with ${filename}, its headers
// and its ObjectCreated:Post event) and answered as success_action_status
// or success_action_redirect say; one it does not allow (a field it does
// not name, a condition failed, a size out of range, a bad signature, an
// expired policy) stores nothing and gets S3's error.
func TestPostPolicy(t *testing.T) {
	e := serve(t)
	events := recordEvents(e, func(ev svc.ObjectEvent) string { return ev.Name + " " + ev.Key })
	c, ctx := e.c, context.Background()
	c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("drop")})
	c.PutBucketCors(ctx, &s3.PutBucketCorsInput{Bucket: aws.String("drop"), CORSConfiguration: &types.CORSConfiguration{
		CORSRules: []types.CORSRule{{AllowedOrigins: []string{"https://app.example.com"}, AllowedMethods: []string{"POST"}, ExposeHeaders: []string{"ETag"}}}}})
	post, err := s3.NewPresignClient(c).PresignPostObject(ctx, &s3.PutObjectInput{Bucket: aws.String("drop"), Key: aws.String("in/${filename}")},
		func(o *s3.PresignPostOptions) {
			o.Conditions = []any{
				[]any{"starts-with", "$Content-Type", "text/"},
				[]any{"content-length-range", 1, 100},
				[]any{"content-length-range", 0, 150}, // every range holds: 1 to 100
				[]any{"starts-with", "$x-amz-meta-owner", ""},
				map[string]string{"success_action_status": "201"},
			}
		})
	if err != nil {
		t.Fatal(err)
	}
	form := with(post.Values, "Content-Type", "text/plain", "x-amz-meta-owner", "ann", "success_action_status", "201")
	stored := func(key string) bool {
		_, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("drop"), Key: aws.String(key)})
		return err == nil
	}

	resp := postForm(t, post.URL, form, `C:\fakepath\note.txt`, []byte("hello post"), "https://app.example.com")
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var pr struct {
		Bucket, Key, ETag, Location string
	}
	xml.Unmarshal(b, &pr)
	if resp.StatusCode != 201 || pr.Bucket != "drop" || pr.Key != "in/note.txt" || pr.ETag == "" || pr.Location != e.url+"/drop/in/note.txt" ||
		resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example.com" {
		t.Fatalf("an allowed POST: %d %s %v", resp.StatusCode, b, resp.Header)
	}
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("drop"), Key: aws.String("in/note.txt")})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(out.Body)
	out.Body.Close()
	if string(got) != "hello post" || aws.ToString(out.ContentType) != "text/plain" || out.Metadata["owner"] != "ann" || aws.ToString(out.ETag) != pr.ETag {
		t.Fatalf("the POSTed object: %q %s %v %s", got, aws.ToString(out.ContentType), out.Metadata, aws.ToString(out.ETag))
	}

	refusals := []struct {
		what   string
		fields map[string]string
		file   []byte
		want   string
	}{
		{"a field the policy does not name", with(form, "x-amz-meta-other", "x"), []byte("x"), "AccessDenied: Invalid according to Policy: Extra input fields: x-amz-meta-other"},
		{"a failed condition", with(form, "Content-Type", "image/png"), []byte("x"), `AccessDenied: Invalid according to Policy: Policy Condition failed: ["starts-with", "$Content-Type", "text/"]`},
		{"a file too large", form, bytes.Repeat([]byte("x"), 101), "EntityTooLarge: Your proposed upload exceeds the maximum allowed size"},
		{"an empty file", form, []byte{}, "EntityTooSmall: Your proposed upload is smaller than the minimum allowed size"},
		{"no file", form, nil, "InvalidArgument: POST requires exactly one file upload per request."},
		{"no key", with(form, "key", ""), []byte("x"), "InvalidArgument: Bucket POST must contain a field named 'key'.  If it is specified, please check the order of the fields."},
		{"another secret's signature", with(form, "x-amz-signature", strings.Repeat("0", 64)), []byte("x"),
			"SignatureDoesNotMatch: The request signature we calculated does not match the signature you provided. Check your key and signing method."},
		{"an unknown key", with(form, "x-amz-credential", strings.Replace(field(form, "x-amz-credential"), "test/", "nobody/", 1)), []byte("x"),
			"InvalidAccessKeyId: The AWS Access Key Id you provided does not exist in our records."},
		{"no policy", with(form, "policy", ""), []byte("x"), "AccessDenied"},
	}
	for _, r := range refusals {
		resp := postForm(t, post.URL, r.fields, "bad.txt", r.file, "")
		if got := errorCode(t, resp); !strings.HasPrefix(got, r.want) {
			t.Errorf("%s: %d %s, want %s", r.what, resp.StatusCode, got, r.want)
		}
		if stored("in/bad.txt") {
			t.Fatalf("%s: stored", r.what)
		}
	}

	if got := errorCode(t, postForm(t, post.URL, form, "\xff.txt", []byte("x"), "")); got != "InvalidArgument: The key of a POST form must be UTF-8." {
		t.Fatalf("a file name that is not UTF-8: %s", got)
	}

	// an expired policy, signed as the SDK signs one
	sign := func(doc string) map[string]string {
		p := base64.StdEncoding.EncodeToString([]byte(doc))
		key := []byte("AWS4test")
		for _, s := range []string{field(post.Values, "x-amz-date")[:8], "us-east-1", "s3", "aws4_request"} {
			m := hmac.New(sha256.New, key)
			m.Write([]byte(s))
			key = m.Sum(nil)
		}
		m := hmac.New(sha256.New, key)
		m.Write([]byte(p))
		return with(post.Values, "policy", p, "x-amz-signature", hex.EncodeToString(m.Sum(nil)))
	}
	expired := `{"expiration":"` + time.Now().Add(-time.Minute).UTC().Format(time.RFC3339) + `","conditions":[{"bucket":"drop"},["starts-with","$key","in/"],` +
		`{"x-amz-algorithm":"AWS4-HMAC-SHA256"},{"x-amz-credential":"` + field(post.Values, "x-amz-credential") + `"},{"x-amz-date":"` + field(post.Values, "x-amz-date") + `"}]}`
	if got := errorCode(t, postForm(t, post.URL, sign(expired), "bad.txt", []byte("x"), "")); got != "AccessDenied: Invalid according to Policy: Policy expired." {
		t.Fatalf("an expired policy: %s", got)
	}
	if got := errorCode(t, postForm(t, post.URL, sign(`{"conditions":[]}`), "bad.txt", []byte("x"), "")); got != "InvalidPolicyDocument: Invalid Policy: Policy missing expiration." {
		t.Fatalf("a policy without expiration: %s", got)
	}

	// the default answer (204) and a redirect
	plain, err := s3.NewPresignClient(c).PresignPostObject(ctx, &s3.PutObjectInput{Bucket: aws.String("drop"), Key: aws.String("plain.bin")})
	if err != nil {
		t.Fatal(err)
	}
	resp = postForm(t, plain.URL, plain.Values, "x.bin", []byte("bytes"), "")
	resp.Body.Close()
	if resp.StatusCode != 204 || resp.Header.Get("Location") != e.url+"/drop/plain.bin" || resp.Header.Get("ETag") == "" || !stored("plain.bin") {
		t.Fatalf("a POST without success_action_status: %d %v", resp.StatusCode, resp.Header)
	}
	redir, err := s3.NewPresignClient(c).PresignPostObject(ctx, &s3.PutObjectInput{Bucket: aws.String("drop"), Key: aws.String("r.txt")},
		func(o *s3.PresignPostOptions) {
			o.Conditions = []any{map[string]string{"success_action_redirect": "https://app.example.com/done?x=1"}}
		})
	if err != nil {
		t.Fatal(err)
	}
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	var rb bytes.Buffer
	mw := multipart.NewWriter(&rb)
	for k, v := range with(redir.Values, "success_action_redirect", "https://app.example.com/done?x=1") {
		mw.WriteField(k, v)
	}
	fw, _ := mw.CreateFormFile("file", "r.txt")
	fw.Write([]byte("r"))
	mw.Close()
	req, _ := http.NewRequest(http.MethodPost, redir.URL, &rb)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err = noFollow.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != 303 || !strings.HasPrefix(loc, "https://app.example.com/done?") ||
		!strings.Contains(loc, "key=r.txt") || !strings.Contains(loc, "bucket=drop") || !strings.Contains(loc, "x=1") {
		t.Fatalf("success_action_redirect: %d %s", resp.StatusCode, loc)
	}

	if want := "ObjectCreated:Post in/note.txt,ObjectCreated:Post plain.bin,ObjectCreated:Post r.txt"; strings.Join(events(), ",") != want {
		t.Fatalf("events %v, want %s", events(), want)
	}
}

func FuzzParsePostPolicy(f *testing.F) {
	f.Add(`{"expiration":"2030-01-01T00:00:00Z","conditions":[{"bucket":"b"},["starts-with","$key","u/"],["content-length-range",1,10]]}`)
	f.Add(`{"expiration":"2030-01-01T00:00:00.000Z","conditions":[["eq","$acl","private"]]}`)
	f.Add(`{"conditions":[[]]}`)
	f.Fuzz(func(t *testing.T, doc string) {
		min, max, err := svc.ParsePostPolicy(base64.StdEncoding.EncodeToString([]byte(doc)))
		if err == nil && (min < 0 || max < -1 || max >= 0 && max < min) {
			t.Fatalf("accepted a range %d..%d", min, max)
		}
	})
}

func FuzzParseCORS(f *testing.F) {
	f.Add([]byte(`<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>`))
	f.Add([]byte(`<CORSConfiguration><CORSRule><AllowedOrigin>https://*.a.com</AllowedOrigin><AllowedMethod>PUT</AllowedMethod><AllowedHeader>*</AllowedHeader><MaxAgeSeconds>5</MaxAgeSeconds></CORSRule></CORSConfiguration>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		n, err := svc.ParseCORS(b)
		if err == nil && (n < 1 || n > 100) {
			t.Fatalf("accepted %d rules", n)
		}
	})
}

func FuzzReadPostForm(f *testing.F) {
	f.Add([]byte("--XX\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\nk\r\n--XX\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\"\r\n\r\nbody\r\n--XX--\r\n"))
	f.Add([]byte("--XX\r\nContent-Disposition: form-data; name=\"KEY\"\r\n\r\nk\r\n--XX--\r\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		fields, _, err := svc.ReadPostForm(body, "XX")
		if err != nil {
			return
		}
		size := 0
		for k, v := range fields {
			if k != strings.ToLower(k) {
				t.Fatalf("field %q kept its case", k)
			}
			size += len(k) + len(v)
		}
		if size > 64<<10 {
			t.Fatalf("read %d bytes of fields", size)
		}
	})
}

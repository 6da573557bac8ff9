package s3_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/cloudlet/cloudlet/internal/awsapi"
	svc "github.com/cloudlet/cloudlet/internal/s3"
	"github.com/cloudlet/cloudlet/internal/store"
)

type env struct {
	c     *s3.Client
	url   string
	blobs string
	svc   *svc.Service
}

func serve(t *testing.T) *env {
	t.Helper()
	dir := t.TempDir()
	st, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	blobDir := filepath.Join(dir, "s3")
	blobs, err := svc.NewDiskBlobs(blobDir)
	if err != nil {
		t.Fatal(err)
	}
	service := svc.New(st, blobs, "us-east-1", "000000000000", nil)
	ts := httptest.NewServer(awsapi.New(awsapi.Options{Services: map[string]awsapi.Service{"s3": service}}))
	t.Cleanup(func() { ts.Close(); st.Close() })
	c := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(ts.URL), UsePathStyle: true,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}, nil
		})})
	return &env{c: c, url: ts.URL, blobs: blobDir, svc: service}
}

// recordEvents makes e's service record each object event as line
// writes it ("" leaves it out); the answer is what was recorded so far.
func recordEvents(e *env, line func(svc.ObjectEvent) string) func() []string {
	var mu sync.Mutex
	var got []string
	e.svc.SetNotifier(func(tx *store.Tx, ev svc.ObjectEvent) (func(), error) {
		if l := line(ev); l != "" {
			mu.Lock()
			got = append(got, l)
			mu.Unlock()
		}
		return nil, nil
	})
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), got...)
	}
}

func code(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func get(t *testing.T, c *s3.Client, bucket, key string) string {
	t.Helper()
	out, err := c.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("GetObject %s/%s: %v", bucket, key, err)
	}
	defer out.Body.Close()
	b, _ := io.ReadAll(out.Body)
	return string(b)
}

// Buckets and objects with the AWS SDK for Go v2: create, head, list,
// locate, put with metadata, get whole and by range, conditional gets,
// copy, delete; S3's errors.
func TestBucketsAndObjects(t *testing.T) {
	e := serve(t)
	c, ctx := e.c, context.Background()
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("photos")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("Bad_Name")}); code(err) != "InvalidBucketName" {
		t.Fatalf("a bad bucket name: %v", err)
	}
	if _, err := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("photos")}); err != nil {
		t.Fatal(err)
	}
	var nf *types.NotFound
	if _, err := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("nope")}); !errors.As(err, &nf) {
		t.Fatalf("HeadBucket of none: %v", err)
	}
	lb, err := c.ListBuckets(ctx, &s3.ListBucketsInput{})
	if err != nil || len(lb.Buckets) != 1 || *lb.Buckets[0].Name != "photos" || lb.Buckets[0].CreationDate == nil {
		t.Fatalf("ListBuckets: %+v %v", lb, err)
	}
	loc, err := c.GetBucketLocation(ctx, &s3.GetBucketLocationInput{Bucket: aws.String("photos")})
	if err != nil || loc.LocationConstraint != "" {
		t.Fatalf("GetBucketLocation: %+v %v", loc, err)
	}

	body := "a picture, as text"
	put, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("photos"), Key: aws.String("cats/tom.txt"), Body: strings.NewReader(body),
		ContentType: aws.String("text/plain"), Metadata: map[string]string{"owner": "ann"}, CacheControl: aws.String("max-age=60")})
	if err != nil {
		t.Fatal(err)
	}
	sum := md5.Sum([]byte(body))
	if want := `"` + hexOf(sum[:]) + `"`; aws.ToString(put.ETag) != want {
		t.Fatalf("ETag %s, want %s", aws.ToString(put.ETag), want)
	}
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("photos"), Key: aws.String("cats/tom.txt")})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(out.Body)
	out.Body.Close()
	if string(b) != body || aws.ToString(out.ContentType) != "text/plain" || out.Metadata["owner"] != "ann" ||
		aws.ToString(out.CacheControl) != "max-age=60" || aws.ToInt64(out.ContentLength) != int64(len(body)) {
		t.Fatalf("GetObject: %q %+v", b, out)
	}
	rg, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("photos"), Key: aws.String("cats/tom.txt"), Range: aws.String("bytes=2-8")})
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(rg.Body)
	rg.Body.Close()
	if string(b) != body[2:9] || aws.ToString(rg.ContentRange) != "bytes 2-8/18" {
		t.Fatalf("a range: %q %s", b, aws.ToString(rg.ContentRange))
	}
	if _, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("photos"), Key: aws.String("cats/tom.txt"), Range: aws.String("bytes=100-")}); code(err) != "InvalidRange" {
		t.Fatalf("an unsatisfiable range: %v", err)
	}
	if _, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("photos"), Key: aws.String("cats/tom.txt"), IfMatch: aws.String(`"other"`)}); code(err) != "PreconditionFailed" {
		t.Fatalf("If-Match another ETag: %v", err)
	}
	_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("photos"), Key: aws.String("cats/tom.txt"), IfNoneMatch: put.ETag})
	var re interface{ HTTPStatusCode() int }
	if !errors.As(err, &re) || re.HTTPStatusCode() != 304 {
		t.Fatalf("If-None-Match its ETag: %v", err)
	}
	head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("photos"), Key: aws.String("cats/tom.txt")})
	if err != nil || aws.ToInt64(head.ContentLength) != int64(len(body)) || aws.ToString(head.ETag) != aws.ToString(put.ETag) {
		t.Fatalf("HeadObject: %+v %v", head, err)
	}
	var nsk *types.NoSuchKey
	if _, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("photos"), Key: aws.String("none")}); !errors.As(err, &nsk) {
		t.Fatalf("GetObject of none: %v", err)
	}
	if _, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("photos"), Key: aws.String("none")}); !errors.As(err, &nf) {
		t.Fatalf("HeadObject of none: %v", err)
	}
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("nope"), Key: aws.String("k"), Body: strings.NewReader("x")}); code(err) != "NoSuchBucket" {
		t.Fatalf("PutObject to no bucket: %v", err)
	}
	// a conditional write: only if the key holds nothing
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("photos"), Key: aws.String("cats/tom.txt"), Body: strings.NewReader("x"),
		IfNoneMatch: aws.String("*")}); code(err) != "PreconditionFailed" {
		t.Fatalf("If-None-Match * over an object: %v", err)
	}
	if get(t, c, "photos", "cats/tom.txt") != body {
		t.Fatal("a refused conditional write changed the object")
	}
	// Content-MD5 that is not the body's
	other := md5.Sum([]byte("other"))
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("photos"), Key: aws.String("bad"), Body: strings.NewReader("x"),
		ContentMD5: aws.String(base64.StdEncoding.EncodeToString(other[:]))}); code(err) != "BadDigest" {
		t.Fatalf("a wrong Content-MD5: %v", err)
	}
	if _, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("photos"), Key: aws.String("bad")}); !errors.As(err, &nf) {
		t.Fatalf("an object refused for its digest exists: %v", err)
	}
	// a checksum the SDK computes, kept and returned
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("photos"), Key: aws.String("sum"), Body: strings.NewReader("checked"),
		ChecksumAlgorithm: types.ChecksumAlgorithmCrc32}); err != nil {
		t.Fatal(err)
	}
	ck, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("photos"), Key: aws.String("sum"), ChecksumMode: types.ChecksumModeEnabled})
	if err != nil || aws.ToString(ck.ChecksumCRC32) == "" {
		t.Fatalf("the CRC32 kept: %+v %v", ck, err)
	}

	// copy: metadata copied, or replaced
	if _, err := c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("photos"), Key: aws.String("copy"), CopySource: aws.String("photos/cats/tom.txt")}); err != nil {
		t.Fatal(err)
	}
	h2, _ := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("photos"), Key: aws.String("copy")})
	if h2.Metadata["owner"] != "ann" || get(t, c, "photos", "copy") != body {
		t.Fatalf("a copy: %+v", h2)
	}
	if _, err := c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("photos"), Key: aws.String("copy"), CopySource: aws.String("photos/copy"),
		MetadataDirective: types.MetadataDirectiveReplace, Metadata: map[string]string{"owner": "bob"}, ContentType: aws.String("text/x")}); err != nil {
		t.Fatal(err)
	}
	h3, _ := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("photos"), Key: aws.String("copy")})
	if h3.Metadata["owner"] != "bob" || aws.ToString(h3.ContentType) != "text/x" {
		t.Fatalf("a copy replacing its metadata: %+v", h3)
	}
	if _, err := c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("photos"), Key: aws.String("copy"), CopySource: aws.String("photos/copy")}); code(err) != "InvalidRequest" {
		t.Fatalf("a copy onto itself: %v", err)
	}

	if _, err := c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("photos")}); code(err) != "BucketNotEmpty" {
		t.Fatalf("DeleteBucket of a full bucket: %v", err)
	}
	for _, k := range []string{"cats/tom.txt", "copy", "sum", "never-there"} {
		if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("photos"), Key: aws.String(k)}); err != nil {
			t.Fatalf("DeleteObject %s: %v", k, err)
		}
	}
	if _, err := c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("photos")}); err != nil {
		t.Fatal(err)
	}
	// the deleted bucket is gone at once for every operation, and a new one
	// of its name is there at once
	if _, err := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("photos")}); !errors.As(err, &nf) {
		t.Fatalf("HeadBucket after DeleteBucket: %v", err)
	}
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("photos"), Key: aws.String("k"), Body: strings.NewReader("x")}); code(err) != "NoSuchBucket" {
		t.Fatalf("PutObject after DeleteBucket: %v", err)
	}
	c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("photos")})
	if _, err := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("photos")}); err != nil {
		t.Fatalf("HeadBucket after CreateBucket again: %v", err)
	}
	c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("photos")})
	// every body is gone with its object
	if n := countBlobs(t, e.blobs); n != 0 {
		t.Fatalf("%d bodies left after every object was deleted", n)
	}
}

func hexOf(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, len(b)*2)
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}

func countBlobs(t *testing.T, dir string) int {
	n := 0
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return nil
	})
	return n
}

// Keys are any UTF-8 up to 1024 bytes: dot segments, doubled and
// encoded slashes, unicode and long keys are objects of their own, and
// none names a file (bodies live under random ids).
func TestKeys(t *testing.T) {
	e := serve(t)
	c, ctx := e.c, context.Background()
	c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("keys")})
	keys := []string{"../../escape", "a//b", "a/b", "a%2Fb", "ключ/файл ✓", "with space+plus", strings.Repeat("k", 1024), ".", "..", "x/../y", "?q=1#frag"}
	for i, k := range keys {
		if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("keys"), Key: aws.String(k), Body: strings.NewReader("v" + string(rune('0'+i)))}); err != nil {
			t.Fatalf("PutObject %q: %v", k, err)
		}
	}
	for i, k := range keys {
		if got := get(t, c, "keys", k); got != "v"+string(rune('0'+i)) {
			t.Fatalf("%q holds %q", k, got)
		}
	}
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("keys"), Key: aws.String(strings.Repeat("k", 1025)), Body: strings.NewReader("x")}); code(err) != "KeyTooLongError" {
		t.Fatalf("a key of 1025 bytes: %v", err)
	}
	var listed []string
	p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String("keys"), MaxKeys: aws.Int32(3)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range page.Contents {
			listed = append(listed, *o.Key)
		}
	}
	want := append([]string(nil), keys...)
	sort.Strings(want)
	if strings.Join(listed, "|") != strings.Join(want, "|") {
		t.Fatalf("listed\n%q\nwant\n%q", listed, want)
	}
	// nothing was written outside the blob directory, and no name there is a key's
	filepath.WalkDir(filepath.Dir(e.blobs), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.Contains(p, "escape") {
			t.Errorf("a file named after a key: %s", p)
		}
		return nil
	})
	if n := countBlobs(t, e.blobs); n != 0 {
		t.Fatalf("%d blobs for %d small objects (their bodies are kept with their metadata)", n, len(keys))
	}
	// a body over InlineMax is a blob of its own, named by no key
	large := strings.Repeat("L", svc.InlineMax+1)
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("keys"), Key: aws.String("../../large"), Body: strings.NewReader(large)}); err != nil {
		t.Fatal(err)
	}
	if n := countBlobs(t, e.blobs); n != 1 || get(t, c, "keys", "../../large") != large {
		t.Fatalf("%d blobs for one large object", n)
	}
}

// ListObjectsV2 and ListObjects: prefixes, delimiters and their common
// prefixes, start-after, pages.
func TestListings(t *testing.T) {
	e := serve(t)
	c, ctx := e.c, context.Background()
	c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("docs")})
	for _, k := range []string{"a", "a/1", "a/2", "a/b/3", "b/1", "c"} {
		c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("docs"), Key: aws.String(k), Body: strings.NewReader(k)})
	}
	out, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("docs"), Delimiter: aws.String("/")})
	if err != nil {
		t.Fatal(err)
	}
	var ks, ps []string
	for _, o := range out.Contents {
		ks = append(ks, *o.Key)
	}
	for _, p := range out.CommonPrefixes {
		ps = append(ps, *p.Prefix)
	}
	if strings.Join(ks, ",") != "a,c" || strings.Join(ps, ",") != "a/,b/" || aws.ToInt32(out.KeyCount) != 4 {
		t.Fatalf("delimited: %v %v %d", ks, ps, aws.ToInt32(out.KeyCount))
	}
	out, _ = c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("docs"), Prefix: aws.String("a/"), Delimiter: aws.String("/")})
	ks, ps = nil, nil
	for _, o := range out.Contents {
		ks = append(ks, *o.Key)
	}
	for _, p := range out.CommonPrefixes {
		ps = append(ps, *p.Prefix)
	}
	if strings.Join(ks, ",") != "a/1,a/2" || strings.Join(ps, ",") != "a/b/" {
		t.Fatalf("under a/: %v %v", ks, ps)
	}
	out, _ = c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("docs"), StartAfter: aws.String("a/2")})
	if len(out.Contents) != 3 || *out.Contents[0].Key != "a/b/3" {
		t.Fatalf("start-after: %+v", out.Contents)
	}
	// pages of one, through common prefixes: each once, and an end
	if seen := listedV2(t, c, &s3.ListObjectsV2Input{Bucket: aws.String("docs"), Delimiter: aws.String("/"), MaxKeys: aws.Int32(1)}); seen != "a,a/,b/,c" {
		t.Fatalf("paged through delimiters: %v", seen)
	}
	v1, err := c.ListObjects(ctx, &s3.ListObjectsInput{Bucket: aws.String("docs"), Prefix: aws.String("a"), MaxKeys: aws.Int32(2)})
	if err != nil || len(v1.Contents) != 2 || !aws.ToBool(v1.IsTruncated) {
		t.Fatalf("ListObjects: %+v %v", v1, err)
	}
	if _, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("none")}); code(err) != "NoSuchBucket" {
		t.Fatalf("listing no bucket: %v", err)
	}
}

// listedV2 pages through ListObjectsV2 from in: each page's keys, then
// its common prefixes, joined by commas.
func listedV2(t *testing.T, c *s3.Client, in *s3.ListObjectsV2Input) string {
	t.Helper()
	var got []string
	pg := s3.NewListObjectsV2Paginator(c, in)
	for pg.HasMorePages() && len(got) < 1000 {
		page, err := pg.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range page.Contents {
			got = append(got, *o.Key)
		}
		for _, p := range page.CommonPrefixes {
			got = append(got, *p.Prefix)
		}
	}
	return strings.Join(got, ",")
}

// A delimited listing goes past a common prefix's keys without reading
// them all: the object and version listings, whole and page by page,
// read far fewer rows than the prefix holds, and list the same.
func TestListingsSeekPastCommonPrefixes(t *testing.T) {
	e := serve(t)
	c, ctx := e.c, context.Background()
	c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("logs")})
	keys := []string{"a", "big0", "c/1", "c/2", "d"}
	for i := 0; i < 300; i++ {
		keys = append(keys, fmt.Sprintf("big/%04d", i))
	}
	keys = append(keys, "big/é")
	for _, k := range keys {
		if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("logs"), Key: aws.String(k), Body: strings.NewReader(k)}); err != nil {
			t.Fatal(err)
		}
	}
	rows := e.svc.ListRows()
	if got := listedV2(t, c, &s3.ListObjectsV2Input{Bucket: aws.String("logs"), Delimiter: aws.String("/")}); got != "a,big0,d,big/,c/" {
		t.Fatalf("delimited: %v", got)
	}
	if n := e.svc.ListRows() - rows; n >= 100 {
		t.Fatalf("the listing read %d rows for 306 keys, 301 of them under big/", n)
	}
	// page by page: the page after big/ starts past its keys
	rows = e.svc.ListRows()
	if got := listedV2(t, c, &s3.ListObjectsV2Input{Bucket: aws.String("logs"), Delimiter: aws.String("/"), MaxKeys: aws.Int32(1)}); got != "a,big/,big0,c/,d" {
		t.Fatalf("paged: %v", got)
	}
	if n := e.svc.ListRows() - rows; n >= 100 {
		t.Fatalf("the pages read %d rows", n)
	}
	v1, err := c.ListObjects(ctx, &s3.ListObjectsInput{Bucket: aws.String("logs"), Delimiter: aws.String("/"), Marker: aws.String("big/")})
	if err != nil || len(v1.Contents) != 2 || *v1.Contents[0].Key != "big0" || len(v1.CommonPrefixes) != 1 || *v1.CommonPrefixes[0].Prefix != "c/" {
		t.Fatalf("ListObjects after the marker big/: %+v %v", v1, err)
	}
	// the version listing, in a bucket with versioning: big/0007 has two
	c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String("logs"),
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled}})
	c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("logs"), Key: aws.String("big/0007"), Body: strings.NewReader("again")})
	rows = e.svc.ListRows()
	vs, err := c.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String("logs"), Delimiter: aws.String("/")})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, v := range vs.Versions {
		got = append(got, *v.Key)
	}
	for _, p := range vs.CommonPrefixes {
		got = append(got, *p.Prefix)
	}
	if strings.Join(got, ",") != "a,big0,d,big/,c/" {
		t.Fatalf("versions, delimited: %v", got)
	}
	if n := e.svc.ListRows() - rows; n >= 100 {
		t.Fatalf("the version listing read %d rows", n)
	}
	vs, err = c.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String("logs"), Delimiter: aws.String("/"), KeyMarker: aws.String("big/")})
	if err != nil || len(vs.Versions) != 2 || *vs.Versions[0].Key != "big0" || len(vs.CommonPrefixes) != 1 || *vs.CommonPrefixes[0].Prefix != "c/" {
		t.Fatalf("versions after the key marker big/: %+v %v", vs, err)
	}
}

// A presigned GET works until it expires; a presigned PUT stores its body.
func TestPresigned(t *testing.T) {
	e := serve(t)
	c, ctx := e.c, context.Background()
	c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("share")})
	ps := s3.NewPresignClient(c)
	up, err := ps.PresignPutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("share"), Key: aws.String("f.txt")})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPut, up.URL, bytes.NewReader([]byte("uploaded by URL")))
	for k, v := range up.SignedHeader {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("presigned PUT: %v %v", resp, err)
	}
	resp.Body.Close()
	down, err := ps.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("share"), Key: aws.String("f.txt")}, s3.WithPresignExpires(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	resp, err = http.Get(down.URL)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "uploaded by URL" {
		t.Fatalf("presigned GET: %d %s", resp.StatusCode, b)
	}
	// a header added to a presigned URL is refused: it was not signed
	c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("share"), Key: aws.String("secret"), Body: strings.NewReader("private")})
	up2, _ := ps.PresignPutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("share"), Key: aws.String("g.txt")})
	req, _ = http.NewRequest(http.MethodPut, up2.URL, bytes.NewReader(nil))
	for k, v := range up2.SignedHeader {
		req.Header[k] = v
	}
	req.Header.Set("x-amz-copy-source", "share/secret")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 403 || !strings.Contains(string(b), "not signed: x-amz-copy-source") {
		t.Fatalf("a presigned PUT with an unsigned x-amz-copy-source: %d %s", resp.StatusCode, b)
	}
	// a URL the SDK's signer signed two minutes ago, valid for one
	old, _ := http.NewRequest(http.MethodGet, e.url+"/share/f.txt?X-Amz-Expires=60", nil)
	expired, _, err := v4.NewSigner().PresignHTTP(ctx, aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}, old,
		"UNSIGNED-PAYLOAD", "s3", "us-east-1", time.Now().Add(-2*time.Minute), func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
	if err != nil {
		t.Fatal(err)
	}
	resp, _ = http.Get(expired)
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 403 || !strings.Contains(string(b), "<Code>AccessDenied</Code>") || !strings.Contains(string(b), "Request has expired") {
		t.Fatalf("an expired URL: %d %s", resp.StatusCode, b)
	}
}

// Sweep removes the bodies no object names and unfinished writes.
func TestSweep(t *testing.T) {
	e := serve(t)
	c, ctx := e.c, context.Background()
	c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("bkt")})
	c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String("kept"), Body: strings.NewReader("x")})
	orphan := filepath.Join(e.blobs, "ab", "ab000000000000000000000000000000")
	os.MkdirAll(filepath.Dir(orphan), 0o700)
	os.WriteFile(orphan, []byte("left by a crash"), 0o600)
	os.WriteFile(filepath.Join(e.blobs, "tmp", "half"), []byte("half an upload"), 0o600)
	n, err := e.svc.Sweep(ctx)
	if err != nil || n != 2 {
		t.Fatalf("Sweep: %d %v", n, err)
	}
	if get(t, c, "bkt", "kept") != "x" {
		t.Fatal("Sweep removed a live body")
	}
}

// DeleteObjects deletes many keys at once, quietly or not; a key that
// is not there counts as deleted, as on S3.
func TestDeleteObjects(t *testing.T) {
	e := serve(t)
	c, ctx := e.c, context.Background()
	c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("many")})
	for _, k := range []string{"a", "b", "c"} {
		c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("many"), Key: aws.String(k), Body: strings.NewReader(k)})
	}
	out, err := c.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String("many"), Delete: &types.Delete{
		Objects: []types.ObjectIdentifier{{Key: aws.String("a")}, {Key: aws.String("b")}, {Key: aws.String("never")}}}})
	if err != nil || len(out.Deleted) != 3 || len(out.Errors) != 0 {
		t.Fatalf("DeleteObjects: %+v %v", out, err)
	}
	l, _ := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("many")})
	if len(l.Contents) != 1 || *l.Contents[0].Key != "c" {
		t.Fatalf("left: %+v", l.Contents)
	}
	out, err = c.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String("many"), Delete: &types.Delete{Quiet: aws.Bool(true),
		Objects: []types.ObjectIdentifier{{Key: aws.String("c")}}}})
	if err != nil || len(out.Deleted) != 0 {
		t.Fatalf("a quiet DeleteObjects: %+v %v", out, err)
	}
	if n := countBlobs(t, e.blobs); n != 0 {
		t.Fatalf("%d bodies left", n)
	}
}

// DeleteObjects' body parser never panics and takes 1 to 1000 keys.
func FuzzParseDelete(f *testing.F) {
	f.Add([]byte(`<Delete><Object><Key>a</Key></Object><Quiet>true</Quiet></Delete>`))
	f.Add([]byte(`<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Object><Key>a&amp;b</Key><VersionId>1</VersionId></Object></Delete>`))
	f.Add([]byte(`<Other/>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, e := svc.ParseDelete(b)
		if e == nil && (len(d) == 0 || len(d) > 1000) {
			t.Fatalf("%d keys accepted", len(d))
		}
	})
}

// The notification configuration parser never panics; what it accepts
// has a target and events.
func FuzzParseNotifications(f *testing.F) {
	f.Add([]byte(`<NotificationConfiguration><QueueConfiguration><Id>a</Id><Queue>arn:aws:sqs:us-east-1:000000000000:q</Queue><Event>s3:ObjectCreated:*</Event><Filter><S3Key><FilterRule><Name>prefix</Name><Value>p/</Value></FilterRule></S3Key></Filter></QueueConfiguration></NotificationConfiguration>`))
	f.Add([]byte(`<NotificationConfiguration><CloudFunctionConfiguration><CloudFunction>arn:aws:lambda:us-east-1:000000000000:function:f</CloudFunction><Event>s3:ObjectRemoved:Delete</Event></CloudFunctionConfiguration></NotificationConfiguration>`))
	f.Add([]byte(`<NotificationConfiguration/>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		cs, err := svc.ParseNotifications(b)
		if err != nil {
			return
		}
		for _, c := range cs {
			if c.ARN == "" || len(c.Events) == 0 || c.ID == "" {
				t.Fatalf("accepted %+v", c)
			}
		}
	})
}

// ACLs as S3 has them by default (BucketOwnerEnforced): writes setting
// one other than bucket-owner-full-control are refused, PutObjectAcl is
// refused, GetObjectAcl answers the owner's FULL_CONTROL.
func TestACLs(t *testing.T) {
	e := serve(t)
	c, ctx := e.c, context.Background()
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("acl"), ACL: types.BucketCannedACLPublicRead}); code(err) != "InvalidBucketAclWithObjectOwnership" {
		t.Fatalf("a bucket created public: %v", err)
	}
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("acl"), ACL: types.BucketCannedACLPrivate}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("acl"), Key: aws.String("k"), Body: strings.NewReader("x"), ACL: types.ObjectCannedACLPublicRead}); code(err) != "AccessControlListNotSupported" {
		t.Fatalf("a public-read object: %v", err)
	}
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("acl"), Key: aws.String("k"), Body: strings.NewReader("x"), ACL: types.ObjectCannedACLBucketOwnerFullControl}); err != nil {
		t.Fatalf("bucket-owner-full-control: %v", err)
	}
	acl, err := c.GetObjectAcl(ctx, &s3.GetObjectAclInput{Bucket: aws.String("acl"), Key: aws.String("k")})
	if err != nil || len(acl.Grants) != 1 || acl.Grants[0].Permission != types.PermissionFullControl || aws.ToString(acl.Owner.ID) != "000000000000" {
		t.Fatalf("GetObjectAcl: %+v %v", acl, err)
	}
	if _, err := c.GetBucketAcl(ctx, &s3.GetBucketAclInput{Bucket: aws.String("acl")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutObjectAcl(ctx, &s3.PutObjectAclInput{Bucket: aws.String("acl"), Key: aws.String("k"), ACL: types.ObjectCannedACLPublicRead}); code(err) != "AccessControlListNotSupported" {
		t.Fatalf("PutObjectAcl: %v", err)
	}
}

// Object and bucket tags: set with a write's x-amz-tagging or on their
// own, read, replaced and removed, with S3's checks.
func TestTagging(t *testing.T) {
	e := serve(t)
	c, ctx := e.c, context.Background()
	c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("tags")})
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("tags"), Key: aws.String("k"), Body: strings.NewReader("x"), Tagging: aws.String("team=a&tier=gold")}); err != nil {
		t.Fatal(err)
	}
	h, _ := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("tags"), Key: aws.String("k")})
	g, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("tags"), Key: aws.String("k")})
	if err != nil || aws.ToInt32(g.TagCount) != 2 {
		t.Fatalf("the tag count: %v %v (head %v)", g, err, h)
	}
	g.Body.Close()
	got, err := c.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: aws.String("tags"), Key: aws.String("k")})
	if err != nil || len(got.TagSet) != 2 || *got.TagSet[0].Key != "team" || *got.TagSet[1].Value != "gold" {
		t.Fatalf("GetObjectTagging: %+v %v", got, err)
	}
	// a copy takes the source's tags, whatever its metadata directive,
	// unless its tagging directive is REPLACE
	tagsOf := func(key string) string {
		t.Helper()
		out, err := c.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: aws.String("tags"), Key: aws.String(key)})
		if err != nil {
			t.Fatal(err)
		}
		var kv []string
		for _, tag := range out.TagSet {
			kv = append(kv, aws.ToString(tag.Key)+"="+aws.ToString(tag.Value))
		}
		return strings.Join(kv, "&")
	}
	for _, cp := range []struct {
		key       string
		meta, tag types.MetadataDirective
		want      string
	}{{"copy", "", "", "team=a&tier=gold"}, {"meta-replaced", "REPLACE", "", "team=a&tier=gold"}, {"tags-replaced", "", "REPLACE", "new=1"}} {
		in := &s3.CopyObjectInput{Bucket: aws.String("tags"), Key: aws.String(cp.key), CopySource: aws.String("tags/k"),
			MetadataDirective: cp.meta, TaggingDirective: types.TaggingDirective(cp.tag), Tagging: aws.String("new=1")}
		if _, err := c.CopyObject(ctx, in); err != nil {
			t.Fatal(err)
		}
		if got := tagsOf(cp.key); got != cp.want {
			t.Fatalf("a copy (%s): tags %s, want %s", cp.key, got, cp.want)
		}
	}
	if _, err := c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("tags"), Key: aws.String("x"), CopySource: aws.String("tags/k"),
		TaggingDirective: "MERGE"}); code(err) != "InvalidArgument" {
		t.Fatalf("an unknown tagging directive: %v", err)
	}
	if _, err := c.PutObjectTagging(ctx, &s3.PutObjectTaggingInput{Bucket: aws.String("tags"), Key: aws.String("k"),
		Tagging: &types.Tagging{TagSet: []types.Tag{{Key: aws.String("x"), Value: aws.String("1")}, {Key: aws.String("x"), Value: aws.String("2")}}}}); code(err) != "InvalidTag" {
		t.Fatalf("a repeated key: %v", err)
	}
	if _, err := c.PutObjectTagging(ctx, &s3.PutObjectTaggingInput{Bucket: aws.String("tags"), Key: aws.String("k"),
		Tagging: &types.Tagging{TagSet: []types.Tag{{Key: aws.String("only"), Value: aws.String("one")}}}}); err != nil {
		t.Fatal(err)
	}
	got, _ = c.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: aws.String("tags"), Key: aws.String("k")})
	if len(got.TagSet) != 1 || *got.TagSet[0].Key != "only" {
		t.Fatalf("after PutObjectTagging: %+v", got.TagSet)
	}
	c.DeleteObjectTagging(ctx, &s3.DeleteObjectTaggingInput{Bucket: aws.String("tags"), Key: aws.String("k")})
	if got, _ = c.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: aws.String("tags"), Key: aws.String("k")}); len(got.TagSet) != 0 {
		t.Fatalf("after DeleteObjectTagging: %+v", got.TagSet)
	}
	if _, err := c.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: aws.String("tags"), Key: aws.String("none")}); code(err) != "NoSuchKey" {
		t.Fatalf("tags of no object: %v", err)
	}
	if _, err := c.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: aws.String("tags")}); code(err) != "NoSuchTagSet" {
		t.Fatalf("a bucket without tags: %v", err)
	}
	if _, err := c.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: aws.String("tags"), Tagging: &types.Tagging{TagSet: []types.Tag{{Key: aws.String("env"), Value: aws.String("dev")}}}}); err != nil {
		t.Fatal(err)
	}
	bt, err := c.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: aws.String("tags")})
	if err != nil || len(bt.TagSet) != 1 || *bt.TagSet[0].Value != "dev" {
		t.Fatalf("GetBucketTagging: %+v %v", bt, err)
	}
}

// The Tagging parser never panics; what it accepts has unique, non-empty keys.
func FuzzParseTagging(f *testing.F) {
	f.Add([]byte(`<Tagging><TagSet><Tag><Key>a</Key><Value>1</Value></Tag></TagSet></Tagging>`))
	f.Add([]byte(`<Tagging><TagSet><Tag><Key>a</Key></Tag><Tag><Key>a</Key></Tag></TagSet></Tagging>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		keys, err := svc.ParseTagging(b)
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, k := range keys {
			if k == "" || seen[k] {
				t.Fatalf("accepted keys %q", keys)
			}
			seen[k] = true
		}
	})
}

// Lifecycle rules: put, read back; Expire deletes the objects a rule
// says expired (its prefix only) and aborts old uploads.
func TestLifecycle(t *testing.T) {
	e := serve(t)
	events := recordEvents(e, func(ev svc.ObjectEvent) string {
		if !strings.HasPrefix(ev.Name, "Lifecycle") {
			return ""
		}
		return ev.Name + " " + ev.Key + " " + ev.PrincipalID
	})
	c, ctx := e.c, context.Background()
	c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("life")})
	for _, k := range []string{"logs/1", "logs/2", "keep/1"} {
		c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("life"), Key: aws.String(k), Body: strings.NewReader(strings.Repeat("x", svc.InlineMax+1))})
	}
	up, _ := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("life"), Key: aws.String("logs/big")})
	if _, err := c.GetBucketLifecycleConfiguration(ctx, &s3.GetBucketLifecycleConfigurationInput{Bucket: aws.String("life")}); code(err) != "NoSuchLifecycleConfiguration" {
		t.Fatalf("no lifecycle: %v", err)
	}
	if _, err := c.PutBucketLifecycleConfiguration(ctx, &s3.PutBucketLifecycleConfigurationInput{Bucket: aws.String("life"),
		LifecycleConfiguration: &types.BucketLifecycleConfiguration{Rules: []types.LifecycleRule{{
			ID: aws.String("logs"), Status: types.ExpirationStatusEnabled, Filter: &types.LifecycleRuleFilter{Prefix: aws.String("logs/")},
			Expiration:                     &types.LifecycleExpiration{Days: aws.Int32(30)},
			AbortIncompleteMultipartUpload: &types.AbortIncompleteMultipartUpload{DaysAfterInitiation: aws.Int32(7)},
		}}}}); err != nil {
		t.Fatal(err)
	}
	got, err := c.GetBucketLifecycleConfiguration(ctx, &s3.GetBucketLifecycleConfigurationInput{Bucket: aws.String("life")})
	if err != nil || len(got.Rules) != 1 || aws.ToInt32(got.Rules[0].Expiration.Days) != 30 || aws.ToString(got.Rules[0].Filter.Prefix) != "logs/" {
		t.Fatalf("GetBucketLifecycleConfiguration: %+v %v", got, err)
	}
	if n, err := e.svc.Expire(ctx, time.Now()); err != nil || n != 0 {
		t.Fatalf("Expire today: %d %v", n, err)
	}
	if n, err := e.svc.Expire(ctx, time.Now().Add(31*24*time.Hour)); err != nil || n != 3 { // two objects, one upload
		t.Fatalf("Expire in 31 days: %d %v", n, err)
	}
	l, _ := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("life")})
	if len(l.Contents) != 1 || *l.Contents[0].Key != "keep/1" {
		t.Fatalf("left: %+v", l.Contents)
	}
	if _, err := c.ListParts(ctx, &s3.ListPartsInput{Bucket: aws.String("life"), Key: aws.String("logs/big"), UploadId: up.UploadId}); code(err) != "NoSuchUpload" {
		t.Fatalf("the old upload: %v", err)
	}
	if n := countBlobs(t, e.blobs); n != 1 {
		t.Fatalf("%d bodies for one object", n)
	}
	got2 := events()
	sort.Strings(got2)
	if w := "LifecycleExpiration:Delete logs/1 s3.amazonaws.com,LifecycleExpiration:Delete logs/2 s3.amazonaws.com"; strings.Join(got2, ",") != w {
		t.Fatalf("events %v, want %s", got2, w)
	}
}

// The lifecycle parser never panics; what it accepts has positive days.
func FuzzParseLifecycle(f *testing.F) {
	f.Add([]byte(`<LifecycleConfiguration><Rule><ID>a</ID><Filter><Prefix>p/</Prefix></Filter><Status>Enabled</Status><Expiration><Days>3</Days></Expiration></Rule></LifecycleConfiguration>`))
	f.Add([]byte(`<LifecycleConfiguration><Rule><Status>Disabled</Status><Expiration><Date>2027-01-01T00:00:00Z</Date></Expiration></Rule></LifecycleConfiguration>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		rules, err := svc.ParseLifecycle(b)
		if err != nil {
			return
		}
		for _, r := range rules {
			if r.Days < 0 || r.AbortAfter < 0 {
				t.Fatalf("accepted %+v", r)
			}
		}
	})
}

// A body whose disk writes fail ends in the server's error (500, not
// the client's IncompleteBody), whether the failure shows in a Write or
// at Commit, and leaves no file behind.
func TestBlobWriteFailure(t *testing.T) {
	dir := t.TempDir()
	blobs, err := svc.NewDiskBlobs(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{10 << 20, 100 << 10} { // many chunks; less than one
		err, servers := svc.BrokenBlobWrite(blobs, n)
		if err == nil || (n > 1<<20 && !servers) {
			t.Fatalf("%d bytes to a broken file: %v (the server's: %v)", n, err, servers)
		}
	}
	if n := countBlobs(t, dir); n != 0 {
		t.Fatalf("%d files left", n)
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "tmp"))
	if len(entries) != 0 {
		t.Fatalf("%d unfinished writes left", len(entries))
	}
}

// A deploy's bucket declarations are checked as S3 checks them before
// any is applied; CloudFormation's integers may be strings.
func TestCheckBuckets(t *testing.T) {
	e := serve(t)
	ctx := context.Background()
	rule := func(methods ...any) map[string]any {
		return map[string]any{"CorsConfiguration": map[string]any{"CorsRules": []any{
			map[string]any{"AllowedMethods": methods, "AllowedOrigins": []any{"*"}, "MaxAge": "3000"}}}}
	}
	if _, err := svc.CheckBuckets([]svc.BucketSpec{{Name: "fine-bucket"}, {Name: "bad-cors", Properties: rule("PATCH")}}); err == nil ||
		!strings.Contains(err.Error(), "Unsupported method is PATCH") {
		t.Fatalf("a CORS rule with PATCH: %v", err)
	}
	if _, err := svc.CheckBuckets([]svc.BucketSpec{{Name: "no-methods", Properties: rule()}}); err == nil || !strings.Contains(err.Error(), "each with AllowedMethods and AllowedOrigins") {
		t.Fatalf("a CORS rule without methods: %v", err)
	}
	if _, err := svc.CheckBuckets([]svc.BucketSpec{{Name: "v-bucket", Properties: map[string]any{
		"VersioningConfiguration": map[string]any{"Status": "On"}}}}); err == nil || !strings.Contains(err.Error(), "Enabled or Suspended") {
		t.Fatalf("a versioning status S3 does not know: %v", err)
	}
	plan, err := svc.CheckBuckets([]svc.BucketSpec{{Name: "site-bucket", Properties: rule("GET")}})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.ApplyBuckets(ctx, plan); err != nil {
		t.Fatal(err)
	}
	got, err := e.c.GetBucketCors(ctx, &s3.GetBucketCorsInput{Bucket: aws.String("site-bucket")})
	if err != nil || len(got.CORSRules) != 1 || aws.ToInt32(got.CORSRules[0].MaxAgeSeconds) != 3000 {
		t.Fatalf("the applied rule: %+v %v", got, err)
	}
	// a later deploy that declares no CORS removes the deploy's; rules set
	// through the API stay
	plan, _ = svc.CheckBuckets([]svc.BucketSpec{{Name: "site-bucket"}})
	e.svc.ApplyBuckets(ctx, plan)
	if _, err := e.c.GetBucketCors(ctx, &s3.GetBucketCorsInput{Bucket: aws.String("site-bucket")}); code(err) != "NoSuchCORSConfiguration" {
		t.Fatalf("CORS after a deploy that no longer declares it: %v", err)
	}
	e.c.PutBucketCors(ctx, &s3.PutBucketCorsInput{Bucket: aws.String("site-bucket"), CORSConfiguration: &types.CORSConfiguration{
		CORSRules: []types.CORSRule{{AllowedOrigins: []string{"*"}, AllowedMethods: []string{"PUT"}}}}})
	e.svc.ApplyBuckets(ctx, plan)
	if got, err := e.c.GetBucketCors(ctx, &s3.GetBucketCorsInput{Bucket: aws.String("site-bucket")}); err != nil || got.CORSRules[0].AllowedMethods[0] != "PUT" {
		t.Fatalf("CORS set through the API, after a deploy that declares none: %+v %v", got, err)
	}
}

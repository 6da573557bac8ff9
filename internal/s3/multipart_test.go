package s3_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"io"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	tm "github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	svc "github.com/cloudlet/cloudlet/internal/s3"
)

// A multipart upload by the SDK's transfer manager (parts of 5 MiB,
// several at once) makes one object of its parts, with S3's md5-N ETag;
// the low-level calls answer as S3 does: parts listed, wrong parts and
// small parts refused, an abort drops the parts, UploadPartCopy takes a
// range of another object.
func TestMultipartUpload(t *testing.T) {
	e := serve(t)
	c, ctx := e.c, context.Background()
	c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("big")})
	data := make([]byte, 17<<20+123)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	up := tm.New(c, func(o *tm.Options) { o.PartSizeBytes = 5 << 20; o.MultipartUploadThreshold = 5 << 20 })
	out, err := up.UploadObject(ctx, &tm.UploadObjectInput{Bucket: aws.String("big"), Key: aws.String("blob.bin"), Body: bytes.NewReader(data)})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(strings.Trim(aws.ToString(out.ETag), `"`), "-4") {
		t.Fatalf("the ETag of 4 parts: %s", aws.ToString(out.ETag))
	}
	got, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("big"), Key: aws.String("blob.bin")})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(got.Body)
	got.Body.Close()
	if !bytes.Equal(b, data) {
		t.Fatalf("the object is not its parts: %d bytes of %d", len(b), len(data))
	}

	// the low-level calls
	cu, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("big"), Key: aws.String("manual"), ContentType: aws.String("text/plain")})
	if err != nil {
		t.Fatal(err)
	}
	id := cu.UploadId
	p1, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("big"), Key: aws.String("manual"), UploadId: id, PartNumber: aws.Int32(1), Body: bytes.NewReader(data[:5<<20])})
	if err != nil {
		t.Fatal(err)
	}
	p2, err := c.UploadPartCopy(ctx, &s3.UploadPartCopyInput{Bucket: aws.String("big"), Key: aws.String("manual"), UploadId: id, PartNumber: aws.Int32(2),
		CopySource: aws.String("big/blob.bin"), CopySourceRange: aws.String("bytes=100-199")})
	if err != nil {
		t.Fatal(err)
	}
	lp, err := c.ListParts(ctx, &s3.ListPartsInput{Bucket: aws.String("big"), Key: aws.String("manual"), UploadId: id})
	if err != nil || len(lp.Parts) != 2 || aws.ToInt64(lp.Parts[1].Size) != 100 {
		t.Fatalf("ListParts: %+v %v", lp, err)
	}
	lu, err := c.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String("big")})
	if err != nil || len(lu.Uploads) != 1 || aws.ToString(lu.Uploads[0].UploadId) != aws.ToString(id) {
		t.Fatalf("ListMultipartUploads: %+v %v", lu, err)
	}
	complete := func(parts ...types.CompletedPart) error {
		_, err := c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("big"), Key: aws.String("manual"), UploadId: id,
			MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}})
		return err
	}
	if err := complete(types.CompletedPart{PartNumber: aws.Int32(1), ETag: aws.String(`"0000"`)}); code(err) != "InvalidPart" {
		t.Fatalf("a part that is not there: %v", err)
	}
	if err := complete(types.CompletedPart{PartNumber: aws.Int32(2), ETag: p2.CopyPartResult.ETag}, types.CompletedPart{PartNumber: aws.Int32(1), ETag: p1.ETag}); code(err) != "InvalidPartOrder" {
		t.Fatalf("parts out of order: %v", err)
	}
	if err := complete(types.CompletedPart{PartNumber: aws.Int32(1), ETag: p1.ETag}, types.CompletedPart{PartNumber: aws.Int32(2), ETag: p2.CopyPartResult.ETag}); err != nil {
		t.Fatal(err)
	}
	h, _ := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("big"), Key: aws.String("manual")})
	if aws.ToInt64(h.ContentLength) != 5<<20+100 || aws.ToString(h.ContentType) != "text/plain" {
		t.Fatalf("the completed object: %+v", h)
	}
	want := md5.New()
	for _, p := range [][]byte{data[:5<<20], data[100:200]} {
		s := md5.Sum(p)
		want.Write(s[:])
	}
	if et := strings.Trim(aws.ToString(h.ETag), `"`); et != hexOf(want.Sum(nil))+"-2" {
		t.Fatalf("ETag %s", et)
	}
	if _, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("big"), Key: aws.String("manual"), UploadId: id, PartNumber: aws.Int32(3), Body: strings.NewReader("x")}); code(err) != "NoSuchUpload" {
		t.Fatalf("a part of a completed upload: %v", err)
	}
	// a small part that is not the last, and an abort
	cu2, _ := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("big"), Key: aws.String("small")})
	a, _ := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("big"), Key: aws.String("small"), UploadId: cu2.UploadId, PartNumber: aws.Int32(1), Body: strings.NewReader("tiny")})
	bb, _ := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("big"), Key: aws.String("small"), UploadId: cu2.UploadId, PartNumber: aws.Int32(2), Body: strings.NewReader("tiny")})
	_, err = c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("big"), Key: aws.String("small"), UploadId: cu2.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{{PartNumber: aws.Int32(1), ETag: a.ETag}, {PartNumber: aws.Int32(2), ETag: bb.ETag}}}})
	if code(err) != "EntityTooSmall" {
		t.Fatalf("a small first part: %v", err)
	}
	if _, err := c.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String("big"), Key: aws.String("small"), UploadId: cu2.UploadId}); err != nil {
		t.Fatal(err)
	}
	if n := countBlobs(t, e.blobs); n != 2 {
		t.Fatalf("%d bodies for 2 objects: parts outlived their uploads", n)
	}
	// a part whose Content-MD5 is not its body's
	other := md5.Sum([]byte("other"))
	cu3, _ := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("big"), Key: aws.String("left")})
	if _, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("big"), Key: aws.String("left"), UploadId: cu3.UploadId, PartNumber: aws.Int32(1),
		Body: strings.NewReader("part"), ContentMD5: aws.String(base64.StdEncoding.EncodeToString(other[:]))}); code(err) != "BadDigest" {
		t.Fatalf("a part with a wrong Content-MD5: %v", err)
	}
	// a bucket deleted with an unfinished upload takes it along
	c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("gone")})
	cu4, _ := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("gone"), Key: aws.String("k")})
	c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("gone"), Key: aws.String("k"), UploadId: cu4.UploadId, PartNumber: aws.Int32(1), Body: strings.NewReader("p")})
	if _, err := c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("gone")}); err != nil {
		t.Fatal(err)
	}
	c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("gone")})
	if lu, _ := c.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String("gone")}); len(lu.Uploads) != 0 {
		t.Fatalf("a recreated bucket shows the old uploads: %+v", lu.Uploads)
	}
	if n := countBlobs(t, e.blobs); n != 2 {
		t.Fatalf("%d bodies: the deleted bucket's parts were left", n)
	}
}

// CompleteMultipartUpload's body parser never panics and accepts only
// parts in ascending order.
func FuzzParseComplete(f *testing.F) {
	f.Add([]byte(`<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>"a"</ETag></Part><Part><PartNumber>2</PartNumber><ETag>"b"</ETag></Part></CompleteMultipartUpload>`))
	f.Add([]byte(`<CompleteMultipartUpload><Part><PartNumber>2</PartNumber></Part><Part><PartNumber>1</PartNumber></Part></CompleteMultipartUpload>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		ns, err := svc.ParseComplete(b)
		if err != nil {
			return
		}
		for i := 1; i < len(ns); i++ {
			if ns[i] <= ns[i-1] {
				t.Fatalf("parts out of order accepted: %v", ns)
			}
		}
	})
}

// A Range header gives a range within the object, or none, or 416; never
// one beyond it.
func FuzzParseRange(f *testing.F) {
	for _, s := range []string{"bytes=0-9", "bytes=5-", "bytes=-3", "bytes=10-5", "bytes=0-0,2-3", "bytes=-0", "items=1-2"} {
		f.Add(s, int64(10))
	}
	f.Fuzz(func(t *testing.T, h string, size int64) {
		if size < 0 {
			return
		}
		start, end, ok, _ := svc.ParseRange(h, size)
		if ok && (start < 0 || end < start || end >= size) {
			t.Fatalf("%q of %d: %d-%d", h, size, start, end)
		}
	})
}

// ListMultipartUploads pages: every page size from 1 to 4, with and
// without a delimiter, gives the whole listing once, in order, and two
// uploads of one key are told apart by the upload-id-marker.
func TestListMultipartUploadsPages(t *testing.T) {
	e := serve(t)
	c, ctx := e.c, context.Background()
	c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("ups")})
	for _, k := range []string{"a/1", "a/1", "a/2", "b", "c/x", "d"} {
		if _, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("ups"), Key: aws.String(k)}); err != nil {
			t.Fatal(err)
		}
	}
	list := func(delim string, max int32) []string {
		var got []string
		in := &s3.ListMultipartUploadsInput{Bucket: aws.String("ups")}
		if delim != "" {
			in.Delimiter = aws.String(delim)
		}
		if max > 0 {
			in.MaxUploads = aws.Int32(max)
		}
		for range 20 {
			out, err := c.ListMultipartUploads(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			if max > 0 && len(out.Uploads)+len(out.CommonPrefixes) > int(max) {
				t.Fatalf("a page of %d holds %d", max, len(out.Uploads)+len(out.CommonPrefixes))
			}
			for _, u := range out.Uploads {
				got = append(got, aws.ToString(u.Key))
			}
			for _, p := range out.CommonPrefixes {
				got = append(got, aws.ToString(p.Prefix))
			}
			if !aws.ToBool(out.IsTruncated) {
				return got
			}
			in.KeyMarker, in.UploadIdMarker = out.NextKeyMarker, out.NextUploadIdMarker
		}
		t.Fatal("the listing never ended")
		return nil
	}
	for _, delim := range []string{"", "/"} {
		want := "a/1 a/1 a/2 b c/x d"
		if delim == "/" {
			want = "b d a/ c/" // a page's uploads, then its prefixes
		}
		if got := strings.Join(list(delim, 0), " "); got != want {
			t.Fatalf("delimiter %q: %s, want %s", delim, got, want)
		}
		for max := int32(1); max <= 4; max++ {
			got := list(delim, max)
			sort.Strings(got)
			w := strings.Fields(want)
			sort.Strings(w)
			if strings.Join(got, " ") != strings.Join(w, " ") {
				t.Fatalf("delimiter %q, pages of %d: %v, want %v", delim, max, got, w)
			}
		}
	}
	if _, err := c.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String("ups"), MaxUploads: aws.Int32(-1)}); code(err) != "InvalidArgument" {
		t.Fatalf("max-uploads -1: %v", err)
	}
	if out, err := c.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String("ups"), MaxUploads: aws.Int32(0)}); err != nil ||
		len(out.Uploads) != 0 || aws.ToBool(out.IsTruncated) {
		t.Fatalf("max-uploads 0: %+v %v", out, err)
	}
	// the upload a page ended on is aborted before the next page: the
	// other upload of its key is still listed
	first, err := c.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String("ups"), MaxUploads: aws.Int32(1)})
	if err != nil || len(first.Uploads) != 1 || aws.ToString(first.Uploads[0].Key) != "a/1" {
		t.Fatalf("the first page: %+v %v", first, err)
	}
	c.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String("ups"), Key: aws.String("a/1"), UploadId: first.Uploads[0].UploadId})
	next, err := c.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String("ups"), MaxUploads: aws.Int32(1),
		KeyMarker: first.NextKeyMarker, UploadIdMarker: first.NextUploadIdMarker})
	if err != nil || len(next.Uploads) != 1 || aws.ToString(next.Uploads[0].Key) != "a/1" || aws.ToString(next.Uploads[0].UploadId) == aws.ToString(first.Uploads[0].UploadId) {
		t.Fatalf("the page after an aborted marker: %+v %v", next, err)
	}
}

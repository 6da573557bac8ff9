package s3_test

import (
	"context"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	svc "github.com/cloudlet/cloudlet/internal/s3"
)

func put(t *testing.T, c *s3.Client, bucket, key, body string) *s3.PutObjectOutput {
	t.Helper()
	out, err := c.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader(body)})
	if err != nil {
		t.Fatalf("PutObject %s/%s: %v", bucket, key, err)
	}
	return out
}

func getVersion(t *testing.T, c *s3.Client, bucket, key, version string) (string, error) {
	t.Helper()
	out, err := c.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), VersionId: aws.String(version)})
	if err != nil {
		return "", err
	}
	defer out.Body.Close()
	b, _ := io.ReadAll(out.Body)
	if aws.ToString(out.VersionId) != version {
		t.Fatalf("GetObject of version %s answered version %s", version, aws.ToString(out.VersionId))
	}
	return string(b), nil
}

// versions lists bucket's versions and delete markers under prefix, as
// "key version latest" and "key marker:version latest", paging by pageSize.
func versions(t *testing.T, c *s3.Client, bucket, prefix string, pageSize int32) []string {
	t.Helper()
	var out []string
	in := &s3.ListObjectVersionsInput{Bucket: aws.String(bucket), Prefix: aws.String(prefix), MaxKeys: aws.Int32(pageSize)}
	for page := 0; ; page++ {
		if page > 100 {
			t.Fatal("ListObjectVersions never ended")
		}
		res, err := c.ListObjectVersions(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		// the answer interleaves Version and DeleteMarker in order; the
		// SDK splits them, so merge them back by key and time
		type entry struct {
			key, s string
			at     time.Time
		}
		var all []entry
		for _, v := range res.Versions {
			l := ""
			if aws.ToBool(v.IsLatest) {
				l = " latest"
			}
			all = append(all, entry{aws.ToString(v.Key), aws.ToString(v.Key) + " " + aws.ToString(v.VersionId) + l, aws.ToTime(v.LastModified)})
		}
		for _, m := range res.DeleteMarkers {
			l := ""
			if aws.ToBool(m.IsLatest) {
				l = " latest"
			}
			all = append(all, entry{aws.ToString(m.Key), aws.ToString(m.Key) + " marker:" + aws.ToString(m.VersionId) + l, aws.ToTime(m.LastModified)})
		}
		for len(all) > 0 { // by key, then newest first (stable for equal times: versions came first)
			best := 0
			for i, e := range all {
				if e.key < all[best].key || e.key == all[best].key && e.at.After(all[best].at) {
					best = i
				}
			}
			out = append(out, all[best].s)
			all = append(all[:best], all[best+1:]...)
		}
		if !aws.ToBool(res.IsTruncated) {
			return out
		}
		in.KeyMarker, in.VersionIdMarker = res.NextKeyMarker, res.NextVersionIdMarker
	}
}

// Versioning with the Go SDK: writes keep the versions before them, a
// delete adds a delete marker, versions are read, copied and deleted by
// id, and the null version behaves as S3's does when versioning is
// suspended.
func TestVersioning(t *testing.T) {
	e := serve(t)
	c, ctx := e.c, context.Background()
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("docs")}); err != nil {
		t.Fatal(err)
	}
	got, err := c.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: aws.String("docs")})
	if err != nil || got.Status != "" {
		t.Fatalf("a new bucket's versioning: %v %q", err, got.Status)
	}
	// written before versioning: the null version
	if out := put(t, c, "docs", "a.txt", "zero"); out.VersionId != nil {
		t.Fatalf("an unversioned bucket answered version %q", *out.VersionId)
	}
	if _, err := c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String("docs"),
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled}}); err != nil {
		t.Fatal(err)
	}
	if got, _ := c.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: aws.String("docs")}); got.Status != types.BucketVersioningStatusEnabled {
		t.Fatalf("versioning after Enabled: %q", got.Status)
	}
	v1 := aws.ToString(put(t, c, "docs", "a.txt", "one").VersionId)
	v2 := aws.ToString(put(t, c, "docs", "a.txt", "two").VersionId)
	if len(v1) != 32 || len(v2) != 32 || v1 == v2 {
		t.Fatalf("version ids %q %q", v1, v2)
	}
	if s := get(t, c, "docs", "a.txt"); s != "two" {
		t.Fatalf("the current version holds %q", s)
	}
	for v, want := range map[string]string{v1: "one", v2: "two", "null": "zero"} {
		if s, err := getVersion(t, c, "docs", "a.txt", v); err != nil || s != want {
			t.Fatalf("version %s: %q %v", v, s, err)
		}
	}
	if _, err := getVersion(t, c, "docs", "a.txt", strings.Repeat("x", 32)); code(err) != "NoSuchVersion" {
		t.Fatalf("an unknown version: %v", err)
	}
	if _, err := getVersion(t, c, "docs", "a.txt", "bad"); code(err) != "InvalidArgument" {
		t.Fatalf("a malformed version id: %v", err)
	}
	head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("docs"), Key: aws.String("a.txt"), VersionId: aws.String(v1)})
	if err != nil || aws.ToInt64(head.ContentLength) != 3 || aws.ToString(head.VersionId) != v1 {
		t.Fatalf("HeadObject of v1: %v", err)
	}

	// a delete adds a marker: the key is gone, its versions are not
	del, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("docs"), Key: aws.String("a.txt")})
	if err != nil || !aws.ToBool(del.DeleteMarker) || len(aws.ToString(del.VersionId)) != 32 {
		t.Fatalf("DeleteObject in a versioned bucket: %v %+v", err, del)
	}
	marker := aws.ToString(del.VersionId)
	if _, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("docs"), Key: aws.String("a.txt")}); code(err) != "NoSuchKey" {
		t.Fatalf("GetObject behind a delete marker: %v", err)
	}
	if _, err := getVersion(t, c, "docs", "a.txt", marker); code(err) != "MethodNotAllowed" {
		t.Fatalf("GetObject of a delete marker: %v", err)
	}
	if s, err := getVersion(t, c, "docs", "a.txt", v2); err != nil || s != "two" {
		t.Fatalf("v2 behind the marker: %q %v", s, err)
	}
	list, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("docs")})
	if err != nil || len(list.Contents) != 0 {
		t.Fatalf("ListObjectsV2 lists a deleted key: %v %d", err, len(list.Contents))
	}
	want := []string{"a.txt marker:" + marker + " latest", "a.txt " + v2, "a.txt " + v1, "a.txt null"}
	for _, size := range []int32{1000, 1, 2, 3} { // every page boundary
		if got := versions(t, c, "docs", "", size); strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("versions by pages of %d:\n%s\nwant\n%s", size, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
	// CopyObject from an old version
	cp, err := c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("docs"), Key: aws.String("b.txt"), CopySource: aws.String("docs/a.txt?versionId=" + v1)})
	if err != nil || aws.ToString(cp.CopySourceVersionId) != v1 || len(aws.ToString(cp.VersionId)) != 32 {
		t.Fatalf("CopyObject from v1: %v %+v", err, cp)
	}
	if s := get(t, c, "docs", "b.txt"); s != "one" {
		t.Fatalf("the copy of v1 holds %q", s)
	}

	// deleting the marker by id brings v2 back
	del, err = c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("docs"), Key: aws.String("a.txt"), VersionId: aws.String(marker)})
	if err != nil || !aws.ToBool(del.DeleteMarker) || aws.ToString(del.VersionId) != marker {
		t.Fatalf("DeleteObject of the marker: %v %+v", err, del)
	}
	if s := get(t, c, "docs", "a.txt"); s != "two" {
		t.Fatalf("after the marker went, the key holds %q", s)
	}
	// deleting the current version by id makes the one before it current
	if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("docs"), Key: aws.String("a.txt"), VersionId: aws.String(v2)}); err != nil {
		t.Fatal(err)
	}
	if s := get(t, c, "docs", "a.txt"); s != "one" {
		t.Fatalf("after v2 went, the key holds %q", s)
	}
	if _, err := getVersion(t, c, "docs", "a.txt", v2); code(err) != "NoSuchVersion" {
		t.Fatalf("a deleted version: %v", err)
	}

	// suspended: writes replace the null version, wherever it is
	if _, err := c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String("docs"),
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusSuspended}}); err != nil {
		t.Fatal(err)
	}
	if out := put(t, c, "docs", "a.txt", "three"); aws.ToString(out.VersionId) != "null" {
		t.Fatalf("a write while suspended answered version %q", aws.ToString(out.VersionId))
	}
	put(t, c, "docs", "a.txt", "four")
	want = []string{"a.txt null latest", "a.txt " + v1}
	if got := versions(t, c, "docs", "a.txt", 1000); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("versions while suspended:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if s, _ := getVersion(t, c, "docs", "a.txt", "null"); s != "four" {
		t.Fatalf("the null version holds %q", s)
	}
	// a delete while suspended: a null marker replaces the null version
	del, err = c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("docs"), Key: aws.String("a.txt")})
	if err != nil || !aws.ToBool(del.DeleteMarker) || aws.ToString(del.VersionId) != "null" {
		t.Fatalf("a delete while suspended: %v %+v", err, del)
	}
	want = []string{"a.txt marker:null latest", "a.txt " + v1}
	if got := versions(t, c, "docs", "a.txt", 1000); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("versions after a suspended delete:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// versioning cannot be turned off, only suspended
	if _, err := c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String("docs"),
		VersioningConfiguration: &types.VersioningConfiguration{Status: "Off"}}); code(err) != "MalformedXML" {
		t.Fatalf("versioning Off: %v", err)
	}
	// a bucket with versions left is not empty
	if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("docs"), Key: aws.String("b.txt")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("docs")}); code(err) != "BucketNotEmpty" {
		t.Fatalf("DeleteBucket with versions left: %v", err)
	}
	// DeleteObjects by version id empties it, and the bodies go with it
	var ids []types.ObjectIdentifier
	for _, s := range versions(t, c, "docs", "", 1000) {
		f := strings.Fields(s)
		ids = append(ids, types.ObjectIdentifier{Key: aws.String(f[0]), VersionId: aws.String(strings.TrimPrefix(f[1], "marker:"))})
	}
	res, err := c.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String("docs"), Delete: &types.Delete{Objects: ids}})
	if err != nil || len(res.Errors) != 0 || len(res.Deleted) != len(ids) {
		t.Fatalf("DeleteObjects by version: %v %+v", err, res)
	}
	if _, err := c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("docs")}); err != nil {
		t.Fatalf("DeleteBucket once empty: %v", err)
	}
	if n := countBlobs(t, e.blobs); n != 0 {
		t.Fatalf("%d blobs left after every version went", n)
	}
}

// A large body (a blob) survives as a noncurrent version, and goes when
// its version is deleted.
func TestVersionedBlobs(t *testing.T) {
	e := serve(t)
	c, ctx := e.c, context.Background()
	c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("big")})
	c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String("big"),
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled}})
	large := strings.Repeat("a", 200<<10)
	v1 := aws.ToString(put(t, c, "big", "k", large).VersionId)
	put(t, c, "big", "k", strings.Repeat("b", 200<<10))
	if n := countBlobs(t, e.blobs); n != 2 {
		t.Fatalf("%d blobs for two large versions", n)
	}
	if s, err := getVersion(t, c, "big", "k", v1); err != nil || s != large {
		t.Fatalf("the first large version: %d bytes, %v", len(s), err)
	}
	if n, err := e.svc.Sweep(ctx); err != nil || n != 0 {
		t.Fatalf("Sweep removed %d blobs of live versions (%v)", n, err)
	}
	if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("big"), Key: aws.String("k"), VersionId: aws.String(v1)}); err != nil {
		t.Fatal(err)
	}
	if n := countBlobs(t, e.blobs); n != 1 {
		t.Fatalf("%d blobs after the first version went", n)
	}
}

// Object Lock with the Go SDK: a locked bucket is versioned, retention
// and legal holds keep a version from being deleted by id, GOVERNANCE
// gives way to a bypass, COMPLIANCE does not, and the bucket's default
// retention applies to new versions.
func TestObjectLock(t *testing.T) {
	e := serve(t)
	c, ctx := e.c, context.Background()
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("vault"), ObjectLockEnabledForBucket: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	if got, _ := c.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: aws.String("vault")}); got.Status != types.BucketVersioningStatusEnabled {
		t.Fatalf("a locked bucket's versioning: %q", got.Status)
	}
	if _, err := c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String("vault"),
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusSuspended}}); code(err) != "InvalidBucketState" {
		t.Fatalf("suspending a locked bucket: %v", err)
	}
	cfg, err := c.GetObjectLockConfiguration(ctx, &s3.GetObjectLockConfigurationInput{Bucket: aws.String("vault")})
	if err != nil || cfg.ObjectLockConfiguration.ObjectLockEnabled != types.ObjectLockEnabledEnabled || cfg.ObjectLockConfiguration.Rule != nil {
		t.Fatalf("GetObjectLockConfiguration: %v %+v", err, cfg)
	}
	// a retention date on the write
	until := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	out, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("vault"), Key: aws.String("gov"), Body: strings.NewReader("g"),
		ObjectLockMode: types.ObjectLockModeGovernance, ObjectLockRetainUntilDate: aws.Time(until)})
	if err != nil {
		t.Fatal(err)
	}
	gov := aws.ToString(out.VersionId)
	head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("vault"), Key: aws.String("gov")})
	if err != nil || head.ObjectLockMode != types.ObjectLockModeGovernance || !aws.ToTime(head.ObjectLockRetainUntilDate).Equal(until) {
		t.Fatalf("HeadObject of a retained version: %v %+v", err, head)
	}
	ret, err := c.GetObjectRetention(ctx, &s3.GetObjectRetentionInput{Bucket: aws.String("vault"), Key: aws.String("gov")})
	if err != nil || ret.Retention.Mode != types.ObjectLockRetentionModeGovernance {
		t.Fatalf("GetObjectRetention: %v", err)
	}
	if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("vault"), Key: aws.String("gov"), VersionId: aws.String(gov)}); code(err) != "AccessDenied" {
		t.Fatalf("deleting a retained version: %v", err)
	}
	// a delete without a version id only adds a marker
	if del, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("vault"), Key: aws.String("gov")}); err != nil || !aws.ToBool(del.DeleteMarker) {
		t.Fatalf("a delete marker over a retained version: %v", err)
	}
	// shortening GOVERNANCE needs the bypass
	if _, err := c.PutObjectRetention(ctx, &s3.PutObjectRetentionInput{Bucket: aws.String("vault"), Key: aws.String("gov"), VersionId: aws.String(gov),
		Retention: &types.ObjectLockRetention{Mode: types.ObjectLockRetentionModeGovernance, RetainUntilDate: aws.Time(until.Add(-time.Minute))}}); code(err) != "AccessDenied" {
		t.Fatalf("shortening a retention without the bypass: %v", err)
	}
	if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("vault"), Key: aws.String("gov"), VersionId: aws.String(gov),
		BypassGovernanceRetention: aws.Bool(true)}); err != nil {
		t.Fatalf("deleting a GOVERNANCE version with the bypass: %v", err)
	}

	// COMPLIANCE: no bypass
	out, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("vault"), Key: aws.String("comp"), Body: strings.NewReader("c"),
		ObjectLockMode: types.ObjectLockModeCompliance, ObjectLockRetainUntilDate: aws.Time(until)})
	if err != nil {
		t.Fatal(err)
	}
	comp := aws.ToString(out.VersionId)
	if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("vault"), Key: aws.String("comp"), VersionId: aws.String(comp),
		BypassGovernanceRetention: aws.Bool(true)}); code(err) != "AccessDenied" {
		t.Fatalf("deleting a COMPLIANCE version with the bypass: %v", err)
	}
	if _, err := c.PutObjectRetention(ctx, &s3.PutObjectRetentionInput{Bucket: aws.String("vault"), Key: aws.String("comp"),
		Retention: &types.ObjectLockRetention{Mode: types.ObjectLockRetentionModeGovernance, RetainUntilDate: aws.Time(until.Add(time.Hour))}}); code(err) != "AccessDenied" {
		t.Fatalf("weakening COMPLIANCE to GOVERNANCE: %v", err)
	}
	// lengthening is allowed
	if _, err := c.PutObjectRetention(ctx, &s3.PutObjectRetentionInput{Bucket: aws.String("vault"), Key: aws.String("comp"),
		Retention: &types.ObjectLockRetention{Mode: types.ObjectLockRetentionModeCompliance, RetainUntilDate: aws.Time(until.Add(time.Hour))}}); err != nil {
		t.Fatalf("lengthening a COMPLIANCE retention: %v", err)
	}

	// a legal hold, without retention
	put(t, c, "vault", "held", "h")
	if _, err := c.GetObjectLegalHold(ctx, &s3.GetObjectLegalHoldInput{Bucket: aws.String("vault"), Key: aws.String("held")}); code(err) != "NoSuchObjectLockConfiguration" {
		t.Fatalf("GetObjectLegalHold with none: %v", err)
	}
	if _, err := c.PutObjectLegalHold(ctx, &s3.PutObjectLegalHoldInput{Bucket: aws.String("vault"), Key: aws.String("held"),
		LegalHold: &types.ObjectLockLegalHold{Status: types.ObjectLockLegalHoldStatusOn}}); err != nil {
		t.Fatal(err)
	}
	lh, err := c.GetObjectLegalHold(ctx, &s3.GetObjectLegalHoldInput{Bucket: aws.String("vault"), Key: aws.String("held")})
	if err != nil || lh.LegalHold.Status != types.ObjectLockLegalHoldStatusOn {
		t.Fatalf("GetObjectLegalHold: %v", err)
	}
	hv, _ := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("vault"), Key: aws.String("held")})
	if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("vault"), Key: aws.String("held"), VersionId: hv.VersionId,
		BypassGovernanceRetention: aws.Bool(true)}); code(err) != "AccessDenied" {
		t.Fatalf("deleting a held version: %v", err)
	}
	c.PutObjectLegalHold(ctx, &s3.PutObjectLegalHoldInput{Bucket: aws.String("vault"), Key: aws.String("held"),
		LegalHold: &types.ObjectLockLegalHold{Status: types.ObjectLockLegalHoldStatusOff}})
	if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("vault"), Key: aws.String("held"), VersionId: hv.VersionId}); err != nil {
		t.Fatalf("deleting a version once its hold is off: %v", err)
	}

	// the bucket's default retention
	if _, err := c.PutObjectLockConfiguration(ctx, &s3.PutObjectLockConfigurationInput{Bucket: aws.String("vault"),
		ObjectLockConfiguration: &types.ObjectLockConfiguration{ObjectLockEnabled: types.ObjectLockEnabledEnabled,
			Rule: &types.ObjectLockRule{DefaultRetention: &types.DefaultRetention{Mode: types.ObjectLockRetentionModeGovernance, Days: aws.Int32(2)}}}}); err != nil {
		t.Fatal(err)
	}
	put(t, c, "vault", "dflt", "d")
	head, err = c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("vault"), Key: aws.String("dflt")})
	if err != nil || head.ObjectLockMode != types.ObjectLockModeGovernance || aws.ToTime(head.ObjectLockRetainUntilDate).Before(time.Now().Add(47*time.Hour)) {
		t.Fatalf("the default retention: %v %+v", err, head)
	}

	// a bucket without Object Lock refuses lock headers
	c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("plain")})
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("plain"), Key: aws.String("k"), Body: strings.NewReader("x"),
		ObjectLockLegalHoldStatus: types.ObjectLockLegalHoldStatusOn}); code(err) != "InvalidRequest" {
		t.Fatalf("a legal hold in a bucket without Object Lock: %v", err)
	}
	if _, err := c.GetObjectLockConfiguration(ctx, &s3.GetObjectLockConfigurationInput{Bucket: aws.String("plain")}); code(err) != "ObjectLockConfigurationNotFoundError" {
		t.Fatalf("GetObjectLockConfiguration without one: %v", err)
	}
	if _, err := c.PutObjectLockConfiguration(ctx, &s3.PutObjectLockConfigurationInput{Bucket: aws.String("plain"),
		ObjectLockConfiguration: &types.ObjectLockConfiguration{ObjectLockEnabled: types.ObjectLockEnabledEnabled}}); code(err) != "InvalidBucketState" {
		t.Fatalf("Object Lock on an unversioned bucket: %v", err)
	}
}

// Lifecycle in a versioned bucket: an expired current version gets a
// delete marker, and NoncurrentVersionExpiration deletes old versions.
func TestVersionedLifecycle(t *testing.T) {
	e := serve(t)
	events := recordEvents(e, func(ev svc.ObjectEvent) string {
		if !strings.HasPrefix(ev.Name, "Lifecycle") {
			return ""
		}
		return ev.Name + " " + ev.Key
	})
	c, ctx := e.c, context.Background()
	c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("logs")})
	c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String("logs"),
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled}})
	v1 := aws.ToString(put(t, c, "logs", "tmp/a", "1").VersionId)
	v2 := aws.ToString(put(t, c, "logs", "tmp/a", "2").VersionId)
	if _, err := c.PutBucketLifecycleConfiguration(ctx, &s3.PutBucketLifecycleConfigurationInput{Bucket: aws.String("logs"),
		LifecycleConfiguration: &types.BucketLifecycleConfiguration{Rules: []types.LifecycleRule{{
			ID: aws.String("old"), Status: types.ExpirationStatusEnabled, Filter: &types.LifecycleRuleFilter{Prefix: aws.String("tmp/")},
			Expiration:                  &types.LifecycleExpiration{Days: aws.Int32(1)},
			NoncurrentVersionExpiration: &types.NoncurrentVersionExpiration{NoncurrentDays: aws.Int32(1)},
		}}}}); err != nil {
		t.Fatal(err)
	}
	lc, err := c.GetBucketLifecycleConfiguration(ctx, &s3.GetBucketLifecycleConfigurationInput{Bucket: aws.String("logs")})
	if err != nil || lc.Rules[0].NoncurrentVersionExpiration == nil || aws.ToInt32(lc.Rules[0].NoncurrentVersionExpiration.NoncurrentDays) != 1 {
		t.Fatalf("GetBucketLifecycleConfiguration: %v", err)
	}
	// a day and a half later: v2 expires (a marker hides it), v1 has
	// been noncurrent for that long and goes
	if _, err := e.svc.Expire(ctx, time.Now().Add(36*time.Hour)); err != nil {
		t.Fatal(err)
	}
	got := versions(t, c, "logs", "", 1000)
	if len(got) != 2 || !strings.HasPrefix(got[0], "tmp/a marker:") || !strings.HasSuffix(got[0], " latest") || got[1] != "tmp/a "+v2 {
		t.Fatalf("versions after expiry (v1 %s, v2 %s):\n%s", v1, v2, strings.Join(got, "\n"))
	}
	if w := "LifecycleExpiration:Delete tmp/a,LifecycleExpiration:DeleteMarkerCreated tmp/a"; strings.Join(events(), ",") != w {
		t.Fatalf("events %v, want %s", events(), w)
	}
}

// Object events in a versioned bucket name the version, and a delete
// that adds a marker is ObjectRemoved:DeleteMarkerCreated.
func TestVersionedEvents(t *testing.T) {
	e := serve(t)
	events := recordEvents(e, func(ev svc.ObjectEvent) string { return ev.Name + " " + ev.VersionID })
	c, ctx := e.c, context.Background()
	c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("events")})
	put(t, c, "events", "k", "unversioned")
	c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String("events"),
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled}})
	v := aws.ToString(put(t, c, "events", "k", "v").VersionId)
	del, _ := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("events"), Key: aws.String("k")})
	c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("events"), Key: aws.String("k"), VersionId: aws.String(v)})
	want := []string{"ObjectCreated:Put ", "ObjectCreated:Put " + v, "ObjectRemoved:DeleteMarkerCreated " + aws.ToString(del.VersionId), "ObjectRemoved:Delete " + v}
	if got := events(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("events:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func FuzzParseLockConfig(f *testing.F) {
	f.Add([]byte(`<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled></ObjectLockConfiguration>`))
	f.Add([]byte(`<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention><Mode>GOVERNANCE</Mode><Days>1</Days></DefaultRetention></Rule></ObjectLockConfiguration>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		mode, days, years, err := svc.ParseLockConfig(b)
		if err != nil {
			return
		}
		if mode == "" && (days != 0 || years != 0) || mode != "" && (days > 0) == (years > 0) || days < 0 || years < 0 {
			t.Fatalf("accepted %q %d %d", mode, days, years)
		}
	})
}

func FuzzParseVersionID(f *testing.F) {
	f.Add("null")
	f.Add("3sL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY")
	f.Fuzz(func(t *testing.T, v string) {
		id, err := svc.ParseVersionID(v)
		if err != nil {
			return
		}
		if v == "null" && id != "" || v != "null" && (id != v || len(id) != 32 || strings.ContainsAny(id, "/?&%+ ")) {
			t.Fatalf("accepted %q as %q", v, id)
		}
	})
}

// A multipart upload whose lock its bucket cannot keep is refused at
// Complete, and the refusal changes nothing: the upload is still there.
func TestLockRefusalKeepsUpload(t *testing.T) {
	e := serve(t)
	c, ctx := e.c, context.Background()
	c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("plain")})
	up, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("plain"), Key: aws.String("k"),
		ObjectLockLegalHoldStatus: types.ObjectLockLegalHoldStatusOn})
	if err != nil {
		t.Fatal(err)
	}
	part, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("plain"), Key: aws.String("k"), UploadId: up.UploadId,
		PartNumber: aws.Int32(1), Body: strings.NewReader("part")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("plain"), Key: aws.String("k"), UploadId: up.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{{PartNumber: aws.Int32(1), ETag: part.ETag}}}})
	if code(err) != "InvalidRequest" {
		t.Fatalf("Complete with a legal hold in a bucket without Object Lock: %v", err)
	}
	if _, err := c.ListParts(ctx, &s3.ListPartsInput{Bucket: aws.String("plain"), Key: aws.String("k"), UploadId: up.UploadId}); err != nil {
		t.Fatalf("the refused upload is gone: %v", err)
	}
}

// Lifecycle in a versioned bucket, as S3 applies it: NewerNoncurrentVersions
// keeps a key's newest noncurrent versions however old, an expiration
// sends its LifecycleExpiration event, and ExpiredObjectDeleteMarker
// removes a delete marker once no version is left behind it.
func TestLifecycleVersionsAndEvents(t *testing.T) {
	e := serve(t)
	events := recordEvents(e, func(ev svc.ObjectEvent) string {
		if len(ev.Configs) != 1 { // the lifecycle configuration below
			return ""
		}
		return ev.Name + " " + ev.Key
	})
	c, ctx := e.c, context.Background()
	c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("keep")})
	c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String("keep"),
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled}})
	if _, err := c.PutBucketNotificationConfiguration(ctx, &s3.PutBucketNotificationConfigurationInput{Bucket: aws.String("keep"),
		NotificationConfiguration: &types.NotificationConfiguration{QueueConfigurations: []types.QueueConfiguration{{
			QueueArn: aws.String("arn:aws:sqs:us-east-1:000000000000:q"), Events: []types.Event{"s3:LifecycleExpiration:*"}}}}}); err != nil {
		t.Fatal(err)
	}
	var vs []string
	for i := range 4 {
		vs = append(vs, aws.ToString(put(t, c, "keep", "doc", strconv.Itoa(i)).VersionId))
	}
	put(t, c, "keep", "ü/gone", "x")
	c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("keep"), Key: aws.String("ü/gone")})
	if _, err := c.PutBucketLifecycleConfiguration(ctx, &s3.PutBucketLifecycleConfigurationInput{Bucket: aws.String("keep"),
		LifecycleConfiguration: &types.BucketLifecycleConfiguration{Rules: []types.LifecycleRule{{
			ID: aws.String("bad"), Status: types.ExpirationStatusEnabled, Filter: &types.LifecycleRuleFilter{Prefix: aws.String("")},
			Expiration: &types.LifecycleExpiration{Days: aws.Int32(1), ExpiredObjectDeleteMarker: aws.Bool(true)},
		}}}}); code(err) != "InvalidArgument" {
		t.Fatalf("ExpiredObjectDeleteMarker with Days: %v", err)
	}
	if _, err := c.PutBucketLifecycleConfiguration(ctx, &s3.PutBucketLifecycleConfigurationInput{Bucket: aws.String("keep"),
		LifecycleConfiguration: &types.BucketLifecycleConfiguration{Rules: []types.LifecycleRule{{
			ID: aws.String("versions"), Status: types.ExpirationStatusEnabled, Filter: &types.LifecycleRuleFilter{Prefix: aws.String("doc")},
			NoncurrentVersionExpiration: &types.NoncurrentVersionExpiration{NoncurrentDays: aws.Int32(1), NewerNoncurrentVersions: aws.Int32(2)},
		}, {
			ID: aws.String("tmp"), Status: types.ExpirationStatusEnabled, Filter: &types.LifecycleRuleFilter{Prefix: aws.String("ü/")},
			NoncurrentVersionExpiration: &types.NoncurrentVersionExpiration{NoncurrentDays: aws.Int32(1)},
			Expiration:                  &types.LifecycleExpiration{ExpiredObjectDeleteMarker: aws.Bool(true)},
		}}}}); err != nil {
		t.Fatal(err)
	}
	lc, err := c.GetBucketLifecycleConfiguration(ctx, &s3.GetBucketLifecycleConfigurationInput{Bucket: aws.String("keep")})
	if err != nil || aws.ToInt32(lc.Rules[0].NoncurrentVersionExpiration.NewerNoncurrentVersions) != 2 || !aws.ToBool(lc.Rules[1].Expiration.ExpiredObjectDeleteMarker) {
		t.Fatalf("GetBucketLifecycleConfiguration: %+v %v", lc, err)
	}
	if _, err := e.svc.Expire(ctx, time.Now().Add(36*time.Hour)); err != nil {
		t.Fatal(err)
	}
	// doc keeps its current version and the two newest noncurrent ones;
	// ü/gone's only version expired, and then its marker (a prefix that
	// is not ASCII, to compare as bytes)
	got := versions(t, c, "keep", "", 1000)
	want := []string{"doc " + vs[3] + " latest", "doc " + vs[2], "doc " + vs[1]}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("versions after expiry:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if w := "LifecycleExpiration:Delete doc,LifecycleExpiration:Delete ü/gone,LifecycleExpiration:Delete ü/gone"; strings.Join(events(), ",") != w {
		t.Fatalf("events %v, want %s", events(), w)
	}
}

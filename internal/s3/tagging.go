package s3

import (
	"encoding/xml"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/cloudlet/cloudlet/internal/awsapi"
	"github.com/cloudlet/cloudlet/internal/store"
)

// Tags of objects (x-amz-tagging on a write, Put/Get/DeleteObjectTagging)
// and buckets (Put/Get/DeleteBucketTagging): kept with the object's
// metadata or the bucket's doc, checked as S3 checks them.

type tagXML struct {
	Key   string `xml:"Key"`
	Value string `xml:"Value"`
}

type taggingXML struct {
	XMLName xml.Name `xml:"Tagging"`
	Xmlns   string   `xml:"xmlns,attr,omitempty"`
	Tags    []tagXML `xml:"TagSet>Tag"`
}

func invalidTag(msg string) *s3Error { return errorf("InvalidTag", 400, msg) }

// checkTags applies S3's limits: max tags, key 128 and value 256
// characters, keys unique.
func checkTags(tags []tagXML, max int) *s3Error {
	if len(tags) > max {
		return errorf("BadRequest", 400, "Object tags cannot be greater than "+strconv.Itoa(max))
	}
	seen := map[string]bool{}
	for _, t := range tags {
		if t.Key == "" || utf8.RuneCountInString(t.Key) > 128 {
			return invalidTag("The TagKey you have provided is invalid")
		}
		if utf8.RuneCountInString(t.Value) > 256 {
			return invalidTag("The TagValue you have provided is invalid")
		}
		if seen[t.Key] {
			return invalidTag("Cannot provide multiple Tags with the same key")
		}
		seen[t.Key] = true
	}
	return nil
}

// parseTagging reads a Tagging body.
func parseTagging(body []byte, max int) ([]tagXML, *s3Error) {
	var t taggingXML
	if err := xml.Unmarshal(body, &t); err != nil || t.XMLName.Local != "Tagging" {
		return nil, malformedXML()
	}
	return t.Tags, checkTags(t.Tags, max)
}

// tagsFromHeader reads x-amz-tagging (URL query form).
func tagsFromHeader(h string) ([]tagXML, *s3Error) {
	if h == "" {
		return nil, nil
	}
	q, err := url.ParseQuery(h)
	if err != nil {
		return nil, invalidTag("The header 'x-amz-tagging' shall be encoded as UTF-8 then URLEncoded URL query parameters without tag name duplicates.")
	}
	var tags []tagXML
	for k, vs := range q {
		if len(vs) > 1 {
			return nil, invalidTag("Cannot provide multiple Tags with the same key")
		}
		tags = append(tags, tagXML{k, vs[0]})
	}
	return tags, checkTags(tags, 10)
}

func writeTags(w http.ResponseWriter, tags map[string]string) {
	out := taggingXML{Xmlns: xmlns, Tags: []tagXML{}}
	for _, k := range sortedTagKeys(tags) {
		out.Tags = append(out.Tags, tagXML{k, tags[k]})
	}
	writeXML(w, out)
}

func sortedTagKeys(m map[string]string) []string { return slices.Sorted(maps.Keys(m)) }

func tagMap(tags []tagXML) map[string]string {
	if len(tags) == 0 {
		return nil
	}
	m := map[string]string{}
	for _, t := range tags {
		m[t.Key] = t.Value
	}
	return m
}

// objectTaggingOp serves ?tagging on an object.
func (s *Service) objectTaggingOp(w http.ResponseWriter, r *http.Request, call *awsapi.Call, bucket, key string) *s3Error {
	op := map[string]string{http.MethodPut: "PutObjectTagging", http.MethodGet: "GetObjectTagging", http.MethodDelete: "DeleteObjectTagging"}[r.Method]
	if op == "" {
		return methodNotAllowed()
	}
	version, e := versionParam(r.URL.Query())
	if e != nil {
		return e
	}
	if version != nil {
		op = strings.Replace(op, "Tagging", "VersionTagging", 1)
	}
	if e := s.authorize(call, op, s.objectARN(bucket, key), nil); e != nil {
		return e
	}
	var tags []tagXML
	if op == "PutObjectTagging" {
		body, e := readSmall(r, 64<<10)
		if e != nil {
			return e
		}
		if tags, e = parseTagging(body, 10); e != nil {
			return e
		}
	}
	var got map[string]string
	var o *object
	err := s.st.Update(r.Context(), func(tx *store.Tx) error {
		e, got = nil, nil
		ok, state, err := bucketStateTx(tx, bucket)
		if err != nil || !ok {
			e = orNoBucket(nil, bucket)
			return err
		}
		if version != nil {
			o, err = loadVersionTx(tx, bucket, key, *version)
		} else {
			o, err = loadObjectTx(tx, bucket, key)
		}
		if err == nil && o != nil && o.marker {
			e = markerError(key, o, true)
			return nil
		}
		if err != nil || o == nil {
			e = orNoKey(nil, key, o == nil)
			if version != nil && o == nil {
				e = noSuchVersion(key, wireVersion(*version))
			}
			return err
		}
		o.versioned = state != ""
		switch op {
		case "GetObjectTagging":
			got = o.meta.Tags
			return nil
		case "PutObjectTagging":
			o.meta.Tags = tagMap(tags)
		default:
			o.meta.Tags = nil
		}
		return updateVersionDocTx(tx, bucket, key, o)
	})
	if err != nil {
		return internal(s, "tag an object", err)
	}
	if e != nil {
		return e
	}
	versionHeader(w, o)
	switch op {
	case "GetObjectTagging":
		writeTags(w, got)
	case "PutObjectTagging":
		w.WriteHeader(http.StatusOK)
	default:
		w.WriteHeader(http.StatusNoContent)
	}
	return nil
}

func orNoKey(e *s3Error, key string, missing bool) *s3Error {
	if e != nil || !missing {
		return e
	}
	return noSuchKey(key)
}

// bucketTaggingOp serves ?tagging on a bucket.
func (s *Service) bucketTaggingOp(w http.ResponseWriter, r *http.Request, call *awsapi.Call, bucket string) *s3Error {
	op := map[string]string{http.MethodPut: "PutBucketTagging", http.MethodGet: "GetBucketTagging", http.MethodDelete: "DeleteBucketTagging"}[r.Method]
	if op == "" {
		return methodNotAllowed()
	}
	if e := s.authorize(call, op, s.bucketARN(bucket), nil); e != nil {
		return e
	}
	var tags []tagXML
	if op == "PutBucketTagging" {
		body, e := readSmall(r, 64<<10)
		if e != nil {
			return e
		}
		if tags, e = parseTagging(body, 50); e != nil {
			return e
		}
	}
	var got map[string]string
	if e := s.bucketDocOp(r, bucket, op != "GetBucketTagging", "tag a bucket", func(d *bucketDoc) {
		switch op {
		case "GetBucketTagging":
			got = d.Tags
		case "PutBucketTagging":
			d.Tags = tagMap(tags)
		default:
			d.Tags = nil
		}
	}); e != nil {
		return e
	}
	switch op {
	case "GetBucketTagging":
		if len(got) == 0 {
			return &s3Error{code: "NoSuchTagSet", status: 404, msg: "The TagSet does not exist", bucket: bucket}
		}
		writeTags(w, got)
	default:
		w.WriteHeader(http.StatusNoContent)
	}
	return nil
}

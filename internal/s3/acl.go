package s3

import (
	"encoding/xml"
	"net/http"
	"strings"

	"github.com/cloudlet/cloudlet/internal/awsapi"
)

// ACLs as S3 treats them by default since 2023 (Object Ownership
// BucketOwnerEnforced): the bucket owner owns every object, ACLs do
// nothing. A write that sets an ACL other than bucket-owner-full-control
// is refused, PutObjectAcl and PutBucketAcl are refused, and GetObjectAcl
// and GetBucketAcl answer the owner's FULL_CONTROL.

func errACLNotSupported() *s3Error {
	return errorf("AccessControlListNotSupported", 400, "The bucket does not allow ACLs")
}

// checkACLHeaders refuses the ACL headers a write may not carry.
func checkACLHeaders(h http.Header) *s3Error {
	if acl := h.Get("x-amz-acl"); acl != "" && acl != "bucket-owner-full-control" {
		return errACLNotSupported()
	}
	for name := range h {
		if strings.HasPrefix(strings.ToLower(name), "x-amz-grant-") {
			return errACLNotSupported()
		}
	}
	return nil
}

type grantXML struct {
	Grantee struct {
		XMLNS       string `xml:"xmlns:xsi,attr"`
		Type        string `xml:"xsi:type,attr"`
		ID          string `xml:"ID"`
		DisplayName string `xml:"DisplayName"`
	} `xml:"Grantee"`
	Permission string `xml:"Permission"`
}

// aclOp serves ?acl on a bucket (key "") or an object.
func (s *Service) aclOp(w http.ResponseWriter, r *http.Request, call *awsapi.Call, bucket, key string) *s3Error {
	op, resource := "GetBucketAcl", s.bucketARN(bucket)
	if key != "" {
		op, resource = "GetObjectAcl", s.objectARN(bucket, key)
	}
	if r.Method == http.MethodPut {
		op = strings.Replace(op, "Get", "Put", 1)
	} else if r.Method != http.MethodGet {
		return methodNotAllowed()
	}
	if e := s.authorize(call, op, resource, nil); e != nil {
		return e
	}
	if key == "" {
		if ok, e := s.bucketExists(r, bucket); e != nil || !ok {
			return orNoBucket(e, bucket)
		}
	} else {
		version, e := versionParam(r.URL.Query())
		if e != nil {
			return e
		}
		o, b, e := s.openObject(r, bucket, key, version)
		if e != nil {
			return e
		}
		b.Close()
		_ = o
	}
	if r.Method == http.MethodPut {
		return errACLNotSupported()
	}
	var g grantXML
	g.Grantee.XMLNS, g.Grantee.Type = "http://www.w3.org/2001/XMLSchema-instance", "CanonicalUser"
	g.Grantee.ID, g.Grantee.DisplayName = s.account, "cloudlet"
	g.Permission = "FULL_CONTROL"
	writeXML(w, struct {
		XMLName xml.Name   `xml:"AccessControlPolicy"`
		Xmlns   string     `xml:"xmlns,attr"`
		Owner   owner      `xml:"Owner"`
		Grants  []grantXML `xml:"AccessControlList>Grant"`
	}{Xmlns: xmlns, Owner: s.owner(), Grants: []grantXML{g}})
	return nil
}

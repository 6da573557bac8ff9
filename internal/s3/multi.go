package s3

import (
	"crypto/md5"
	"encoding/base64"
	"encoding/xml"
	"net/http"

	"github.com/cloudlet/cloudlet/internal/awsapi"
)

// deleteRequest is DeleteObjects' body.
type deleteRequest struct {
	XMLName xml.Name `xml:"Delete"`
	Quiet   bool     `xml:"Quiet"`
	Objects []struct {
		Key       string `xml:"Key"`
		VersionID string `xml:"VersionId"`
	} `xml:"Object"`
}

// parseDelete reads DeleteObjects' body: up to 1000 keys.
func parseDelete(body []byte) (*deleteRequest, *s3Error) {
	var d deleteRequest
	if err := xml.Unmarshal(body, &d); err != nil || d.XMLName.Local != "Delete" {
		return nil, malformedXML()
	}
	if len(d.Objects) == 0 || len(d.Objects) > 1000 {
		return nil, malformedXML()
	}
	return &d, nil
}

// deleteObjects serves DeleteObjects (POST ?delete): each key deleted as
// DeleteObject deletes it, authorized one by one.
func (s *Service) deleteObjects(w http.ResponseWriter, r *http.Request, call *awsapi.Call, bucket string) *s3Error {
	body, e := readSmall(r, 2<<20)
	if e != nil {
		return e
	}
	if cm := r.Header.Get("Content-MD5"); cm != "" {
		sum := md5.Sum(body)
		if cm != base64.StdEncoding.EncodeToString(sum[:]) {
			return errorf("BadDigest", 400, "The Content-MD5 you specified did not match what we received.")
		}
	}
	d, e := parseDelete(body)
	if e != nil {
		return e
	}
	if ok, e := s.bucketExists(r, bucket); e != nil || !ok {
		return orNoBucket(e, bucket)
	}
	type deleted struct {
		Key                   string `xml:"Key"`
		VersionID             string `xml:"VersionId,omitempty"`
		DeleteMarker          bool   `xml:"DeleteMarker,omitempty"`
		DeleteMarkerVersionID string `xml:"DeleteMarkerVersionId,omitempty"`
	}
	type failed struct {
		Key       string `xml:"Key"`
		VersionID string `xml:"VersionId,omitempty"`
		Code      string `xml:"Code"`
		Message   string `xml:"Message"`
	}
	res := struct {
		XMLName xml.Name  `xml:"DeleteResult"`
		Xmlns   string    `xml:"xmlns,attr"`
		Deleted []deleted `xml:"Deleted"`
		Errors  []failed  `xml:"Error"`
	}{Xmlns: xmlns}
	for _, o := range d.Objects {
		op := "DeleteObject"
		var version *string
		if o.VersionID != "" {
			v, e := parseVersionID(o.VersionID)
			if e != nil {
				res.Errors = append(res.Errors, failed{o.Key, o.VersionID, "NoSuchVersion", "The specified version does not exist."})
				continue
			}
			op, version = "DeleteObjectVersion", &v
		}
		if e := s.authorize(call, op, s.objectARN(bucket, o.Key), nil); e != nil {
			res.Errors = append(res.Errors, failed{o.Key, o.VersionID, e.code, e.msg})
			continue
		}
		got, e := s.removeObject(r, call, bucket, o.Key, version)
		if e != nil {
			res.Errors = append(res.Errors, failed{o.Key, o.VersionID, e.code, e.msg})
			continue
		}
		if !d.Quiet {
			x := deleted{Key: o.Key, VersionID: o.VersionID}
			if got.marker {
				x.DeleteMarker, x.DeleteMarkerVersionID = true, wireVersion(got.version)
			}
			res.Deleted = append(res.Deleted, x)
		}
	}
	writeXML(w, res)
	return nil
}

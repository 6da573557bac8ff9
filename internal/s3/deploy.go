package s3

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/cloudlet/cloudlet/internal/store"
)

// BucketSpec is a bucket a deploy declares: its name and its
// CloudFormation properties (AWS::S3::Bucket), of which Cloudlet applies
// CorsConfiguration and VersioningConfiguration.
type BucketSpec struct {
	Name       string
	Properties map[string]any
}

// cfnBucket is the part of AWS::S3::Bucket's properties a deploy applies.
type cfnBucket struct {
	CorsConfiguration *struct {
		CorsRules []struct {
			ID             string   `json:"Id"`
			AllowedHeaders []string `json:"AllowedHeaders"`
			AllowedMethods []string `json:"AllowedMethods"`
			AllowedOrigins []string `json:"AllowedOrigins"`
			ExposedHeaders []string `json:"ExposedHeaders"`
			MaxAge         *int     `json:"MaxAge"`
		} `json:"CorsRules"`
	} `json:"CorsConfiguration"`
	VersioningConfiguration *struct {
		Status string `json:"Status"`
	} `json:"VersioningConfiguration"`
}

// ApplyBuckets creates the buckets a deploy declares that do not exist
// and applies their declared CORS rules and versioning, in one
// transaction; buckets no longer declared are kept, with their objects
// and settings, and so are the settings a bucket's declaration leaves
// out. A declaration S3 would refuse fails the whole deploy.
func (s *Service) ApplyBuckets(ctx context.Context, specs []BucketSpec) error {
	type applied struct {
		cors       []corsRule
		versioning string
	}
	plan := make([]applied, len(specs))
	for i, b := range specs {
		if !validBucketName(b.Name) {
			return &bucketNameError{b.Name}
		}
		if b.Properties == nil {
			continue
		}
		raw, _ := json.Marshal(b.Properties)
		var p cfnBucket
		if err := json.Unmarshal(raw, &p); err != nil {
			return fmt.Errorf("bucket %s: its CorsConfiguration or VersioningConfiguration is not in CloudFormation's shape: %v", b.Name, err)
		}
		if c := p.CorsConfiguration; c != nil {
			for _, r := range c.CorsRules {
				plan[i].cors = append(plan[i].cors, corsRule{ID: r.ID, Headers: r.AllowedHeaders, Methods: r.AllowedMethods,
					Origins: r.AllowedOrigins, Expose: r.ExposedHeaders, MaxAge: r.MaxAge})
			}
			if e := checkCORS(plan[i].cors); e != nil {
				return fmt.Errorf("bucket %s: CorsConfiguration: %s (%s)", b.Name, e.msg, e.code)
			}
		}
		if v := p.VersioningConfiguration; v != nil {
			if v.Status != versioningEnabled && v.Status != versioningSuspended {
				return fmt.Errorf("bucket %s: VersioningConfiguration.Status must be Enabled or Suspended, not %s", b.Name, strconv.Quote(v.Status))
			}
			plan[i].versioning = v.Status
		}
	}
	defer s.bucketsChanged()
	return s.st.Update(ctx, func(tx *store.Tx) error {
		for i, b := range specs {
			ok, err := bucketExistsTx(tx, b.Name)
			if err != nil {
				return err
			}
			if !ok {
				if _, err := tx.Exec(`INSERT INTO s3_buckets (name, created, region, doc) VALUES (?, ?, ?, '{}')`, b.Name, time.Now().UnixMilli(), s.region); err != nil {
					return err
				}
			}
			if plan[i].cors != nil {
				if _, err := updateBucketDocTx(tx, b.Name, func(d *bucketDoc) { d.CORS = plan[i].cors }); err != nil {
					return err
				}
			}
			if v := plan[i].versioning; v != "" {
				d, err := bucketDocTx(tx, b.Name)
				if err != nil {
					return err
				}
				if d.ObjectLock != nil && v != versioningEnabled {
					return fmt.Errorf("bucket %s: it has Object Lock, so its versioning stays Enabled", b.Name)
				}
				if _, err := tx.Exec(`UPDATE s3_buckets SET versioning = ? WHERE name = ?`, v, b.Name); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

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

// BucketPlan is a deploy's buckets, checked by CheckBuckets: what
// ApplyBuckets makes of them.
type BucketPlan struct {
	specs []BucketSpec
	cors  [][]corsRule // per spec; nil: none declared
	vers  []string     // per spec; "": none declared
}

// cfnInt is a CloudFormation integer, which a template may write as a
// string ("3000"), as values from variables often are.
type cfnInt struct{ v *int }

func (c *cfnInt) UnmarshalJSON(b []byte) error {
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		var s string
		if json.Unmarshal(b, &s) != nil {
			return fmt.Errorf("%s is not an integer", b)
		}
		n = json.Number(s)
	}
	i, err := strconv.Atoi(string(n))
	if err != nil {
		return fmt.Errorf("%s is not an integer", b)
	}
	c.v = &i
	return nil
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
			MaxAge         cfnInt   `json:"MaxAge"`
		} `json:"CorsRules"`
	} `json:"CorsConfiguration"`
	VersioningConfiguration *struct {
		Status string `json:"Status"`
	} `json:"VersioningConfiguration"`
}

// CheckBuckets checks a deploy's bucket declarations as S3 checks them,
// before anything of the deploy is applied.
func CheckBuckets(specs []BucketSpec) (*BucketPlan, error) {
	p := &BucketPlan{specs: specs, cors: make([][]corsRule, len(specs)), vers: make([]string, len(specs))}
	for i, b := range specs {
		if !validBucketName(b.Name) {
			return nil, &bucketNameError{b.Name}
		}
		if b.Properties == nil {
			continue
		}
		raw, _ := json.Marshal(b.Properties)
		var c cfnBucket
		if err := json.Unmarshal(raw, &c); err != nil {
			return nil, fmt.Errorf("bucket %s: its CorsConfiguration or VersioningConfiguration is not in CloudFormation's shape: %v", b.Name, err)
		}
		if cc := c.CorsConfiguration; cc != nil {
			rules := []corsRule{}
			for _, r := range cc.CorsRules {
				rules = append(rules, corsRule{ID: r.ID, Headers: r.AllowedHeaders, Methods: r.AllowedMethods,
					Origins: r.AllowedOrigins, Expose: r.ExposedHeaders, MaxAge: r.MaxAge.v})
			}
			if e := checkCORS(rules); e != nil {
				msg := e.msg
				if e.code == "MalformedXML" {
					msg = "1 to 100 CorsRules, each with AllowedMethods and AllowedOrigins, an Id of at most 255 characters and a MaxAge not negative"
				}
				return nil, fmt.Errorf("bucket %s: CorsConfiguration: %s", b.Name, msg)
			}
			p.cors[i] = rules
		}
		if v := c.VersioningConfiguration; v != nil {
			if v.Status != versioningEnabled && v.Status != versioningSuspended {
				return nil, fmt.Errorf("bucket %s: VersioningConfiguration.Status must be Enabled or Suspended, not %s", b.Name, strconv.Quote(v.Status))
			}
			p.vers[i] = v.Status
		}
	}
	return p, nil
}

// ApplyBuckets makes a checked deploy's buckets, in one transaction: it
// creates those that do not exist and applies their declared CORS rules
// and versioning. CORS rules a deploy set and the next one no longer
// declares go, as CloudFormation removes them; rules set through the
// API stay until a deploy declares some. Versioning, once Enabled, only
// goes to Suspended, as S3 has it. Buckets no longer declared are kept,
// with their objects and settings.
func (s *Service) ApplyBuckets(ctx context.Context, p *BucketPlan) error {
	defer s.bucketsChanged()
	return s.st.Update(ctx, func(tx *store.Tx) error {
		for i, b := range p.specs {
			ok, err := bucketExistsTx(tx, b.Name)
			if err != nil {
				return err
			}
			if !ok {
				if _, err := tx.Exec(`INSERT INTO s3_buckets (name, created, region, doc) VALUES (?, ?, ?, '{}')`, b.Name, time.Now().UnixMilli(), s.region); err != nil {
					return err
				}
			}
			var lock bool
			if _, err := updateBucketDocTx(tx, b.Name, func(d *bucketDoc) {
				lock = d.ObjectLock != nil
				switch {
				case p.cors[i] != nil:
					d.CORS, d.CORSDeployed = p.cors[i], true
				case d.CORSDeployed:
					d.CORS, d.CORSDeployed = nil, false
				}
			}); err != nil {
				return err
			}
			if v := p.vers[i]; v != "" {
				if lock && v != versioningEnabled {
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

package dynamodb

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/cloudlet/cloudlet/internal/awsapi"
	"github.com/cloudlet/cloudlet/internal/store"
)

// errRefused undoes a closure's changes when a request is refused after
// some of them were made.
var errRefused = errors.New("refused")

// saveTx writes a table's changed description.
func saveTx(tx *store.Tx, d *tableDescription) error {
	b, _ := json.Marshal(d)
	_, err := tx.Exec(`UPDATE dynamodb_tables SET description = ? WHERE name = ?`, string(b), d.TableName)
	return err
}

type gsiUpdate struct {
	Create *index `json:"Create"`
	Update *struct {
		IndexName             string      `json:"IndexName"`
		ProvisionedThroughput *throughput `json:"ProvisionedThroughput"`
	} `json:"Update"`
	Delete *struct {
		IndexName string `json:"IndexName"`
	} `json:"Delete"`
}

// updateTable serves UpdateTable: billing mode and throughput, global
// indexes added (filled from the items already there) or removed, the
// stream turned on or off, deletion protection.
func (s *Service) updateTable(r *http.Request, call *awsapi.Call) (any, *awsapi.Error) {
	var in struct {
		TableName                   string                `json:"TableName"`
		AttributeDefinitions        []attributeDefinition `json:"AttributeDefinitions"`
		BillingMode                 string                `json:"BillingMode"`
		ProvisionedThroughput       *throughput           `json:"ProvisionedThroughput"`
		GlobalSecondaryIndexUpdates []gsiUpdate           `json:"GlobalSecondaryIndexUpdates"`
		StreamSpecification         *streamSpecification  `json:"StreamSpecification"`
		DeletionProtectionEnabled   *bool                 `json:"DeletionProtectionEnabled"`
	}
	if e := decode(call, &in); e != nil {
		return nil, e
	}
	if e := s.checkTable(call, "UpdateTable", in.TableName); e != nil {
		return nil, e
	}
	if len(in.GlobalSecondaryIndexUpdates) > 1 {
		return nil, validation("Subscriber limit exceeded: Only 1 online index can be created or deleted simultaneously per table")
	}
	var d *tableDescription
	var e *awsapi.Error
	s.cache.drop(in.TableName)
	change := func(tx *store.Tx) (err error) {
		e = nil
		if d, err = loadTx(tx, in.TableName); err != nil || d == nil {
			e = notFound(in.TableName)
			return err
		}
		changed := false
		if in.BillingMode != "" || in.ProvisionedThroughput != nil {
			mode := in.BillingMode
			if mode == "" {
				mode = "PROVISIONED"
				if d.BillingModeSummary != nil {
					mode = d.BillingModeSummary.BillingMode
				}
			}
			probe := createTableInput{TableName: d.TableName, AttributeDefinitions: d.AttributeDefinitions[:1],
				KeySchema:   []keyElement{{AttributeName: d.AttributeDefinitions[0].AttributeName, KeyType: "HASH"}},
				BillingMode: mode, ProvisionedThroughput: in.ProvisionedThroughput}
			nd, ve := s.describeNew(&probe) // checks the billing mode and throughput alone
			if ve != nil {
				e = ve
				return nil
			}
			d.ProvisionedThroughput, d.BillingModeSummary = nd.ProvisionedThroughput, &billingModeSummary{BillingMode: mode}
			changed = true
		}
		if p := in.DeletionProtectionEnabled; p != nil {
			d.DeletionProtection, changed = *p, true
		}
		if sp := in.StreamSpecification; sp != nil {
			enabled := d.StreamSpecification != nil && d.StreamSpecification.StreamEnabled
			switch {
			case sp.StreamEnabled && enabled:
				e = validation("Table already has an enabled stream: TableName: " + d.TableName)
				return nil
			case !sp.StreamEnabled && !enabled:
				e = validation("Table already has a disabled stream: TableName: " + d.TableName)
				return nil
			case sp.StreamEnabled:
				switch sp.StreamViewType {
				case "KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES":
				default:
					e = validation("One or more parameter values were invalid: StreamViewType must be KEYS_ONLY, NEW_IMAGE, OLD_IMAGE or NEW_AND_OLD_IMAGES when the stream is enabled")
					return nil
				}
				d.StreamSpecification = sp
				d.LatestStreamLabel = time.Now().UTC().Format("2006-01-02T15:04:05.000")
				d.LatestStreamArn = d.TableArn + "/stream/" + d.LatestStreamLabel
				if err := openStreamTx(tx, d); err != nil {
					return err
				}
			default:
				d.StreamSpecification = &streamSpecification{StreamEnabled: false}
				if err := closeStreamsTx(tx, d.TableName); err != nil {
					return err
				}
			}
			changed = true
		}
		for _, u := range in.GlobalSecondaryIndexUpdates {
			switch {
			case u.Create != nil:
				if e = s.addIndexTx(tx, d, in.AttributeDefinitions, u.Create); e != nil {
					return nil
				}
			case u.Delete != nil:
				kept := d.GlobalSecondaryIndexes[:0]
				for _, ix := range d.GlobalSecondaryIndexes {
					if ix.IndexName != u.Delete.IndexName {
						kept = append(kept, ix)
					}
				}
				if len(kept) == len(d.GlobalSecondaryIndexes) {
					e = &awsapi.Error{Code: "ResourceNotFoundException", Status: 400, Message: "Requested resource not found: Index: " + u.Delete.IndexName + " not found"}
					return nil
				}
				d.GlobalSecondaryIndexes = kept
				if _, err := tx.Exec(`DELETE FROM dynamodb_index_keys WHERE tbl = ? AND idx = ?`, d.TableID, u.Delete.IndexName); err != nil {
					return err
				}
			case u.Update != nil:
				found := false
				for i := range d.GlobalSecondaryIndexes {
					if d.GlobalSecondaryIndexes[i].IndexName == u.Update.IndexName {
						d.GlobalSecondaryIndexes[i].ProvisionedThroughput, found = u.Update.ProvisionedThroughput, true
					}
				}
				if !found {
					e = &awsapi.Error{Code: "ResourceNotFoundException", Status: 400, Message: "Requested resource not found: Index: " + u.Update.IndexName + " not found"}
					return nil
				}
			}
			changed = true
		}
		if !changed {
			e = validation("At least one of ProvisionedThroughput, BillingMode, UpdateStreamEnabled, GlobalSecondaryIndexUpdates or SSESpecification or ReplicaUpdates is required")
			return nil
		}
		return saveTx(tx, d)
	}
	err := s.update(r.Context(), func(tx *store.Tx) error {
		// A refusal found after some change undoes all of them.
		if err := change(tx); err != nil || e != nil {
			return errors.Join(err, errRefused)
		}
		return nil
	})
	s.cache.drop(in.TableName)
	if e != nil {
		return nil, e
	}
	if err != nil {
		return nil, internal(s, "update table", err)
	}
	return map[string]any{"TableDescription": d.public()}, nil
}

// addIndexTx adds a global index to d and fills it from the items there.
func (s *Service) addIndexTx(tx *store.Tx, d *tableDescription, defs []attributeDefinition, ix *index) *awsapi.Error {
	merged := append([]attributeDefinition(nil), d.AttributeDefinitions...)
	for _, a := range defs {
		known := false
		for _, b := range merged {
			if a.AttributeName == b.AttributeName {
				if a.AttributeType != b.AttributeType {
					return validation("One or more parameter values were invalid: Attribute " + a.AttributeName + " has been defined with conflicting types")
				}
				known = true
			}
		}
		if !known {
			merged = append(merged, a)
		}
	}
	for _, old := range append(d.GlobalSecondaryIndexes, d.LocalSecondaryIndexes...) {
		if old.IndexName == ix.IndexName {
			return validation("One or more parameter values were invalid: Index " + ix.IndexName + " already exists")
		}
	}
	// check the new index as CreateTable would, with the table's other keys
	probe := createTableInput{TableName: d.TableName, KeySchema: d.KeySchema, BillingMode: "PAY_PER_REQUEST",
		GlobalSecondaryIndexes: append(append([]index(nil), d.GlobalSecondaryIndexes...), *ix), LocalSecondaryIndexes: d.LocalSecondaryIndexes}
	for _, a := range merged {
		if usedBy(a.AttributeName, &probe) {
			probe.AttributeDefinitions = append(probe.AttributeDefinitions, a)
		}
	}
	for i := range probe.GlobalSecondaryIndexes {
		probe.GlobalSecondaryIndexes[i].ProvisionedThroughput = nil
	}
	nd, e := s.describeNew(&probe)
	if e != nil {
		return e
	}
	added := nd.GlobalSecondaryIndexes[len(nd.GlobalSecondaryIndexes)-1]
	added.ProvisionedThroughput = ix.ProvisionedThroughput
	d.AttributeDefinitions = nd.AttributeDefinitions
	d.GlobalSecondaryIndexes = append(d.GlobalSecondaryIndexes, added)
	t := newTable(d)
	ixs := t.index(added.IndexName)
	items, err := itemsTx(tx, `SELECT hk, rk, item FROM dynamodb_items WHERE tbl = ?`, d.TableID)
	if err != nil {
		return internal(s, "update table", err)
	}
	type entry struct{ ihk, irk, hk, rk []byte }
	var entries []entry
	for _, si := range items {
		h := si.it[ixs.key.hash]
		if h == nil || h.T != ixs.key.hashT {
			continue
		}
		irk := []byte{}
		if ixs.key.rng != "" {
			v := si.it[ixs.key.rng]
			if v == nil || v.T != ixs.key.rngT {
				continue
			}
			irk = keyBytes(v)
		}
		entries = append(entries, entry{keyBytes(h), irk, si.hk, si.rk})
	}
	for _, en := range entries {
		if _, err := tx.Exec(`INSERT INTO dynamodb_index_keys (tbl, idx, hk, rk, thk, trk) VALUES (?, ?, ?, ?, ?, ?)`,
			d.TableID, added.IndexName, en.ihk, en.irk, en.hk, en.rk); err != nil {
			return internal(s, "update table", err)
		}
	}
	return nil
}

func usedBy(name string, in *createTableInput) bool {
	for _, k := range in.KeySchema {
		if k.AttributeName == name {
			return true
		}
	}
	for _, ix := range append(append([]index(nil), in.GlobalSecondaryIndexes...), in.LocalSecondaryIndexes...) {
		for _, k := range ix.KeySchema {
			if k.AttributeName == name {
				return true
			}
		}
	}
	return false
}

// ---- tags ----

func checkTags(tags []tag) *awsapi.Error {
	for _, t := range tags {
		switch {
		case len(t.Key) < 1 || len(t.Key) > 128:
			return validation("1 validation error detected: Value '" + t.Key + "' at 'tags.member.key' failed to satisfy constraint: Member must have length less than or equal to 128")
		case len(t.Value) > 256:
			return validation("1 validation error detected: Value '" + t.Value + "' at 'tags.member.value' failed to satisfy constraint: Member must have length less than or equal to 256")
		case strings.HasPrefix(t.Key, "aws:"):
			return validation("One or more parameter values were invalid: Tag keys starting with 'aws:' are reserved")
		}
	}
	return nil
}

// mergeTags sets tags on have, replacing the values of keys already there.
func mergeTags(have, tags []tag) []tag {
	out := append([]tag(nil), have...)
next:
	for _, t := range tags {
		for i := range out {
			if out[i].Key == t.Key {
				out[i].Value = t.Value
				continue next
			}
		}
		out = append(out, t)
	}
	return out
}

// taggedTable finds the table an ARN names, authorizing op on it.
func (s *Service) taggedTable(call *awsapi.Call, op, arn string) (string, *awsapi.Error) {
	name, ok := strings.CutPrefix(arn, "arn:aws:dynamodb:"+s.region+":"+s.account+":table/")
	if !ok || strings.Contains(name, "/") || checkTableName(name) != nil {
		return "", validation("Invalid TableArn: Invalid ResourceArn provided as input " + arn)
	}
	if e := call.Authorize(ops.Op(op), arn, nil, nil); e != nil {
		return "", e
	}
	return name, nil
}

func resourceNotFound(arn string) *awsapi.Error {
	return &awsapi.Error{Code: "ResourceNotFoundException", Status: 400, Message: "Requested resource not found: ResourcArn: " + arn + " not found"}
}

func (s *Service) tagResource(r *http.Request, call *awsapi.Call) (any, *awsapi.Error) {
	var in struct {
		ResourceArn string   `json:"ResourceArn"`
		Tags        []tag    `json:"Tags"`
		TagKeys     []string `json:"TagKeys"`
	}
	if e := decode(call, &in); e != nil {
		return nil, e
	}
	op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), targetPrefix)
	name, e := s.taggedTable(call, op, in.ResourceArn)
	if e != nil {
		return nil, e
	}
	if e := checkTags(in.Tags); e != nil {
		return nil, e
	}
	s.cache.drop(name)
	err := s.update(r.Context(), func(tx *store.Tx) error {
		e = nil
		d, err := loadTx(tx, name)
		if err != nil || d == nil {
			e = resourceNotFound(in.ResourceArn)
			return err
		}
		if op == "TagResource" {
			d.Tags = mergeTags(d.Tags, in.Tags)
			if len(d.Tags) > 50 {
				e = validation("One or more parameter values were invalid: The number of tags exceeds the limit of 50")
				return nil
			}
		} else {
			kept := d.Tags[:0]
			for _, t := range d.Tags {
				drop := false
				for _, k := range in.TagKeys {
					drop = drop || k == t.Key
				}
				if !drop {
					kept = append(kept, t)
				}
			}
			d.Tags = kept
		}
		return saveTx(tx, d)
	})
	s.cache.drop(name)
	if err != nil {
		return nil, internal(s, op, err)
	}
	if e != nil {
		return nil, e
	}
	return map[string]any{}, nil
}

func (s *Service) listTagsOfResource(r *http.Request, call *awsapi.Call) (any, *awsapi.Error) {
	var in struct {
		ResourceArn string `json:"ResourceArn"`
	}
	if e := decode(call, &in); e != nil {
		return nil, e
	}
	name, e := s.taggedTable(call, "ListTagsOfResource", in.ResourceArn)
	if e != nil {
		return nil, e
	}
	t, err := s.table(r.Context(), name)
	if err != nil {
		return nil, internal(s, "list tags", err)
	}
	if t == nil {
		return nil, resourceNotFound(in.ResourceArn)
	}
	tags := t.d.Tags
	if tags == nil {
		tags = []tag{}
	}
	return map[string]any{"Tags": tags}, nil
}

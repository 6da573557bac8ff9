package dynamodb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/cloudlet/cloudlet/internal/store"
)

// TableSpec is a table a deployed project declares
// (resources.Resources, Type AWS::DynamoDB::Table).
type TableSpec struct {
	Name string
	// Properties are the resource's evaluated CloudFormation properties.
	Properties map[string]any
	// Origin says where the table is declared, for errors, e.g.
	// "serverless.yml:40: resources.Resources.UsersTable".
	Origin string
}

// cfnTable is AWS::DynamoDB::Table's properties that Cloudlet applies.
type cfnTable struct {
	createTableInput
	StreamSpecification *struct {
		StreamViewType string `json:"StreamViewType"`
	} `json:"StreamSpecification"`
	TimeToLiveSpecification *struct {
		AttributeName string `json:"AttributeName"`
		Enabled       bool   `json:"Enabled"`
	} `json:"TimeToLiveSpecification"`
}

// numbers turns CloudFormation's numbers written as strings ("5") into
// numbers, as CloudFormation accepts either.
func numbers(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, x := range t {
			if s, ok := x.(string); ok && (k == "ReadCapacityUnits" || k == "WriteCapacityUnits") {
				if n, err := strconv.ParseInt(s, 10, 64); err == nil {
					out[k] = n
					continue
				}
			}
			if b, ok := x.(string); ok && (k == "Enabled" || k == "DeletionProtectionEnabled") {
				out[k] = b == "true"
				continue
			}
			out[k] = numbers(x)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			out[i] = numbers(x)
		}
		return out
	}
	return v
}

// describeSpec checks a spec as CreateTable would and describes the table
// it declares; ttl is its TTL setting (nil: none).
func (s *Service) describeSpec(spec TableSpec) (*tableDescription, error) {
	b, err := json.Marshal(numbers(spec.Properties))
	if err != nil {
		return nil, fmt.Errorf("%s: %v", spec.Origin, err)
	}
	var c cfnTable
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("%s: Properties: %v", spec.Origin, err)
	}
	c.TableName = spec.Name
	if sp := c.StreamSpecification; sp != nil {
		c.createTableInput.StreamSpecification = &streamSpecification{StreamEnabled: true, StreamViewType: sp.StreamViewType}
	}
	if e := checkTableName(spec.Name); e != nil {
		return nil, fmt.Errorf("%s: TableName: %s", spec.Origin, e.Message)
	}
	d, e := s.describeNew(&c.createTableInput)
	if e != nil {
		return nil, fmt.Errorf("%s: %s", spec.Origin, e.Message)
	}
	if ttl := c.TimeToLiveSpecification; ttl != nil && ttl.Enabled {
		if ttl.AttributeName == "" {
			return nil, fmt.Errorf("%s: TimeToLiveSpecification: AttributeName is required when Enabled is true", spec.Origin)
		}
		d.TTL = &ttlDescription{TimeToLiveStatus: "ENABLED", AttributeName: ttl.AttributeName}
	}
	return d, nil
}

// Apply creates or updates the tables a deploy declares, all in one
// store transaction: either every table is as declared when it returns
// nil, or nothing changed. A table whose key schema (or local indexes)
// would change is refused while it holds items, since changing it would
// drop them. Tables no longer declared are kept.
func (s *Service) Apply(ctx context.Context, specs []TableSpec) error {
	want := make([]*tableDescription, len(specs))
	for i, spec := range specs {
		d, err := s.describeSpec(spec)
		if err != nil {
			return err
		}
		want[i] = d
	}
	for _, spec := range specs {
		s.cache.drop(spec.Name)
	}
	defer func() {
		for _, spec := range specs {
			s.cache.drop(spec.Name)
		}
	}()
	var refused error
	err := s.update(ctx, func(tx *store.Tx) error {
		refused = nil
		for i, d := range want {
			if err := s.applySpecTx(tx, specs[i], d); err != nil {
				var r *refusal
				if errors.As(err, &r) {
					refused = r
				}
				return err
			}
		}
		return nil
	})
	if refused != nil {
		return refused
	}
	return err
}

type refusal struct{ msg string }

func (r *refusal) Error() string { return r.msg }

func keyText(d *tableDescription, ks []keyElement) string {
	types := map[string]string{}
	for _, a := range d.AttributeDefinitions {
		types[a.AttributeName] = a.AttributeType
	}
	parts := make([]string, len(ks))
	for i, k := range ks {
		parts[i] = k.AttributeName + " (" + types[k.AttributeName] + ", " + k.KeyType + ")"
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// sameKeys reports whether two descriptions have the same table key and
// local indexes (what only a new table can change).
func sameKeys(a, b *tableDescription) bool {
	if keyText(a, a.KeySchema) != keyText(b, b.KeySchema) || len(a.LocalSecondaryIndexes) != len(b.LocalSecondaryIndexes) {
		return false
	}
	for i := range a.LocalSecondaryIndexes {
		x, y := a.LocalSecondaryIndexes[i], b.LocalSecondaryIndexes[i]
		if x.IndexName != y.IndexName || keyText(a, x.KeySchema) != keyText(b, y.KeySchema) || !reflect.DeepEqual(x.Projection, y.Projection) {
			return false
		}
	}
	return true
}

func (s *Service) applySpecTx(tx *store.Tx, spec TableSpec, want *tableDescription) error {
	have, err := loadTx(tx, spec.Name)
	if err != nil {
		return err
	}
	create := func() error {
		doc, _ := json.Marshal(want)
		if _, err := tx.Exec(`INSERT INTO dynamodb_tables (name, description) VALUES (?, ?)`, spec.Name, string(doc)); err != nil {
			return err
		}
		if want.StreamSpecification != nil {
			return openStreamTx(tx, want)
		}
		return nil
	}
	if have == nil {
		return create()
	}
	if !sameKeys(have, want) {
		var n int
		if err := tx.QueryRow(`SELECT COUNT(*) FROM dynamodb_items WHERE tbl = ?`, have.TableID).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return &refusal{fmt.Sprintf("%s: table %s: its key schema would change from %s to %s (or its local indexes would), which needs a new table and would drop its %d items; "+
				"delete the table first (aws dynamodb delete-table --table-name %s) or keep its keys", spec.Origin, spec.Name,
				keyText(have, have.KeySchema), keyText(want, want.KeySchema), n, spec.Name)}
		}
		if _, err := tx.Exec(`DELETE FROM dynamodb_index_keys WHERE tbl = ?`, have.TableID); err != nil {
			return err
		}
		if _, err := tx.Exec(`DELETE FROM dynamodb_tables WHERE name = ?`, spec.Name); err != nil {
			return err
		}
		if err := closeStreamsTx(tx, spec.Name); err != nil {
			return err
		}
		return create()
	}
	// The same table: keep its identity, items and streams; change what
	// UpdateTable could.
	d := *have
	d.AttributeDefinitions = want.AttributeDefinitions
	d.ProvisionedThroughput, d.BillingModeSummary = want.ProvisionedThroughput, want.BillingModeSummary
	d.DeletionProtection, d.Tags = want.DeletionProtection, want.Tags
	// global indexes: drop the ones gone or changed, add the new ones
	keep := map[string]bool{}
	for _, w := range want.GlobalSecondaryIndexes {
		for _, h := range have.GlobalSecondaryIndexes {
			if w.IndexName == h.IndexName && keyText(want, w.KeySchema) == keyText(have, h.KeySchema) && reflect.DeepEqual(w.Projection, h.Projection) {
				keep[w.IndexName] = true
			}
		}
	}
	d.GlobalSecondaryIndexes = nil
	for _, h := range have.GlobalSecondaryIndexes {
		if keep[h.IndexName] {
			d.GlobalSecondaryIndexes = append(d.GlobalSecondaryIndexes, h)
		} else if _, err := tx.Exec(`DELETE FROM dynamodb_index_keys WHERE tbl = ? AND idx = ?`, have.TableID, h.IndexName); err != nil {
			return err
		}
	}
	for _, w := range want.GlobalSecondaryIndexes {
		if !keep[w.IndexName] {
			ix := w
			ix.IndexArn, ix.IndexStatus = "", ""
			if e := s.addIndexTx(tx, &d, want.AttributeDefinitions, &ix); e != nil {
				return &refusal{spec.Origin + ": " + e.Message}
			}
		}
	}
	d.AttributeDefinitions = want.AttributeDefinitions
	// stream
	haveView, wantView := "", ""
	if have.StreamSpecification != nil && have.StreamSpecification.StreamEnabled {
		haveView = have.StreamSpecification.StreamViewType
	}
	if want.StreamSpecification != nil {
		wantView = want.StreamSpecification.StreamViewType
	}
	if haveView != wantView {
		if haveView != "" {
			if err := closeStreamsTx(tx, spec.Name); err != nil {
				return err
			}
			d.StreamSpecification = &streamSpecification{StreamEnabled: false}
		}
		if wantView != "" {
			d.StreamSpecification, d.LatestStreamLabel, d.LatestStreamArn = want.StreamSpecification, want.LatestStreamLabel, want.LatestStreamArn
			if err := openStreamTx(tx, &d); err != nil {
				return err
			}
		}
	}
	// time to live
	haveTTL, wantTTL := "", ""
	if have.TTL != nil && have.TTL.TimeToLiveStatus == "ENABLED" {
		haveTTL = have.TTL.AttributeName
	}
	if want.TTL != nil {
		wantTTL = want.TTL.AttributeName
	}
	d.TTL = want.TTL
	if d.TTL == nil && have.TTL != nil {
		d.TTL = &ttlDescription{TimeToLiveStatus: "DISABLED"}
	}
	if err := saveTx(tx, &d); err != nil {
		return err
	}
	if haveTTL != wantTTL {
		return markExpiriesTx(tx, newTable(&d))
	}
	return nil
}

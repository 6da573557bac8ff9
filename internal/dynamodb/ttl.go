package dynamodb

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/cockroachdb/apd/v3"

	"github.com/cloudlet/cloudlet/internal/awsapi"
	"github.com/cloudlet/cloudlet/internal/store"
)

type ttlSpecification struct {
	Enabled       *bool  `json:"Enabled"`
	AttributeName string `json:"AttributeName"`
}

type ttlDescription struct {
	TimeToLiveStatus string `json:"TimeToLiveStatus"`
	AttributeName    string `json:"AttributeName,omitempty"`
}

// updateTimeToLive serves UpdateTimeToLive: the setting is recorded with
// the table, and each item's expiry worked out (or cleared) at once.
func (s *Service) updateTimeToLive(r *http.Request, call *awsapi.Call) (any, *awsapi.Error) {
	var in struct {
		TableName               string            `json:"TableName"`
		TimeToLiveSpecification *ttlSpecification `json:"TimeToLiveSpecification"`
	}
	if e := decode(call, &in); e != nil {
		return nil, e
	}
	if e := s.checkTable(call, "UpdateTimeToLive", in.TableName); e != nil {
		return nil, e
	}
	spec := in.TimeToLiveSpecification
	switch {
	case spec == nil || spec.Enabled == nil:
		return nil, validation("1 validation error detected: Value null at 'timeToLiveSpecification.enabled' failed to satisfy constraint: Member must not be null")
	case spec.AttributeName == "" || len(spec.AttributeName) > 255:
		return nil, validation("1 validation error detected: Value '" + spec.AttributeName + "' at 'timeToLiveSpecification.attributeName' failed to satisfy constraint: Member must have length between 1 and 255")
	}
	var e *awsapi.Error
	err := s.update(r.Context(), func(tx *store.Tx) error {
		d, err := loadTx(tx, in.TableName)
		if err != nil || d == nil {
			e = notFound(in.TableName)
			return err
		}
		enabled := d.TTL != nil && d.TTL.TimeToLiveStatus == "ENABLED"
		switch {
		case *spec.Enabled && enabled:
			e = validation("TimeToLive is already enabled")
			return nil
		case !*spec.Enabled && !enabled:
			e = validation("TimeToLive is already disabled")
			return nil
		case !*spec.Enabled && d.TTL.AttributeName != spec.AttributeName:
			e = validation("TimeToLive is active on a different AttributeName: current AttributeName is " + d.TTL.AttributeName)
			return nil
		}
		if *spec.Enabled {
			d.TTL = &ttlDescription{TimeToLiveStatus: "ENABLED", AttributeName: spec.AttributeName}
		} else {
			d.TTL = &ttlDescription{TimeToLiveStatus: "DISABLED"}
		}
		b, _ := json.Marshal(d)
		if _, err = tx.Exec(`UPDATE dynamodb_tables SET description = ? WHERE name = ?`, string(b), in.TableName); err != nil {
			return err
		}
		return markExpiriesTx(tx, newTable(d))
	})
	s.cache.drop(in.TableName)
	if err != nil {
		return nil, internal(s, "update time to live", err)
	}
	if e != nil {
		return nil, e
	}
	return map[string]any{"TimeToLiveSpecification": map[string]any{"Enabled": *spec.Enabled, "AttributeName": spec.AttributeName}}, nil
}

func (s *Service) describeTimeToLive(r *http.Request, call *awsapi.Call) (any, *awsapi.Error) {
	var in struct {
		TableName string `json:"TableName"`
	}
	if e := decode(call, &in); e != nil {
		return nil, e
	}
	d, e := s.readTable(r, call, "DescribeTimeToLive", in.TableName)
	if e != nil {
		return nil, e
	}
	ttl := d.TTL
	if ttl == nil {
		ttl = &ttlDescription{TimeToLiveStatus: "DISABLED"}
	}
	return map[string]any{"TimeToLiveDescription": ttl}, nil
}

// describeEndpoints answers with this server's own endpoint, as the SDKs'
// endpoint discovery expects.
func (s *Service) describeEndpoints(r *http.Request, call *awsapi.Call) (any, *awsapi.Error) {
	if e := call.Authorize(ops.Op("DescribeEndpoints"), "*", nil, nil); e != nil {
		return nil, e
	}
	return map[string]any{"Endpoints": []map[string]any{{"Address": r.Host, "CachePeriodInMinutes": 1440}}}, nil
}

// ttlAttribute is the table's TTL attribute ("" when TTL is off).
func (t *table) ttlAttribute() string {
	if t.d.TTL != nil && t.d.TTL.TimeToLiveStatus == "ENABLED" {
		return t.d.TTL.AttributeName
	}
	return ""
}

// expiry is when it expires (Unix seconds), or nil: TTL on, and the TTL
// attribute a number.
func (t *table) expiry(it Item) any {
	name := t.ttlAttribute()
	if name == "" {
		return nil
	}
	v := it[name]
	if v == nil || v.T != kN {
		return nil
	}
	d := mustDecimal(v.S)
	i, err := d.Int64()
	if err != nil {
		var whole apd.Decimal
		numberContext.Floor(&whole, d)
		if i, err = whole.Int64(); err != nil {
			return nil
		}
	}
	return i
}

// markExpiriesTx works out every item's expiry after TTL is switched on,
// or clears them when it is switched off.
func markExpiriesTx(tx *store.Tx, t *table) error {
	if t.ttlAttribute() == "" {
		_, err := tx.Exec(`UPDATE dynamodb_items SET expires = NULL WHERE tbl = ?`, t.d.TableID)
		return err
	}
	items, err := itemsTx(tx, `SELECT hk, rk, item FROM dynamodb_items WHERE tbl = ?`, t.d.TableID)
	if err != nil {
		return err
	}
	for _, si := range items {
		if at := t.expiry(si.it); at != nil {
			if _, err := tx.Exec(`UPDATE dynamodb_items SET expires = ? WHERE tbl = ? AND hk = ? AND rk = ?`, at, t.d.TableID, si.hk, si.rk); err != nil {
				return err
			}
		}
	}
	return nil
}

// ttlService is who TTL deletions are recorded as in the stream.
var ttlService = &userIdentity{Type: "Service", PrincipalID: "dynamodb.amazonaws.com"}

// sweepBatch bounds the expired items one sweep deletes per table.
const sweepBatch = 100

// Sweep deletes expired items (TTL attribute in the past, but not more
// than five years, as DynamoDB ignores those), each with a REMOVE record
// by the DynamoDB service in the table's stream, and trims streams past
// their retention. It returns how many items it deleted.
func (s *Service) Sweep(ctx context.Context) (int, error) {
	now := time.Now()
	deleted := 0
	var names []string
	err := s.st.View(ctx, func(tx *store.Tx) error {
		rows, err := tx.Query(`SELECT name FROM dynamodb_tables`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var n string
			if err := rows.Scan(&n); err != nil {
				return err
			}
			names = append(names, n)
		}
		return rows.Err()
	})
	if err != nil {
		return 0, err
	}
	for _, name := range names {
		t, err := s.table(ctx, name)
		if err != nil {
			return deleted, err
		}
		if t == nil || t.ttlAttribute() == "" {
			continue
		}
		err = s.update(ctx, func(tx *store.Tx) error {
			t, err := currentTx(tx, t)
			if err != nil || t == nil || t.ttlAttribute() == "" {
				return err
			}
			n := 0
			all, err := itemsTx(tx, `SELECT hk, rk, item FROM dynamodb_items WHERE tbl = ? AND expires IS NOT NULL AND expires <= ? AND expires > ? LIMIT ?`,
				t.d.TableID, now.Unix(), now.AddDate(-5, 0, 0).Unix(), sweepBatch)
			if err != nil {
				return err
			}
			for _, g := range all {
				if err := writeItemTx(tx, t, g.hk, g.rk, g.it, nil); err != nil {
					return err
				}
				if err := s.recordTx(tx, t, g.it, nil, ttlService); err != nil {
					return err
				}
				n++
			}
			deleted += n
			return nil
		})
		if err != nil {
			return deleted, err
		}
	}
	return deleted, s.update(ctx, func(tx *store.Tx) error { return trimStreamsTx(tx, now) })
}

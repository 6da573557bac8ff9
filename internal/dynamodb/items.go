package dynamodb

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"

	"github.com/cloudlet/cloudlet/internal/awsapi"
	"github.com/cloudlet/cloudlet/internal/iam"
	"github.com/cloudlet/cloudlet/internal/store"
)

// maxItemSize is DynamoDB's item size limit.
const maxItemSize = 400 * 1024

// exprInput is the expression parameters every item operation shares.
type exprInput struct {
	ExpressionAttributeNames  map[string]string `json:"ExpressionAttributeNames"`
	ExpressionAttributeValues map[string]*Value `json:"ExpressionAttributeValues"`
	ReturnConsumedCapacity    string            `json:"ReturnConsumedCapacity"`
}

// context checks the names and values given and returns them for parsing;
// used says whether the request has any expression.
func (in *exprInput) context(used bool, exprParams string) (*exprContext, error) {
	if in.ExpressionAttributeValues != nil && len(in.ExpressionAttributeValues) == 0 {
		return nil, invalidValue("ExpressionAttributeValues must not be empty")
	}
	if in.ExpressionAttributeNames != nil && len(in.ExpressionAttributeNames) == 0 {
		return nil, invalidValue("ExpressionAttributeNames must not be empty")
	}
	if !used && in.ExpressionAttributeValues != nil {
		verb := "is"
		if strings.Contains(exprParams, " and ") {
			verb = "are"
		}
		return nil, invalidValue("ExpressionAttributeValues can only be specified when using expressions: %s %s null", exprParams, verb)
	}
	if !used && in.ExpressionAttributeNames != nil {
		return nil, invalidValue("ExpressionAttributeNames can only be specified when using expressions")
	}
	for _, v := range in.ExpressionAttributeValues {
		if err := checkValue(v); err != nil {
			return nil, err
		}
	}
	return newExprContext(in.ExpressionAttributeNames, in.ExpressionAttributeValues), nil
}

// checkValue refuses a null AttributeValue anywhere inside v.
func checkValue(v *Value) error {
	if v == nil {
		return invalidValue("Supplied AttributeValue is empty, must contain exactly one of the supported datatypes")
	}
	for _, e := range v.M {
		if err := checkValue(e); err != nil {
			return err
		}
	}
	for _, e := range v.L {
		if err := checkValue(e); err != nil {
			return err
		}
	}
	return nil
}

func checkItem(it Item) error {
	for _, v := range it {
		if err := checkValue(v); err != nil {
			return err
		}
	}
	return nil
}

// vErr turns a value or expression error into its ValidationException.
func vErr(err error) *awsapi.Error {
	var ve *valueError
	if errors.As(err, &ve) {
		return validation(ve.msg)
	}
	return validation(err.Error())
}

// keyOf works out an item's key bytes (PutItem's Item: extra attributes
// allowed) or a Key's (exact: only the key attributes).
func (t *table) keyOf(it Item, exact bool) (hk, rk []byte, err error) {
	bad := func() error { return invalidValue("The provided key element does not match the schema") }
	if exact && (len(it) != 1 && t.key.rng == "" || len(it) != 2 && t.key.rng != "") {
		return nil, nil, bad()
	}
	part := func(name string, k kind) ([]byte, error) {
		v := it[name]
		switch {
		case v == nil && exact:
			return nil, bad()
		case v == nil:
			return nil, invalidValue("One or more parameter values were invalid: Missing the key %s in the item", name)
		case v.T != k && exact:
			return nil, bad()
		case v.T != k:
			return nil, invalidValue("One or more parameter values were invalid: Type mismatch for key %s expected: %s actual: %s", name, k, v.T)
		case v.S == "" && k != kN:
			prefix := "One or more parameter values are not valid."
			if exact {
				prefix = "One or more parameter values were invalid:"
			}
			return nil, invalidValue("%s The AttributeValue for a key attribute cannot contain an empty %s value. Key: %s", prefix, map[kind]string{kS: "string", kB: "binary"}[k], name)
		case len(v.S) > 2048 && name == t.key.hash:
			return nil, invalidValue("One or more parameter values were invalid: Size of hashkey has exceeded the maximum size limit of2048 bytes")
		case len(v.S) > 1024 && name == t.key.rng:
			return nil, invalidValue("One or more parameter values were invalid: Aggregated size of all range keys has exceeded the size limit of 1024 bytes")
		}
		return keyBytes(v), nil
	}
	if hk, err = part(t.key.hash, t.key.hashT); err != nil {
		return nil, nil, err
	}
	rk = []byte{}
	if t.key.rng != "" {
		if rk, err = part(t.key.rng, t.key.rngT); err != nil {
			return nil, nil, err
		}
	}
	return hk, rk, nil
}

// keyItem is the key attributes of it.
func (t *table) keyItem(it Item) Item {
	k := Item{t.key.hash: it[t.key.hash]}
	if t.key.rng != "" {
		k[t.key.rng] = it[t.key.rng]
	}
	return k
}

// checkIndexKeys refuses an item whose index key attributes have the
// wrong type.
func (t *table) checkIndexKeys(it Item) error {
	for _, ix := range t.indexes {
		for _, p := range [][2]any{{ix.key.hash, ix.key.hashT}, {ix.key.rng, ix.key.rngT}} {
			name, k := p[0].(string), p[1].(kind)
			if name == "" {
				continue
			}
			if v := it[name]; v != nil {
				if v.T != k {
					return invalidValue("One or more parameter values were invalid: Type mismatch for Index Key %s Expected: %s Actual: %s IndexName: %s", name, k, v.T, ix.name)
				}
				if v.S == "" && k != kN {
					return invalidValue("One or more parameter values are not valid. A value specified for a secondary index key is not supported. The AttributeValue for a key attribute cannot contain an empty string value. IndexName: %s, IndexKey: %s", ix.name, name)
				}
			}
		}
	}
	return nil
}

// keyBlob is key bytes read back from the store: the driver reads an
// empty blob (a hash-only table's range key) as nil, which would bind as
// NULL and match nothing.
func keyBlob(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// storedItem is an item read back with its key bytes.
type storedItem struct {
	hk, rk []byte
	it     Item
}

// itemsTx reads every item a query selects (its columns: hk, rk, item)
// before it returns, so that the caller may write in the same
// transaction.
func itemsTx(tx *store.Tx, query string, args ...any) ([]storedItem, error) {
	rows, err := tx.Query(query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []storedItem
	for rows.Next() {
		var si storedItem
		var doc []byte
		if err := rows.Scan(&si.hk, &si.rk, &doc); err != nil {
			return nil, err
		}
		si.rk = keyBlob(si.rk)
		if si.it, err = decodeItem(doc); err != nil {
			return nil, err
		}
		out = append(out, si)
	}
	return out, rows.Err()
}

// readItemTx reads the item with key (hk, rk); nil when there is none.
func readItemTx(tx *store.Tx, t *table, hk, rk []byte) (Item, error) {
	var doc []byte
	err := tx.QueryRow(`SELECT item FROM dynamodb_items WHERE tbl = ? AND hk = ? AND rk = ?`, t.d.TableID, hk, rk).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return decodeItem(doc)
}

// writeItemTx replaces the item at (hk, rk) with it (nil: deletes it),
// keeping the secondary indexes' entries in step. old is the item there
// now (nil: none).
func writeItemTx(tx *store.Tx, t *table, hk, rk []byte, old, it Item) error {
	if len(t.indexes) > 0 && old != nil {
		if _, err := tx.Exec(`DELETE FROM dynamodb_index_keys WHERE tbl = ? AND thk = ? AND trk = ?`, t.d.TableID, hk, rk); err != nil {
			return err
		}
	}
	if it == nil {
		if old == nil {
			return nil
		}
		_, err := tx.Exec(`DELETE FROM dynamodb_items WHERE tbl = ? AND hk = ? AND rk = ?`, t.d.TableID, hk, rk)
		return err
	}
	doc := appendItem(nil, it)
	if _, err := tx.Exec(`INSERT INTO dynamodb_items (tbl, hk, rk, item, size, expires) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (tbl, hk, rk) DO UPDATE SET item = excluded.item, size = excluded.size, expires = excluded.expires`,
		t.d.TableID, hk, rk, doc, it.size(), t.expiry(it)); err != nil {
		return err
	}
	for _, ix := range t.indexes {
		h := it[ix.key.hash]
		if h == nil {
			continue
		}
		r := []byte{}
		if ix.key.rng != "" {
			v := it[ix.key.rng]
			if v == nil {
				continue
			}
			r = keyBytes(v)
		}
		if _, err := tx.Exec(`INSERT INTO dynamodb_index_keys (tbl, idx, hk, rk, thk, trk) VALUES (?, ?, ?, ?, ?, ?)`,
			t.d.TableID, ix.name, keyBytes(h), r, hk, rk); err != nil {
			return err
		}
	}
	return nil
}

// capacity is ConsumedCapacity for one table.
type capacity struct {
	TableName          string   `json:"TableName"`
	CapacityUnits      float64  `json:"CapacityUnits"`
	ReadCapacityUnits  *float64 `json:"ReadCapacityUnits,omitempty"`
	WriteCapacityUnits *float64 `json:"WriteCapacityUnits,omitempty"`
	Table              *struct {
		CapacityUnits float64 `json:"CapacityUnits"`
	} `json:"Table,omitempty"`
}

// writeUnits is what writing an item of size bytes costs: one unit per
// KB, at least one.
func writeUnits(size int) float64 { return math.Max(1, math.Ceil(float64(size)/1024)) }

// readUnits is what reading size bytes costs: one unit per 4 KB, at least
// one; half for an eventually consistent read.
func readUnits(size int, consistent bool) float64 {
	u := math.Max(1, math.Ceil(float64(size)/4096))
	if !consistent {
		u /= 2
	}
	return u
}

// consumed is the ConsumedCapacity to answer, or nil when not asked for.
func consumed(mode, tableName string, units float64, write bool) *capacity {
	if mode != "TOTAL" && mode != "INDEXES" {
		return nil
	}
	c := &capacity{TableName: tableName, CapacityUnits: units}
	u := units
	if write {
		c.WriteCapacityUnits = &u
	} else {
		c.ReadCapacityUnits = &u
	}
	if mode == "INDEXES" {
		c.Table = &struct {
			CapacityUnits float64 `json:"CapacityUnits"`
		}{units}
	}
	return c
}

// authorizeItem authorizes op on t for a request reaching the items whose
// hash keys are leading, naming attrs, with the request's Select and
// ReturnValues: DynamoDB's condition keys.
func (s *Service) authorizeItem(call *awsapi.Call, op, tableName string, leading []*Value, attrs []string, sel, ret string) *awsapi.Error {
	return call.Authorize(ops.Op(op), s.tableARN(tableName), nil, func(c *iam.Context) {
		if leading != nil {
			keys := make([]string, 0, len(leading))
			for _, v := range leading {
				if v != nil {
					keys = append(keys, v.S)
				}
			}
			c.SetMulti("dynamodb:leadingkeys", keys)
		}
		if attrs != nil {
			c.SetMulti("dynamodb:attributes", attrs)
		}
		if sel != "" {
			c.Set("dynamodb:select", sel)
		}
		if ret != "" {
			c.Set("dynamodb:returnvalues", ret)
		}
	})
}

// findTable checks the table name and finds the table: the start of
// every item operation. The caller authorizes the operation with its
// condition keys (authorizeItem) before it uses the table or answers
// anything about it; a table that is not there is answered
// ResourceNotFound only to a caller who may perform op on it.
func (s *Service) findTable(r *http.Request, call *awsapi.Call, op, name, sel, ret string) (*table, *awsapi.Error) {
	if name == "" {
		return nil, validation("1 validation error detected: Value null at 'tableName' failed to satisfy constraint: Member must not be null")
	}
	if e := checkTableName(name); e != nil {
		return nil, e
	}
	t, err := s.table(r.Context(), name)
	if err != nil {
		return nil, internal(s, op, err)
	}
	if t == nil {
		if e := s.authorizeItem(call, op, name, nil, nil, sel, ret); e != nil {
			return nil, e
		}
		return nil, noTable()
	}
	return t, nil
}

// noTable is the data plane's answer for a table that is not there.
func noTable() *awsapi.Error {
	return &awsapi.Error{Code: "ResourceNotFoundException", Status: 400, Message: "Requested resource not found"}
}

func attrNames(it Item) []string {
	out := make([]string, 0, len(it))
	for k := range it {
		out = append(out, k)
	}
	return out
}

func conditionFailed(old Item, ret string) *awsapi.Error {
	e := &awsapi.Error{Code: "ConditionalCheckFailedException", Status: 400, Message: "The conditional request failed"}
	if ret == "ALL_OLD" && old != nil {
		e.Extra = map[string]any{"Item": old}
	}
	return e
}

func checkEnum(field, v string, allowed ...string) *awsapi.Error {
	if v == "" {
		return nil
	}
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return validation(fmt.Sprintf("1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: Member must satisfy enum value set: %v", v, field, allowed))
}

// ---- GetItem ----

func (s *Service) getItem(r *http.Request, call *awsapi.Call) (any, *awsapi.Error) {
	var in struct {
		exprInput
		TableName            string   `json:"TableName"`
		Key                  Item     `json:"Key"`
		ConsistentRead       bool     `json:"ConsistentRead"`
		ProjectionExpression *string  `json:"ProjectionExpression"`
		AttributesToGet      []string `json:"AttributesToGet"`
	}
	if e := decode(call, &in); e != nil {
		return nil, e
	}
	if in.Key == nil {
		return nil, validation("1 validation error detected: Value null at 'key' failed to satisfy constraint: Member must not be null")
	}
	if err := checkItem(in.Key); err != nil {
		return nil, vErr(err)
	}
	x, err := in.context(in.ProjectionExpression != nil, "")
	if err != nil {
		return nil, vErr(err)
	}
	paths, err := projection_(x, in.ProjectionExpression, in.AttributesToGet)
	if err == nil {
		err = x.unused()
	}
	if err != nil {
		return nil, vErr(err)
	}
	t, e := s.findTable(r, call, "GetItem", in.TableName, "", "")
	if e != nil {
		return nil, e
	}
	if e := s.authorizeItem(call, "GetItem", in.TableName, []*Value{in.Key[t.key.hash]}, pathNames(paths), "", ""); e != nil {
		return nil, e
	}
	hk, rk, err := t.keyOf(in.Key, true)
	if err != nil {
		return nil, vErr(err)
	}
	var doc []byte
	size := 0
	err = s.st.View(r.Context(), func(tx *store.Tx) error {
		err := tx.QueryRow(`SELECT item, size FROM dynamodb_items WHERE tbl = ? AND hk = ? AND rk = ?`, t.d.TableID, hk, rk).Scan(&doc, &size)
		if errors.Is(err, sql.ErrNoRows) {
			doc, err = nil, nil
		}
		return err
	})
	if err != nil {
		return nil, internal(s, "get item", err)
	}
	// The item goes out as it is kept unless it is projected.
	b := make([]byte, 0, len(doc)+64)
	b = append(b, '{')
	if doc != nil {
		b = append(b, `"Item":`...)
		if paths != nil {
			it, err := decodeItem(doc)
			if err != nil {
				return nil, internal(s, "get item", err)
			}
			b = appendItem(b, project(it, paths))
		} else {
			b = append(b, doc...)
		}
	}
	if cc := consumed(in.ReturnConsumedCapacity, t.d.TableName, readUnits(size, in.ConsistentRead), false); cc != nil {
		j, _ := json.Marshal(cc)
		if doc != nil {
			b = append(b, ',')
		}
		b = append(b, `"ConsumedCapacity":`...)
		b = append(b, j...)
	}
	return rawBody(append(b, '}')), nil
}

// projection_ parses ProjectionExpression or the legacy AttributesToGet
// (never both); nil paths mean the whole item.
func projection_(x *exprContext, expr *string, attrs []string) ([]docPath, error) {
	if expr != nil && attrs != nil {
		return nil, invalidValue("Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {AttributesToGet} Expression parameters: {ProjectionExpression}")
	}
	if expr != nil {
		return parseProjection(*expr, x)
	}
	if attrs != nil {
		if dupes(attrs) {
			return nil, invalidValue("One or more parameter values were invalid: Duplicate value in attribute name: %s", attrs[0])
		}
		out := make([]docPath, len(attrs))
		for i, a := range attrs {
			out[i] = docPath{{name: a}}
		}
		return out, nil
	}
	return nil, nil
}

// pathNames is the top-level attribute names of paths (for
// dynamodb:Attributes); nil when paths is nil.
func pathNames(paths []docPath) []string {
	if paths == nil {
		return nil
	}
	out := make([]string, 0, len(paths))
	for _, p := range paths {
		out = append(out, p[0].name)
	}
	return out
}

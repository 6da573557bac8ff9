package dynamodb

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/cloudlet/cloudlet/internal/awsapi"
	"github.com/cloudlet/cloudlet/internal/store"
)

// This file serves the multi-item operations: BatchGetItem,
// BatchWriteItem, TransactGetItems and TransactWriteItems.

// sortedTables is a batch's table names in order, so that a batch is
// checked and applied the same way every time.
func sortedTables[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// itemID names an item uniquely within a request (table and key bytes).
func itemID(table string, hk, rk []byte) string {
	return table + "\x00" + string(hk) + "\x00" + string(rk)
}

// maxBatchResponse is BatchGetItem's 16 MB answer limit.
const maxBatchResponse = 16 << 20

type keysAndAttributes struct {
	Keys                     []Item            `json:"Keys"`
	ProjectionExpression     *string           `json:"ProjectionExpression"`
	ExpressionAttributeNames map[string]string `json:"ExpressionAttributeNames"`
	AttributesToGet          []string          `json:"AttributesToGet"`
	ConsistentRead           bool              `json:"ConsistentRead"`
}

func (s *Service) batchGetItem(r *http.Request, call *awsapi.Call) (any, *awsapi.Error) {
	var in struct {
		RequestItems           map[string]keysAndAttributes `json:"RequestItems"`
		ReturnConsumedCapacity string                       `json:"ReturnConsumedCapacity"`
	}
	if e := decode(call, &in); e != nil {
		return nil, e
	}
	if len(in.RequestItems) == 0 {
		return nil, validation("1 validation error detected: Value null at 'requestItems' failed to satisfy constraint: Member must have length greater than or equal to 1")
	}
	total := 0
	for _, ka := range in.RequestItems {
		total += len(ka.Keys)
	}
	if total > 100 {
		return nil, validation("Too many items requested for the BatchGetItem call")
	}
	type get struct {
		t      *table
		key    Item
		hk, rk []byte
		paths  []docPath
	}
	var gets []get
	seen := map[string]bool{}
	for _, name := range sortedTables(in.RequestItems) {
		ka := in.RequestItems[name]
		if len(ka.Keys) == 0 {
			return nil, validation("1 validation error detected: Value '[]' at 'requestItems." + name + ".member.keys' failed to satisfy constraint: Member must have length greater than or equal to 1")
		}
		x := newExprContext(ka.ExpressionAttributeNames, nil)
		paths, err := projection_(x, ka.ProjectionExpression, ka.AttributesToGet)
		if err == nil {
			err = x.unused()
		}
		if err != nil {
			return nil, vErr(err)
		}
		t, e := s.findTable(r, call, "BatchGetItem", name, "", "")
		if e != nil {
			return nil, e
		}
		leading := make([]*Value, 0, len(ka.Keys))
		for _, k := range ka.Keys {
			if err := checkItem(k); err != nil {
				return nil, vErr(err)
			}
			hk, rk, err := t.keyOf(k, true)
			if err != nil {
				return nil, vErr(err)
			}
			id := itemID(name, hk, rk)
			if seen[id] {
				return nil, validation("Provided list of item keys contains duplicates")
			}
			seen[id] = true
			leading = append(leading, k[t.key.hash])
			gets = append(gets, get{t: t, key: k, hk: hk, rk: rk, paths: paths})
		}
		if e := s.authorizeItem(call, "BatchGetItem", name, leading, pathNames(paths), "", ""); e != nil {
			return nil, e
		}
	}
	responses := map[string][]Item{}
	unprocessed := map[string]keysAndAttributes{}
	units := map[string]float64{}
	err := s.st.View(r.Context(), func(tx *store.Tx) error {
		size := 0
		for _, g := range gets {
			name := g.t.d.TableName
			if size > maxBatchResponse {
				ka := unprocessed[name]
				ka.Keys = append(ka.Keys, g.key)
				src := in.RequestItems[name]
				ka.ProjectionExpression, ka.ExpressionAttributeNames, ka.AttributesToGet, ka.ConsistentRead =
					src.ProjectionExpression, src.ExpressionAttributeNames, src.AttributesToGet, src.ConsistentRead
				unprocessed[name] = ka
				continue
			}
			it, err := readItemTx(tx, g.t, g.hk, g.rk)
			if err != nil {
				return err
			}
			units[name] += readUnits(it.size(), in.RequestItems[name].ConsistentRead)
			if _, ok := responses[name]; !ok {
				responses[name] = []Item{}
			}
			if it != nil {
				size += it.size()
				responses[name] = append(responses[name], project(it, g.paths))
			}
		}
		return nil
	})
	if err != nil {
		return nil, internal(s, "batch get item", err)
	}
	out := map[string]any{"Responses": responses, "UnprocessedKeys": unprocessed}
	if cc := consumedList(in.ReturnConsumedCapacity, units, false); cc != nil {
		out["ConsumedCapacity"] = cc
	}
	return out, nil
}

func consumedList(mode string, units map[string]float64, write bool) []*capacity {
	var out []*capacity
	for _, name := range sortedTables(units) {
		if c := consumed(mode, name, units[name], write); c != nil {
			out = append(out, c)
		}
	}
	return out
}

type writeRequest struct {
	PutRequest *struct {
		Item Item `json:"Item"`
	} `json:"PutRequest"`
	DeleteRequest *struct {
		Key Item `json:"Key"`
	} `json:"DeleteRequest"`
}

func (s *Service) batchWriteItem(r *http.Request, call *awsapi.Call) (any, *awsapi.Error) {
	var in struct {
		RequestItems           map[string][]writeRequest `json:"RequestItems"`
		ReturnConsumedCapacity string                    `json:"ReturnConsumedCapacity"`
	}
	if e := decode(call, &in); e != nil {
		return nil, e
	}
	if len(in.RequestItems) == 0 {
		return nil, validation("1 validation error detected: Value null at 'requestItems' failed to satisfy constraint: Member must have length greater than or equal to 1")
	}
	total := 0
	for name, reqs := range in.RequestItems {
		if len(reqs) == 0 || len(reqs) > 25 {
			return nil, validation("1 validation error detected: Value '{" + name + "=[...]}' at 'requestItems' failed to satisfy constraint: Map value must satisfy constraint: [Member must have length less than or equal to 25, Member must have length greater than or equal to 1]")
		}
		total += len(reqs)
	}
	if total > 25 {
		return nil, validation("Too many items requested for the BatchWriteItem call")
	}
	var writes []*writeOp
	seen := map[string]bool{}
	for _, name := range sortedTables(in.RequestItems) {
		for _, req := range in.RequestItems[name] {
			var wi writeInputs
			wi.TableName = name
			k, op := wPut, "BatchWriteItem"
			switch {
			case req.PutRequest != nil && req.DeleteRequest != nil, req.PutRequest == nil && req.DeleteRequest == nil:
				return nil, validation("Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes")
			case req.PutRequest != nil:
				wi.Item = req.PutRequest.Item
			default:
				k, wi.Key = wDelete, req.DeleteRequest.Key
			}
			w, e := s.prepare(r, call, k, op, &wi)
			if e != nil {
				return nil, e
			}
			id := itemID(name, w.hk, w.rk)
			if seen[id] {
				return nil, validation("Provided list of item keys contains duplicates")
			}
			seen[id] = true
			writes = append(writes, w)
		}
	}
	units := map[string]float64{}
	err := s.update(r.Context(), func(tx *store.Tx) error {
		clear(units)
		for _, w := range writes {
			a, err := s.applyTx(tx, w)
			if err != nil {
				return err
			}
			if a.fail != nil {
				return a.fail // the table went away: nothing of the batch applies
			}
			units[w.t.d.TableName] += a.units()
		}
		return nil
	})
	if e, ok := err.(*awsapi.Error); ok {
		return nil, e
	}
	if err != nil {
		return nil, internal(s, "batch write item", err)
	}
	out := map[string]any{"UnprocessedItems": map[string]any{}}
	if cc := consumedList(in.ReturnConsumedCapacity, units, true); cc != nil {
		out["ConsumedCapacity"] = cc
	}
	return out, nil
}

func (s *Service) transactGetItems(r *http.Request, call *awsapi.Call) (any, *awsapi.Error) {
	var in struct {
		TransactItems []struct {
			Get *struct {
				TableName                string            `json:"TableName"`
				Key                      Item              `json:"Key"`
				ProjectionExpression     *string           `json:"ProjectionExpression"`
				ExpressionAttributeNames map[string]string `json:"ExpressionAttributeNames"`
			} `json:"Get"`
		} `json:"TransactItems"`
		ReturnConsumedCapacity string `json:"ReturnConsumedCapacity"`
	}
	if e := decode(call, &in); e != nil {
		return nil, e
	}
	if len(in.TransactItems) == 0 || len(in.TransactItems) > 100 {
		return nil, validation("1 validation error detected: Value '[...]' at 'transactItems' failed to satisfy constraint: Member must have length less than or equal to 100 and greater than or equal to 1")
	}
	type get struct {
		t      *table
		hk, rk []byte
		paths  []docPath
	}
	gets := make([]get, len(in.TransactItems))
	for i, ti := range in.TransactItems {
		g := ti.Get
		if g == nil {
			return nil, validation("1 validation error detected: Value null at 'transactItems." + itoa(i+1) + ".member.get' failed to satisfy constraint: Member must not be null")
		}
		x := newExprContext(g.ExpressionAttributeNames, nil)
		paths, err := projection_(x, g.ProjectionExpression, nil)
		if err == nil {
			err = x.unused()
		}
		if err != nil {
			return nil, vErr(err)
		}
		if g.Key == nil {
			return nil, validation("1 validation error detected: Value null at 'key' failed to satisfy constraint: Member must not be null")
		}
		if err := checkItem(g.Key); err != nil {
			return nil, vErr(err)
		}
		t, e := s.findTable(r, call, "GetItem", g.TableName, "", "")
		if e != nil {
			return nil, e
		}
		if e := s.authorizeItem(call, "GetItem", g.TableName, []*Value{g.Key[t.key.hash]}, pathNames(paths), "", ""); e != nil {
			return nil, e
		}
		hk, rk, err := t.keyOf(g.Key, true)
		if err != nil {
			return nil, vErr(err)
		}
		gets[i] = get{t, hk, rk, paths}
	}
	responses := make([]map[string]any, len(gets))
	units := map[string]float64{}
	err := s.st.View(r.Context(), func(tx *store.Tx) error {
		for i, g := range gets {
			it, err := readItemTx(tx, g.t, g.hk, g.rk)
			if err != nil {
				return err
			}
			units[g.t.d.TableName] += 2 * readUnits(it.size(), true)
			responses[i] = map[string]any{}
			if it != nil {
				responses[i]["Item"] = project(it, g.paths)
			}
		}
		return nil
	})
	if err != nil {
		return nil, internal(s, "transact get items", err)
	}
	out := map[string]any{"Responses": responses}
	if cc := consumedList(in.ReturnConsumedCapacity, units, false); cc != nil {
		out["ConsumedCapacity"] = cc
	}
	return out, nil
}

// tokenLife is how long a ClientRequestToken makes a repeated
// TransactWriteItems idempotent.
const tokenLife = 10 * time.Minute

func (s *Service) transactWriteItems(r *http.Request, call *awsapi.Call) (any, *awsapi.Error) {
	var in struct {
		TransactItems []struct {
			ConditionCheck *writeInputs `json:"ConditionCheck"`
			Put            *writeInputs `json:"Put"`
			Delete         *writeInputs `json:"Delete"`
			Update         *writeInputs `json:"Update"`
		} `json:"TransactItems"`
		ClientRequestToken     *string `json:"ClientRequestToken"`
		ReturnConsumedCapacity string  `json:"ReturnConsumedCapacity"`
	}
	if e := decode(call, &in); e != nil {
		return nil, e
	}
	if len(in.TransactItems) == 0 || len(in.TransactItems) > 100 {
		return nil, validation("1 validation error detected: Value '[...]' at 'transactItems' failed to satisfy constraint: Member must have length less than or equal to 100 and greater than or equal to 1")
	}
	if in.ClientRequestToken != nil && (len(*in.ClientRequestToken) < 1 || len(*in.ClientRequestToken) > 36) {
		return nil, validation("1 validation error detected: Value '" + *in.ClientRequestToken + "' at 'clientRequestToken' failed to satisfy constraint: Member must have length less than or equal to 36")
	}
	writes := make([]*writeOp, len(in.TransactItems))
	seen := map[string]bool{}
	for i, ti := range in.TransactItems {
		var w *writeOp
		var e *awsapi.Error
		n := 0
		for _, c := range []struct {
			in *writeInputs
			k  writeKind
			op string
		}{{ti.ConditionCheck, wCheck, "ConditionCheckItem"}, {ti.Put, wPut, "PutItem"}, {ti.Delete, wDelete, "DeleteItem"}, {ti.Update, wUpdate, "UpdateItem"}} {
			if c.in == nil {
				continue
			}
			n++
			if c.k == wCheck && c.in.ConditionExpression == nil {
				return nil, validation("1 validation error detected: Value null at 'transactItems." + itoa(i+1) + ".member.conditionCheck.conditionExpression' failed to satisfy constraint: Member must not be null")
			}
			w, e = s.prepare(r, call, c.k, c.op, c.in)
			if e != nil {
				return nil, e
			}
		}
		if n != 1 {
			return nil, validation("TransactItems can only contain one of Check, Put, Update or Delete")
		}
		id := itemID(w.t.d.TableName, w.hk, w.rk)
		if seen[id] {
			return nil, validation("Transaction request cannot include multiple operations on one item")
		}
		seen[id] = true
		writes[i] = w
	}
	canonical, _ := json.Marshal(in.TransactItems) // maps in key order, whatever order the client sent
	digest := sha256.Sum256(canonical)
	units := map[string]float64{}
	var fail *awsapi.Error
	err := s.update(r.Context(), func(tx *store.Tx) error {
		clear(units)
		fail = nil
		if in.ClientRequestToken != nil {
			done, e, err := tokenTx(tx, *in.ClientRequestToken, hex.EncodeToString(digest[:]))
			if err != nil || done || e != nil {
				fail = e
				return err
			}
		}
		reasons := make([]map[string]any, len(writes))
		failed := false
		for i, w := range writes {
			a, err := s.applyTx(tx, w)
			if err != nil {
				return err
			}
			reasons[i] = map[string]any{"Code": "None"}
			if a.fail != nil {
				failed = true
				reason := map[string]any{"Code": strings.TrimSuffix(a.fail.Code, "Exception"), "Message": a.fail.Message}
				switch a.fail.Code {
				case "ValidationException":
					reason["Code"] = "ValidationError"
				case "ResourceNotFoundException":
					fail = a.fail
					return fail
				}
				if it, ok := a.fail.Extra["Item"]; ok {
					reason["Item"] = it
				}
				reasons[i] = reason
			}
			units[w.t.d.TableName] += 2 * a.units()
		}
		if failed {
			codes := make([]string, len(reasons))
			for i, rs := range reasons {
				codes[i] = rs["Code"].(string)
			}
			fail = &awsapi.Error{Code: "TransactionCanceledException", Status: 400,
				Message: "Transaction cancelled, please refer cancellation reasons for specific reasons [" + strings.Join(codes, ", ") + "]",
				Extra:   map[string]any{"CancellationReasons": reasons}}
			return fail // undo every write of the transaction
		}
		return nil
	})
	if fail != nil {
		return nil, fail
	}
	if err != nil {
		return nil, internal(s, "transact write items", err)
	}
	out := map[string]any{}
	if cc := consumedList(in.ReturnConsumedCapacity, units, true); cc != nil {
		out["ConsumedCapacity"] = cc
	}
	return out, nil
}

// tokenTx records a ClientRequestToken for a transaction with digest:
// done when the same transaction ran with it in the last ten minutes, an
// error when another one did.
func tokenTx(tx *store.Tx, token, digest string) (done bool, e *awsapi.Error, err error) {
	now := time.Now()
	if _, err := tx.Exec(`DELETE FROM dynamodb_tokens WHERE at < ?`, now.Add(-tokenLife).UnixMilli()); err != nil {
		return false, nil, err
	}
	var had string
	switch err := tx.QueryRow(`SELECT digest FROM dynamodb_tokens WHERE token = ?`, token).Scan(&had); {
	case err == nil && had == digest:
		return true, nil, nil
	case err == nil:
		return false, &awsapi.Error{Code: "IdempotentParameterMismatchException", Status: 400,
			Message: "The request uses the same client token as a previous, but non-identical request."}, nil
	}
	_, err = tx.Exec(`INSERT INTO dynamodb_tokens (token, digest, at) VALUES (?, ?, ?)`, token, digest, now.UnixMilli())
	return false, nil, err
}

package dynamodb

import (
	"net/http"

	"github.com/cloudlet/cloudlet/internal/awsapi"
	"github.com/cloudlet/cloudlet/internal/store"
)

// The write operations (PutItem, UpdateItem, DeleteItem, and the
// ConditionCheck of transactions) share one shape: a request is checked
// and parsed into a writeOp outside the store, then applied in a store
// transaction (alone, in a batch or in a transaction).

type writeKind uint8

const (
	wPut writeKind = iota + 1
	wUpdate
	wDelete
	wCheck
)

// writeOp is one checked write, ready to apply.
type writeOp struct {
	kind      writeKind
	t         *table
	hk, rk    []byte
	key       Item
	item      Item // wPut
	actions   []updateAction
	cond      *cond
	retOnFail string
}

// applied is what applying a writeOp did.
type applied struct {
	old, new Item
	fail     *awsapi.Error // the condition failed, or the update could not apply
}

// applyTx applies w in tx.
func (s *Service) applyTx(tx *store.Tx, w *writeOp) (applied, error) {
	var a applied
	t, err := currentTx(tx, w.t)
	if err != nil || t == nil {
		a.fail = noTable()
		return a, err
	}
	old, err := readItemTx(tx, t, w.hk, w.rk)
	if err != nil {
		return a, err
	}
	a.old = old
	if w.cond != nil && !w.cond.holds(old) {
		a.fail = conditionFailed(old, w.retOnFail)
		return a, nil
	}
	switch w.kind {
	case wCheck:
		return a, nil
	case wPut:
		if t != w.t {
			if err := t.checkIndexKeys(w.item); err != nil {
				a.fail = vErr(err)
				return a, nil
			}
		}
		a.new = w.item
	case wDelete:
		if old == nil {
			return a, nil
		}
	case wUpdate:
		it := w.key.clone()
		if old != nil {
			it = old.clone()
		}
		if err := apply(it, w.actions); err != nil {
			a.fail = vErr(err)
			return a, nil
		}
		if err := t.checkIndexKeys(it); err != nil {
			a.fail = vErr(err)
			return a, nil
		}
		if it.size() > maxItemSize {
			a.fail = validation("Item size to update has exceeded the maximum allowed size")
			return a, nil
		}
		a.new = it
	}
	if err := writeItemTx(tx, t, w.hk, w.rk, old, a.new); err != nil {
		return a, err
	}
	return a, s.recordChange(tx, t, old, a.new)
}

// units is the write capacity applying w consumed.
func (a applied) units() float64 { return writeUnits(max(a.old.size(), a.new.size())) }

// writeCond parses a write's condition: ConditionExpression, or the legacy
// Expected with ConditionalOperator (never both).
func writeCond(x *exprContext, expr *string, expected map[string]expectedAttr, op string) (*cond, error) {
	if expr != nil && expected != nil {
		return nil, invalidValue("Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {Expected} Expression parameters: {ConditionExpression}")
	}
	if expr != nil {
		return parseCondition("ConditionExpression", *expr, x)
	}
	if expected != nil {
		return legacyCond(expected, op, "Expected")
	}
	return nil, nil
}

// writeInput is the parameters every write shares.
type writeInput struct {
	exprInput
	TableName                           string                  `json:"TableName"`
	ConditionExpression                 *string                 `json:"ConditionExpression"`
	ReturnValues                        string                  `json:"ReturnValues"`
	ReturnValuesOnConditionCheckFailure string                  `json:"ReturnValuesOnConditionCheckFailure"`
	Expected                            map[string]expectedAttr `json:"Expected"`
	ConditionalOperator                 string                  `json:"ConditionalOperator"`
}

// writeInputs are PutItem's, UpdateItem's, DeleteItem's and
// ConditionCheck's parameters, each using its own.
type writeInputs struct {
	writeInput
	Item             Item                       `json:"Item"`
	Key              Item                       `json:"Key"`
	UpdateExpression *string                    `json:"UpdateExpression"`
	AttributeUpdates map[string]attributeUpdate `json:"AttributeUpdates"`
}

// prepare checks and parses a write of kind k; op is the IAM operation
// it is authorized as.
func (s *Service) prepare(r *http.Request, call *awsapi.Call, k writeKind, op string, in *writeInputs) (*writeOp, *awsapi.Error) {
	switch in.ReturnValues {
	case "", "NONE":
	case "ALL_OLD":
		if k == wCheck {
			return nil, validation("Return values set to invalid value")
		}
	case "UPDATED_OLD", "ALL_NEW", "UPDATED_NEW":
		if k != wUpdate {
			return nil, validation("Return values set to invalid value")
		}
	default:
		return nil, validation("Return values set to invalid value")
	}
	if e := checkEnum("returnValuesOnConditionCheckFailure", in.ReturnValuesOnConditionCheckFailure, "ALL_OLD", "NONE"); e != nil {
		return nil, e
	}
	w := &writeOp{kind: k, retOnFail: in.ReturnValuesOnConditionCheckFailure}
	subject := in.Key
	if k == wPut {
		if in.Item == nil {
			return nil, validation("1 validation error detected: Value null at 'item' failed to satisfy constraint: Member must not be null")
		}
		subject = in.Item
	} else if in.Key == nil {
		return nil, validation("1 validation error detected: Value null at 'key' failed to satisfy constraint: Member must not be null")
	}
	if err := checkItem(subject); err != nil {
		return nil, vErr(err)
	}
	if k == wUpdate && in.UpdateExpression != nil && in.AttributeUpdates != nil {
		return nil, validation("Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {AttributeUpdates} Expression parameters: {UpdateExpression}")
	}
	exprParams := "ConditionExpression"
	if k == wUpdate {
		exprParams = "UpdateExpression and ConditionExpression"
	}
	x, err := in.context(in.ConditionExpression != nil || k == wUpdate && in.UpdateExpression != nil, exprParams)
	if err != nil {
		return nil, vErr(err)
	}
	if k == wUpdate {
		if in.UpdateExpression != nil {
			w.actions, err = parseUpdate(*in.UpdateExpression, x)
		} else if in.AttributeUpdates != nil {
			w.actions, err = legacyUpdates(in.AttributeUpdates)
		}
		if err != nil {
			return nil, vErr(err)
		}
	}
	if w.cond, err = writeCond(x, in.ConditionExpression, in.Expected, in.ConditionalOperator); err == nil {
		err = x.unused()
	}
	if err != nil {
		return nil, vErr(err)
	}
	t, e := s.findTable(r, call, op, in.TableName, "", in.ReturnValues)
	if e != nil {
		return nil, e
	}
	w.t = t
	var attrs []string
	switch k {
	case wPut:
		attrs = attrNames(in.Item)
	case wUpdate:
		for _, a := range w.actions {
			attrs = append(attrs, a.path[0].name)
		}
	}
	if e := s.authorizeItem(call, op, in.TableName, []*Value{subject[t.key.hash]}, attrs, "", in.ReturnValues); e != nil {
		return nil, e
	}
	for _, a := range w.actions {
		if t.isKey(a.path[0].name) {
			return nil, validation("One or more parameter values were invalid: Cannot update attribute " + a.path[0].name + ". This attribute is part of the key")
		}
	}
	if w.hk, w.rk, err = t.keyOf(subject, k != wPut); err != nil {
		return nil, vErr(err)
	}
	w.key = t.keyItem(subject)
	if k == wPut {
		if err := t.checkIndexKeys(in.Item); err != nil {
			return nil, vErr(err)
		}
		if in.Item.size() > maxItemSize {
			return nil, validation("Item size has exceeded the maximum allowed size")
		}
		w.item = in.Item
	}
	return w, nil
}

// writeOne serves PutItem, UpdateItem and DeleteItem.
func (s *Service) writeOne(r *http.Request, call *awsapi.Call, k writeKind, op string) (any, *awsapi.Error) {
	var in writeInputs
	if e := decode(call, &in); e != nil {
		return nil, e
	}
	w, e := s.prepare(r, call, k, op, &in)
	if e != nil {
		return nil, e
	}
	var a applied
	err := s.update(r.Context(), func(tx *store.Tx) (err error) {
		a, err = s.applyTx(tx, w)
		return err
	})
	if err != nil {
		return nil, internal(s, op, err)
	}
	if a.fail != nil {
		return nil, a.fail
	}
	out := map[string]any{}
	switch in.ReturnValues {
	case "ALL_OLD":
		if a.old != nil {
			out["Attributes"] = a.old
		}
	case "ALL_NEW":
		out["Attributes"] = a.new
	case "UPDATED_OLD", "UPDATED_NEW":
		src := a.new
		if in.ReturnValues == "UPDATED_OLD" {
			src = a.old
		}
		paths := make([]docPath, len(w.actions))
		for i, u := range w.actions {
			paths[i] = u.path
		}
		if p := project(src, paths); len(p) > 0 {
			out["Attributes"] = p
		}
	}
	if cc := consumed(in.ReturnConsumedCapacity, w.t.d.TableName, a.units(), true); cc != nil {
		out["ConsumedCapacity"] = cc
	}
	return out, nil
}

func (s *Service) putItem(r *http.Request, call *awsapi.Call) (any, *awsapi.Error) {
	return s.writeOne(r, call, wPut, "PutItem")
}

func (s *Service) updateItem(r *http.Request, call *awsapi.Call) (any, *awsapi.Error) {
	return s.writeOne(r, call, wUpdate, "UpdateItem")
}

func (s *Service) deleteItem(r *http.Request, call *awsapi.Call) (any, *awsapi.Error) {
	return s.writeOne(r, call, wDelete, "DeleteItem")
}

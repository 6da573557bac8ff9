package dynamodb

import (
	"strings"
)

// This file turns DynamoDB's legacy conditional parameters (Expected,
// KeyConditions, QueryFilter, ScanFilter with ConditionalOperator, and
// AttributeUpdates) into the expressions they stand for.

// expectedAttr is one entry of Expected (or, with only the comparison,
// of KeyConditions, QueryFilter and ScanFilter).
type expectedAttr struct {
	Value              *Value   `json:"Value"`
	Exists             *bool    `json:"Exists"`
	ComparisonOperator string   `json:"ComparisonOperator"`
	AttributeValueList []*Value `json:"AttributeValueList"`
}

// legacyOperands is how many values each comparison operator takes (-1:
// one or more).
var legacyOperands = map[string]int{
	"EQ": 1, "NE": 1, "LE": 1, "LT": 1, "GE": 1, "GT": 1, "NOT_NULL": 0, "NULL": 0,
	"CONTAINS": 1, "NOT_CONTAINS": 1, "BEGINS_WITH": 1, "IN": -1, "BETWEEN": 2,
}

// legacyCond is the condition a legacy conditions map stands for.
func legacyCond(m map[string]expectedAttr, op, param string) (*cond, error) {
	switch op {
	case "", "AND", "OR":
	default:
		return nil, invalidValue("1 validation error detected: Value '%s' at 'conditionalOperator' failed to satisfy constraint: Member must satisfy enum value set: [OR, AND]", op)
	}
	if len(m) == 0 {
		return nil, nil
	}
	var out *cond
	for _, name := range sortStrings(keysOf(m)) {
		c, err := legacyOne(name, m[name], param)
		if err != nil {
			return nil, err
		}
		switch {
		case out == nil:
			out = c
		case op == "OR":
			out = &cond{kind: cOr, c: []*cond{out, c}}
		default:
			out = &cond{kind: cAnd, c: []*cond{out, c}}
		}
	}
	return out, nil
}

func keysOf(m map[string]expectedAttr) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func legacyOne(name string, e expectedAttr, param string) (*cond, error) {
	path := &operand{kind: opPath, path: docPath{{name: name}}}
	if e.Value != nil {
		if err := checkValue(e.Value); err != nil {
			return nil, err
		}
	}
	for _, v := range e.AttributeValueList {
		if err := checkValue(v); err != nil { // a null entry too
			return nil, err
		}
	}
	if e.ComparisonOperator == "" {
		// Expected's short form: Value and/or Exists
		switch {
		case e.Exists != nil && !*e.Exists && e.Value != nil:
			return nil, invalidValue("One or more parameter values were invalid: Value cannot be used when Exists is false for Attribute: %s", name)
		case e.Exists != nil && !*e.Exists:
			return &cond{kind: cNotExists, a: []*operand{path}}, nil
		case e.Value == nil:
			return nil, invalidValue("One or more parameter values were invalid: Value must be provided when Exists is true for Attribute: %s", name)
		}
		return &cond{kind: cCompare, cmp: "=", a: []*operand{path, {kind: opValue, value: e.Value}}}, nil
	}
	n, ok := legacyOperands[e.ComparisonOperator]
	if !ok {
		return nil, invalidValue("1 validation error detected: Value '%s' at '%s.%s.member.comparisonOperator' failed to satisfy constraint: Member must satisfy enum value set: [IN, NULL, BETWEEN, LT, NOT_CONTAINS, EQ, GT, NOT_NULL, NE, LE, BEGINS_WITH, GE, CONTAINS]",
			e.ComparisonOperator, lowerFirst(param), name)
	}
	vals := e.AttributeValueList
	if e.Value != nil && vals == nil {
		vals = []*Value{e.Value}
	}
	if n >= 0 && len(vals) != n || n < 0 && len(vals) == 0 {
		return nil, invalidValue("One or more parameter values were invalid: Invalid number of argument(s) for the %s ComparisonOperator", e.ComparisonOperator)
	}
	ops := make([]*operand, 0, len(vals)+1)
	ops = append(ops, path)
	for _, v := range vals {
		ops = append(ops, &operand{kind: opValue, value: v})
	}
	switch e.ComparisonOperator {
	case "EQ", "NE", "LE", "LT", "GE", "GT":
		cmp := map[string]string{"EQ": "=", "NE": "<>", "LE": "<=", "LT": "<", "GE": ">=", "GT": ">"}[e.ComparisonOperator]
		return &cond{kind: cCompare, cmp: cmp, a: ops}, nil
	case "NOT_NULL":
		return &cond{kind: cExists, a: ops}, nil
	case "NULL":
		return &cond{kind: cNotExists, a: ops}, nil
	case "CONTAINS":
		return &cond{kind: cContains, a: ops}, nil
	case "NOT_CONTAINS":
		return &cond{kind: cAnd, c: []*cond{{kind: cExists, a: ops[:1]}, {kind: cNot, c: []*cond{{kind: cContains, a: ops}}}}}, nil
	case "BEGINS_WITH":
		return &cond{kind: cBeginsWith, a: ops}, nil
	case "IN":
		return &cond{kind: cIn, a: ops}, nil
	default: // BETWEEN
		return &cond{kind: cBetween, a: ops}, nil
	}
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

// attributeUpdate is one entry of UpdateItem's legacy AttributeUpdates.
type attributeUpdate struct {
	Action string `json:"Action"`
	Value  *Value `json:"Value"`
}

// legacyUpdates is the update actions AttributeUpdates stands for.
func legacyUpdates(m map[string]attributeUpdate) ([]updateAction, error) {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	var out []updateAction
	for _, name := range sortStrings(names) {
		u := m[name]
		path := docPath{{name: name}}
		if u.Value != nil {
			if err := checkValue(u.Value); err != nil {
				return nil, err
			}
		}
		switch u.Action {
		case "", "PUT":
			if u.Value == nil {
				return nil, invalidValue("One or more parameter values were invalid: Only DELETE action is allowed when no attribute value is specified")
			}
			out = append(out, updateAction{clause: "SET", path: path, value: &operand{kind: opValue, value: u.Value}})
		case "DELETE":
			if u.Value == nil {
				out = append(out, updateAction{clause: "REMOVE", path: path})
				continue
			}
			if err := checkAddDelete("DELETE", u.Value); err != nil {
				return nil, invalidValue("One or more parameter values were invalid: DELETE action with value is not supported for the type %s", u.Value.T)
			}
			out = append(out, updateAction{clause: "DELETE", path: path, value: &operand{kind: opValue, value: u.Value}})
		case "ADD":
			if u.Value == nil {
				return nil, invalidValue("One or more parameter values were invalid: Only DELETE action is allowed when no attribute value is specified")
			}
			if err := checkAddDelete("ADD", u.Value); err != nil {
				return nil, invalidValue("One or more parameter values were invalid: ADD action is not supported for the type %s", u.Value.T)
			}
			out = append(out, updateAction{clause: "ADD", path: path, value: &operand{kind: opValue, value: u.Value}})
		default:
			return nil, invalidValue("1 validation error detected: Value '%s' at 'attributeUpdates.%s.member.action' failed to satisfy constraint: Member must satisfy enum value set: [ADD, PUT, DELETE]", u.Action, name)
		}
	}
	return out, nil
}

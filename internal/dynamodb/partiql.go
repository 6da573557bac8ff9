package dynamodb

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/cloudlet/cloudlet/internal/awsapi"
	"github.com/cloudlet/cloudlet/internal/store"
)

// This file serves PartiQL for DynamoDB (ExecuteStatement and
// BatchExecuteStatement): SELECT, INSERT, UPDATE and DELETE on one table,
// translated into the item operations' own structures (conditions,
// update actions, reads) so that they behave alike.

type pqStatement struct {
	kind    string // SELECT, INSERT, UPDATE, DELETE
	table   string
	index   string
	paths   []docPath // SELECT's projection (nil: *)
	where   *cond
	item    Item           // INSERT's value
	actions []updateAction // UPDATE's SET and REMOVE
}

type pqToken struct {
	kind string // ident, qident, string, number, punct, param, eof
	text string
	pos  int
}

func pqError(format string, a ...any) error {
	return invalidValue("Statement wasn't well formed, can't be processed: "+format, a...)
}

func pqLex(src string) ([]pqToken, error) {
	var out []pqToken
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '\'' || c == '"':
			j := i + 1
			var b strings.Builder
			for ; j < len(src); j++ {
				if src[j] == c {
					if j+1 < len(src) && src[j+1] == c { // doubled quote
						b.WriteByte(c)
						j++
						continue
					}
					break
				}
				b.WriteByte(src[j])
			}
			if j >= len(src) {
				return nil, pqError("unterminated quoted text at %d", i)
			}
			kind := "string"
			if c == '"' {
				kind = "qident"
			}
			out = append(out, pqToken{kind, b.String(), i})
			i = j + 1
		case c >= '0' && c <= '9' || c == '-' && i+1 < len(src) && src[i+1] >= '0' && src[i+1] <= '9':
			j := i + 1
			for j < len(src) && (src[j] >= '0' && src[j] <= '9' || src[j] == '.' || src[j] == 'e' || src[j] == 'E' ||
				(src[j] == '-' || src[j] == '+') && (src[j-1] == 'e' || src[j-1] == 'E')) {
				j++
			}
			out = append(out, pqToken{"number", src[i:j], i})
			i = j
		case isIdentStart(c):
			j := i + 1
			for j < len(src) && isIdent(src[j]) {
				j++
			}
			out = append(out, pqToken{"ident", src[i:j], i})
			i = j
		case c == '?':
			out = append(out, pqToken{"param", "?", i})
			i++
		case strings.HasPrefix(src[i:], "<<") || strings.HasPrefix(src[i:], ">>") || strings.HasPrefix(src[i:], "<=") ||
			strings.HasPrefix(src[i:], ">=") || strings.HasPrefix(src[i:], "<>") || strings.HasPrefix(src[i:], "!="):
			out = append(out, pqToken{"punct", src[i : i+2], i})
			i += 2
		case strings.IndexByte("=<>()[]{},.:*", c) >= 0:
			out = append(out, pqToken{"punct", src[i : i+1], i})
			i++
		default:
			return nil, pqError("unexpected character %q at %d", c, i)
		}
	}
	return append(out, pqToken{kind: "eof", pos: len(src)}), nil
}

type pqParser struct {
	toks   []pqToken
	i      int
	params []*Value
	next   int // the next parameter to use
}

func (p *pqParser) peek() pqToken { return p.toks[p.i] }
func (p *pqParser) take() pqToken {
	t := p.toks[p.i]
	if t.kind != "eof" {
		p.i++
	}
	return t
}
func (p *pqParser) isKW(kw string) bool {
	t := p.peek()
	return t.kind == "ident" && strings.EqualFold(t.text, kw)
}
func (p *pqParser) kw(kw string) error {
	if !p.isKW(kw) {
		return p.fail("expected " + kw)
	}
	p.i++
	return nil
}
func (p *pqParser) punct(s string) error {
	if t := p.peek(); t.kind != "punct" || t.text != s {
		return p.fail("expected " + s)
	}
	p.i++
	return nil
}
func (p *pqParser) isPunct(s string) bool { t := p.peek(); return t.kind == "punct" && t.text == s }
func (p *pqParser) fail(why string) error {
	t := p.peek()
	if t.kind == "eof" {
		return pqError("%s at the end of the statement", why)
	}
	return pqError("%s, found %q at %d", why, t.text, t.pos)
}

func (p *pqParser) name() (string, error) {
	t := p.take()
	if t.kind == "ident" || t.kind == "qident" {
		return t.text, nil
	}
	p.i--
	return "", p.fail("expected a name")
}

func (p *pqParser) path() (docPath, error) {
	n, err := p.name()
	if err != nil {
		return nil, err
	}
	out := docPath{{name: n}}
	for {
		switch {
		case p.isPunct("."):
			p.i++
			n, err := p.name()
			if err != nil {
				return nil, err
			}
			out = append(out, pathElem{name: n})
		case p.isPunct("["):
			p.i++
			t := p.take()
			idx, err := strconv.Atoi(t.text)
			if t.kind != "number" || err != nil || idx < 0 {
				p.i--
				return nil, p.fail("expected a list index")
			}
			if err := p.punct("]"); err != nil {
				return nil, err
			}
			out = append(out, pathElem{index: idx, isIndex: true})
		default:
			return out, nil
		}
	}
}

// value parses a literal or a parameter.
func (p *pqParser) value() (*Value, error) {
	t := p.take()
	switch {
	case t.kind == "param":
		if p.next >= len(p.params) {
			return nil, invalidValue("Number of parameters in request and statement don't match.")
		}
		v := p.params[p.next]
		p.next++
		return v, nil
	case t.kind == "string":
		return &Value{T: kS, S: t.text}, nil
	case t.kind == "number":
		_, c, err := parseNumber(t.text)
		if err != nil {
			return nil, err
		}
		return &Value{T: kN, S: c}, nil
	case t.kind == "ident" && (strings.EqualFold(t.text, "true") || strings.EqualFold(t.text, "false")):
		return &Value{T: kBOOL, Bool: strings.EqualFold(t.text, "true")}, nil
	case t.kind == "ident" && strings.EqualFold(t.text, "null"):
		return &Value{T: kNULL, Bool: true}, nil
	case t.kind == "punct" && t.text == "[":
		l := &Value{T: kL, L: []*Value{}}
		for !p.isPunct("]") {
			v, err := p.value()
			if err != nil {
				return nil, err
			}
			l.L = append(l.L, v)
			if !p.isPunct(",") {
				break
			}
			p.i++
		}
		return l, p.punct("]")
	case t.kind == "punct" && t.text == "{":
		m := &Value{T: kM, M: map[string]*Value{}}
		for !p.isPunct("}") {
			k := p.take()
			if k.kind != "string" {
				p.i--
				return nil, p.fail("expected a quoted attribute name")
			}
			if err := p.punct(":"); err != nil {
				return nil, err
			}
			v, err := p.value()
			if err != nil {
				return nil, err
			}
			m.M[k.text] = v
			if !p.isPunct(",") {
				break
			}
			p.i++
		}
		return m, p.punct("}")
	case t.kind == "punct" && t.text == "<<":
		var elems []*Value
		for !p.isPunct(">>") {
			v, err := p.value()
			if err != nil {
				return nil, err
			}
			elems = append(elems, v)
			if !p.isPunct(",") {
				break
			}
			p.i++
		}
		if err := p.punct(">>"); err != nil {
			return nil, err
		}
		if len(elems) == 0 {
			return nil, pqError("a set may not be empty")
		}
		set := &Value{T: kSS}
		switch elems[0].T {
		case kN:
			set.T = kNS
		case kB:
			set.T = kBS
		case kS:
		default:
			return nil, pqError("sets hold strings, numbers or binaries")
		}
		for _, e := range elems {
			if e.T != elems[0].T {
				return nil, pqError("a set's elements are of one type")
			}
			set.Set = append(set.Set, e.S)
		}
		if dupes(set.Set) {
			return nil, invalidValue("Input collection contains duplicates")
		}
		return set, nil
	}
	p.i--
	return nil, p.fail("expected a value")
}

func (p *pqParser) operand() (*operand, error) {
	t := p.peek()
	if t.kind == "ident" && !strings.EqualFold(t.text, "true") && !strings.EqualFold(t.text, "false") && !strings.EqualFold(t.text, "null") || t.kind == "qident" {
		path, err := p.path()
		if err != nil {
			return nil, err
		}
		return &operand{kind: opPath, path: path}, nil
	}
	v, err := p.value()
	if err != nil {
		return nil, err
	}
	return &operand{kind: opValue, value: v}, nil
}

func (p *pqParser) or() (*cond, error) {
	return chain(p.and, func() bool { return p.takeKW("OR") }, cOr)
}

func (p *pqParser) and() (*cond, error) {
	return chain(p.not, func() bool { return p.takeKW("AND") }, cAnd)
}

func (p *pqParser) takeKW(kw string) bool {
	if p.isKW(kw) {
		p.i++
		return true
	}
	return false
}

func (p *pqParser) not() (*cond, error) {
	if p.isKW("NOT") {
		p.i++
		c, err := p.not()
		if err != nil {
			return nil, err
		}
		return &cond{kind: cNot, c: []*cond{c}}, nil
	}
	return p.primary()
}

var pqFunctions = map[string]condKind{"begins_with": cBeginsWith, "contains": cContains, "attribute_type": cType,
	"exists": cExists, "missing": cNotExists}

func (p *pqParser) primary() (*cond, error) {
	if p.isPunct("(") {
		p.i++
		c, err := p.or()
		if err != nil {
			return nil, err
		}
		return c, p.punct(")")
	}
	if t := p.peek(); t.kind == "ident" && p.toks[p.i+1].kind == "punct" && p.toks[p.i+1].text == "(" {
		k, ok := pqFunctions[strings.ToLower(t.text)]
		if !ok {
			return nil, p.fail("unknown function")
		}
		p.i += 2
		a, err := p.operand()
		if err != nil {
			return nil, err
		}
		if a.kind != opPath {
			return nil, pqError("%s takes an attribute path first", t.text)
		}
		c := &cond{kind: k, a: []*operand{a}}
		if k != cExists && k != cNotExists {
			if err := p.punct(","); err != nil {
				return nil, err
			}
			b, err := p.operand()
			if err != nil {
				return nil, err
			}
			c.a = append(c.a, b)
		}
		return c, p.punct(")")
	}
	a, err := p.operand()
	if err != nil {
		return nil, err
	}
	switch t := p.peek(); {
	case t.kind == "punct" && (t.text == "=" || t.text == "<>" || t.text == "!=" || t.text == "<" || t.text == "<=" || t.text == ">" || t.text == ">="):
		p.i++
		b, err := p.operand()
		if err != nil {
			return nil, err
		}
		op := t.text
		if op == "!=" {
			op = "<>"
		}
		return &cond{kind: cCompare, cmp: op, a: []*operand{a, b}}, nil
	case p.isKW("BETWEEN"):
		p.i++
		lo, err := p.operand()
		if err != nil {
			return nil, err
		}
		if err := p.kw("AND"); err != nil {
			return nil, err
		}
		hi, err := p.operand()
		if err != nil {
			return nil, err
		}
		return &cond{kind: cBetween, a: []*operand{a, lo, hi}}, nil
	case p.isKW("IN"):
		p.i++
		if err := p.punct("["); err != nil {
			return nil, err
		}
		c := &cond{kind: cIn, a: []*operand{a}}
		for {
			o, err := p.operand()
			if err != nil {
				return nil, err
			}
			c.a = append(c.a, o)
			if !p.isPunct(",") {
				break
			}
			p.i++
		}
		return c, p.punct("]")
	case p.isKW("IS"):
		p.i++
		if a.kind != opPath {
			return nil, pqError("IS MISSING takes an attribute path")
		}
		neg := false
		if p.isKW("NOT") {
			p.i++
			neg = true
		}
		if err := p.kw("MISSING"); err != nil {
			return nil, err
		}
		if neg {
			return &cond{kind: cExists, a: []*operand{a}}, nil
		}
		return &cond{kind: cNotExists, a: []*operand{a}}, nil
	}
	return nil, p.fail("expected a comparison")
}

// parsePartiQL parses one statement with its parameters.
func parsePartiQL(src string, params []*Value) (*pqStatement, error) {
	toks, err := pqLex(src)
	if err != nil {
		return nil, err
	}
	p := &pqParser{toks: toks, params: params}
	st := &pqStatement{}
	verb := p.take()
	st.kind = strings.ToUpper(verb.text)
	table := func() error {
		n, err := p.name()
		if err != nil {
			return err
		}
		st.table = n
		if p.isPunct(".") {
			p.i++
			if st.index, err = p.name(); err != nil {
				return err
			}
		}
		return nil
	}
	where := func(required bool) error {
		if !p.isKW("WHERE") {
			if required {
				return p.fail("expected WHERE")
			}
			return nil
		}
		p.i++
		c, err := p.or()
		st.where = c
		return err
	}
	switch st.kind {
	case "SELECT":
		if p.isPunct("*") {
			p.i++
		} else {
			for {
				path, err := p.path()
				if err != nil {
					return nil, err
				}
				st.paths = append(st.paths, path)
				if !p.isPunct(",") {
					break
				}
				p.i++
			}
		}
		if err := p.kw("FROM"); err != nil {
			return nil, err
		}
		if err := table(); err != nil {
			return nil, err
		}
		if err := where(false); err != nil {
			return nil, err
		}
	case "INSERT":
		if err := p.kw("INTO"); err != nil {
			return nil, err
		}
		if err := table(); err != nil {
			return nil, err
		}
		if err := p.kw("VALUE"); err != nil {
			return nil, err
		}
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		if v.T != kM {
			return nil, pqError("INSERT takes a VALUE {...}")
		}
		st.item = v.M
	case "UPDATE":
		if err := table(); err != nil {
			return nil, err
		}
		for p.isKW("SET") || p.isKW("REMOVE") {
			clause := strings.ToUpper(p.take().text)
			path, err := p.path()
			if err != nil {
				return nil, err
			}
			a := updateAction{clause: clause, path: path}
			if clause == "SET" {
				if err := p.punct("="); err != nil {
					return nil, err
				}
				o, err := p.operand()
				if err != nil {
					return nil, err
				}
				a.value = o
			}
			st.actions = append(st.actions, a)
		}
		if len(st.actions) == 0 {
			return nil, p.fail("expected SET or REMOVE")
		}
		if err := checkOverlap(st.actions); err != nil {
			return nil, err
		}
		if err := where(true); err != nil {
			return nil, err
		}
	case "DELETE":
		if err := p.kw("FROM"); err != nil {
			return nil, err
		}
		if err := table(); err != nil {
			return nil, err
		}
		if err := where(true); err != nil {
			return nil, err
		}
	default:
		p.i = 0
		return nil, p.fail("expected SELECT, INSERT, UPDATE or DELETE")
	}
	if p.peek().kind != "eof" {
		return nil, p.fail("unexpected text")
	}
	if p.next != len(params) {
		return nil, invalidValue("Number of parameters in request and statement don't match.")
	}
	return st, nil
}

// keyFromWhere finds the equalities on the table's key attributes among
// the top-level ANDs of a WHERE clause: the item a write names.
func keyFromWhere(c *cond, key keySchema) Item {
	out := Item{}
	var walk func(c *cond)
	walk = func(c *cond) {
		if c == nil {
			return
		}
		switch {
		case c.kind == cAnd:
			walk(c.c[0])
			walk(c.c[1])
		case c.kind == cCompare && c.cmp == "=" && c.a[0].kind == opPath && len(c.a[0].path) == 1 && c.a[1].kind == opValue:
			n := c.a[0].path[0].name
			if n == key.hash || n == key.rng && n != "" {
				out[n] = c.a[1].value
			}
		}
	}
	walk(c)
	return out
}

var pqActions = map[string]string{"SELECT": "PartiQLSelect", "INSERT": "PartiQLInsert", "UPDATE": "PartiQLUpdate", "DELETE": "PartiQLDelete"}

type pqInput struct {
	Statement                           string   `json:"Statement"`
	Parameters                          []*Value `json:"Parameters"`
	ConsistentRead                      bool     `json:"ConsistentRead"`
	NextToken                           string   `json:"NextToken"`
	Limit                               *int     `json:"Limit"`
	ReturnConsumedCapacity              string   `json:"ReturnConsumedCapacity"`
	ReturnValuesOnConditionCheckFailure string   `json:"ReturnValuesOnConditionCheckFailure"`
}

// pqRun runs one statement; batch says it is one of a
// BatchExecuteStatement, which reads and writes single items only.
func (s *Service) pqRun(r *http.Request, call *awsapi.Call, in *pqInput, batch bool) (map[string]any, *awsapi.Error) {
	for _, v := range in.Parameters {
		if err := checkValue(v); err != nil {
			return nil, vErr(err)
		}
	}
	st, err := parsePartiQL(in.Statement, in.Parameters)
	if err != nil {
		return nil, vErr(err)
	}
	op := pqActions[st.kind]
	t, e := s.findTable(r, call, op, st.table, "", "")
	if e != nil {
		return nil, e
	}
	var leading []*Value
	if k := keyFromWhere(st.where, t.key); k[t.key.hash] != nil {
		leading = []*Value{k[t.key.hash]}
	}
	if st.kind == "INSERT" && st.item[t.key.hash] != nil {
		leading = []*Value{st.item[t.key.hash]}
	}
	attrs := pathNames(st.paths)
	switch st.kind {
	case "INSERT":
		attrs = attrNames(st.item)
	case "UPDATE":
		for _, a := range st.actions {
			attrs = append(attrs, a.path[0].name)
		}
	}
	if e := s.authorizeItem(call, op, st.table, leading, attrs, "", ""); e != nil {
		return nil, e
	}
	if st.kind == "SELECT" {
		return s.pqSelect(r, in, t, st, batch)
	}
	w := &writeOp{t: t, retOnFail: in.ReturnValuesOnConditionCheckFailure}
	switch st.kind {
	case "INSERT":
		if err := checkItem(st.item); err != nil {
			return nil, vErr(err)
		}
		w.kind, w.item, w.key = wPut, st.item, t.keyItem(st.item)
		w.hk, w.rk, err = t.keyOf(st.item, false)
		if err == nil {
			err = t.checkIndexKeys(st.item)
		}
		if err == nil && st.item.size() > maxItemSize {
			err = invalidValue("Item size has exceeded the maximum allowed size")
		}
		w.cond = &cond{kind: cNotExists, a: []*operand{{kind: opPath, path: docPath{{name: t.key.hash}}}}}
	case "UPDATE", "DELETE":
		key := keyFromWhere(st.where, t.key)
		w.hk, w.rk, err = t.keyOf(key, true)
		if err != nil {
			return nil, validation("Where clause does not contain a mandatory equality on all key attributes")
		}
		w.key, w.cond = key, st.where
		w.kind = wDelete
		if st.kind == "UPDATE" {
			w.kind, w.actions = wUpdate, st.actions
			for _, a := range st.actions {
				if t.isKey(a.path[0].name) {
					return nil, validation("One or more parameter values were invalid: Cannot update attribute " + a.path[0].name + ". This attribute is part of the key")
				}
			}
			// an UPDATE needs the item: the WHERE holds only for an item there
		}
	}
	if err != nil {
		return nil, vErr(err)
	}
	var a applied
	err = s.update(r.Context(), func(tx *store.Tx) (err error) {
		a, err = s.applyTx(tx, w)
		return err
	})
	if err != nil {
		return nil, internal(s, "execute statement", err)
	}
	if a.fail != nil {
		if st.kind == "INSERT" && a.fail.Code == "ConditionalCheckFailedException" {
			return nil, &awsapi.Error{Code: "DuplicateItemException", Status: 400, Message: "Duplicate primary key exists in table"}
		}
		return nil, a.fail
	}
	out := map[string]any{}
	if !batch {
		out["Items"] = []Item{}
	}
	if cc := consumed(in.ReturnConsumedCapacity, t.d.TableName, a.units(), true); cc != nil {
		out["ConsumedCapacity"] = cc
	}
	return out, nil
}

func (s *Service) pqSelect(r *http.Request, in *pqInput, t *table, st *pqStatement, batch bool) (map[string]any, *awsapi.Error) {
	rd := &read{t: t, key: t.key, filter: st.where, paths: st.paths, limit: 1 << 30, forward: true}
	if in.Limit != nil {
		if *in.Limit < 1 {
			return nil, validation("1 validation error detected: Value '" + itoa(*in.Limit) + "' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1")
		}
		rd.limit = *in.Limit
	}
	if st.index != "" {
		if rd.ix = t.index(st.index); rd.ix == nil {
			return nil, validation("The table does not have the specified index: " + st.index)
		}
		rd.key = rd.ix.key
	}
	// a WHERE that fixes the partition key reads one partition
	if k := keyFromWhere(st.where, rd.key); k[rd.key.hash] != nil && k[rd.key.hash].T == rd.key.hashT {
		rd.kr = &keyRange{hash: k[rd.key.hash], hk: keyBytes(k[rd.key.hash])}
	} else if batch {
		return nil, validation("Select statements within BatchExecuteStatement must specify the full primary key")
	}
	if in.NextToken != "" {
		b, err := base64.StdEncoding.DecodeString(in.NextToken)
		var start Item
		if err != nil || json.Unmarshal(b, &start) != nil || checkItem(start) != nil {
			return nil, validation("Invalid NextToken")
		}
		if _, _, err := t.keyOf(t.keyItem(start), true); err != nil {
			return nil, validation("Invalid NextToken")
		}
		if rd.ix != nil && (start[rd.ix.key.hash] == nil || rd.ix.key.rng != "" && start[rd.ix.key.rng] == nil) {
			return nil, validation("Invalid NextToken")
		}
		rd.start = start
	}
	var items []Item
	var last Item
	size := 0
	err := s.st.View(r.Context(), func(tx *store.Tx) error {
		items, last, size = nil, nil, 0
		scanned := 0
		var failed error
		err := rd.run(tx, func(doc []byte, n int) bool {
			scanned++
			size += n
			it, err := decodeItem(doc)
			if err != nil {
				failed = err
				return false
			}
			if rd.filter == nil || rd.filter.holds(it) {
				items = append(items, rd.show(it))
			}
			return scanned < rd.limit && size < pageLimit
		}, &last)
		if failed != nil {
			return failed
		}
		return err
	})
	if err != nil {
		return nil, internal(s, "execute statement", err)
	}
	out := map[string]any{}
	if batch {
		if len(items) > 0 {
			out["Item"] = items[0]
		}
	} else {
		if items == nil {
			items = []Item{}
		}
		out["Items"] = items
		if last != nil {
			b, _ := json.Marshal(last)
			out["NextToken"] = base64.StdEncoding.EncodeToString(b)
		}
	}
	if cc := consumed(in.ReturnConsumedCapacity, t.d.TableName, readUnits(size, in.ConsistentRead), false); cc != nil {
		out["ConsumedCapacity"] = cc
	}
	return out, nil
}

func (s *Service) executeStatement(r *http.Request, call *awsapi.Call) (any, *awsapi.Error) {
	var in pqInput
	if e := decode(call, &in); e != nil {
		return nil, e
	}
	if in.Statement == "" {
		return nil, validation("1 validation error detected: Value null at 'statement' failed to satisfy constraint: Member must not be null")
	}
	out, e := s.pqRun(r, call, &in, false)
	if e != nil {
		return nil, e
	}
	return out, nil
}

func (s *Service) batchExecuteStatement(r *http.Request, call *awsapi.Call) (any, *awsapi.Error) {
	var in struct {
		Statements             []pqInput `json:"Statements"`
		ReturnConsumedCapacity string    `json:"ReturnConsumedCapacity"`
	}
	if e := decode(call, &in); e != nil {
		return nil, e
	}
	if len(in.Statements) == 0 || len(in.Statements) > 25 {
		return nil, validation("1 validation error detected: Value '[...]' at 'statements' failed to satisfy constraint: Member must have length less than or equal to 25 and greater than or equal to 1")
	}
	responses := make([]map[string]any, len(in.Statements))
	for i := range in.Statements {
		st := &in.Statements[i]
		res := map[string]any{}
		if p, err := parsePartiQL(st.Statement, st.Parameters); err == nil {
			res["TableName"] = p.table
		}
		out, e := s.pqRun(r, call, st, true)
		if e != nil {
			code := strings.TrimSuffix(e.Code, "Exception")
			if e.Code == "ValidationException" {
				code = "ValidationError"
			}
			er := map[string]any{"Code": code, "Message": e.Message}
			if it, ok := e.Extra["Item"]; ok {
				er["Item"] = it
			}
			res["Error"] = er
		} else if it, ok := out["Item"]; ok {
			res["Item"] = it
		}
		responses[i] = res
	}
	return map[string]any{"Responses": responses}, nil
}

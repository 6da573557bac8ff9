package dynamodb

import (
	"encoding/json"
	"hash/crc32"
	"net/http"
	"strconv"
	"strings"

	"github.com/cloudlet/cloudlet/internal/awsapi"
	"github.com/cloudlet/cloudlet/internal/store"
)

// pageLimit is DynamoDB's 1 MB limit on the data one Query or Scan page
// reads.
const pageLimit = 1 << 20

type readInput struct {
	exprInput
	TableName            string                  `json:"TableName"`
	IndexName            *string                 `json:"IndexName"`
	FilterExpression     *string                 `json:"FilterExpression"`
	ProjectionExpression *string                 `json:"ProjectionExpression"`
	AttributesToGet      []string                `json:"AttributesToGet"`
	Select               string                  `json:"Select"`
	Limit                *int                    `json:"Limit"`
	ExclusiveStartKey    Item                    `json:"ExclusiveStartKey"`
	ConsistentRead       bool                    `json:"ConsistentRead"`
	ConditionalOperator  string                  `json:"ConditionalOperator"`
	QueryFilter          map[string]expectedAttr `json:"QueryFilter"`
	ScanFilter           map[string]expectedAttr `json:"ScanFilter"`

	// Query
	KeyConditionExpression *string                 `json:"KeyConditionExpression"`
	KeyConditions          map[string]expectedAttr `json:"KeyConditions"`
	ScanIndexForward       *bool                   `json:"ScanIndexForward"`

	// Scan
	Segment       *int `json:"Segment"`
	TotalSegments *int `json:"TotalSegments"`
}

// keyRange is a Query's key condition: the hash key's bytes and the range
// key's bounds (nil: open).
type keyRange struct {
	hash         *Value
	hk           []byte
	lo, hi       []byte
	loOK, hiOK   bool // inclusive bounds
	loSet, hiSet bool
}

// read is a parsed Query or Scan.
type read struct {
	t        *table
	ix       *indexSchema // nil: the table itself
	key      keySchema    // the key the read walks
	kr       *keyRange    // Query only
	filter   *cond
	paths    []docPath
	sel      string
	limit    int
	start    Item
	forward  bool
	segment  int
	segments int
}

func (s *Service) query(r *http.Request, call *awsapi.Call) (any, *awsapi.Error) {
	return s.readItems(r, call, "Query")
}

func (s *Service) scan(r *http.Request, call *awsapi.Call) (any, *awsapi.Error) {
	return s.readItems(r, call, "Scan")
}

func (s *Service) readItems(r *http.Request, call *awsapi.Call, op string) (any, *awsapi.Error) {
	var in readInput
	if e := decode(call, &in); e != nil {
		return nil, e
	}
	rd, e := s.parseRead(r, call, op, &in)
	if e != nil {
		return nil, e
	}
	// Items go out as they are kept (DynamoDB's own JSON) unless the read
	// must look inside them: a filter, a projection, an index's.
	inspect := rd.filter != nil || rd.paths != nil || rd.ix != nil && rd.sel != "ALL_ATTRIBUTES" && rd.ix.proj.ProjectionType != "ALL"
	var items [][]byte
	var count, scanned, size int
	var last Item
	err := s.st.View(r.Context(), func(tx *store.Tx) error {
		items, count, scanned, size, last = nil, 0, 0, 0, nil
		var failed error
		err := rd.run(tx, func(doc []byte, n int) bool {
			scanned++
			size += n
			if !inspect {
				count++
				if rd.sel != "COUNT" {
					items = append(items, doc)
				}
				return scanned < rd.limit && size < pageLimit
			}
			it, err := decodeItem(doc)
			if err != nil {
				failed = err
				return false
			}
			if rd.filter == nil || rd.filter.holds(it) {
				count++
				if rd.sel != "COUNT" {
					items = append(items, appendItem(nil, rd.show(it)))
				}
			}
			return scanned < rd.limit && size < pageLimit
		}, &last)
		if failed != nil {
			return failed
		}
		return err
	})
	if err != nil {
		return nil, internal(s, strings.ToLower(op), err)
	}
	b := make([]byte, 0, size+size/4+64)
	b = append(b, `{"Count":`...)
	b = strconv.AppendInt(b, int64(count), 10)
	if rd.sel != "COUNT" {
		b = append(b, `,"Items":[`...)
		for i, it := range items {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, it...)
		}
		b = append(b, ']')
	}
	if last != nil {
		b = append(b, `,"LastEvaluatedKey":`...)
		b = appendItem(b, last)
	}
	b = append(b, `,"ScannedCount":`...)
	b = strconv.AppendInt(b, int64(scanned), 10)
	if cc := consumed(in.ReturnConsumedCapacity, rd.t.d.TableName, readUnits(size, in.ConsistentRead), false); cc != nil {
		j, _ := json.Marshal(cc)
		b = append(b, `,"ConsumedCapacity":`...)
		b = append(b, j...)
	}
	return rawBody(append(b, '}')), nil
}

// show is what a read answers of an item: its projection, or the index's
// projected attributes.
func (rd *read) show(it Item) Item {
	if rd.paths != nil {
		return project(it, rd.paths)
	}
	if rd.ix != nil && rd.sel != "ALL_ATTRIBUTES" && rd.ix.proj.ProjectionType != "ALL" {
		keep := Item{}
		for _, n := range []string{rd.t.key.hash, rd.t.key.rng, rd.ix.key.hash, rd.ix.key.rng} {
			if v := it[n]; n != "" && v != nil {
				keep[n] = v
			}
		}
		for _, n := range rd.ix.proj.NonKeyAttributes {
			if v := it[n]; v != nil {
				keep[n] = v
			}
		}
		return keep
	}
	return it
}

func (s *Service) parseRead(r *http.Request, call *awsapi.Call, op string, in *readInput) (*read, *awsapi.Error) {
	switch in.Select {
	case "", "ALL_ATTRIBUTES", "ALL_PROJECTED_ATTRIBUTES", "SPECIFIC_ATTRIBUTES", "COUNT":
	default:
		return nil, validation("1 validation error detected: Value '" + in.Select + "' at 'select' failed to satisfy constraint: Member must satisfy enum value set: [SPECIFIC_ATTRIBUTES, COUNT, ALL_ATTRIBUTES, ALL_PROJECTED_ATTRIBUTES]")
	}
	if in.Limit != nil && *in.Limit < 1 {
		return nil, validation("1 validation error detected: Value '" + itoa(*in.Limit) + "' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1")
	}
	if op == "Query" && in.KeyConditionExpression == nil && in.KeyConditions == nil {
		return nil, validation("Either the KeyConditions or KeyConditionExpression parameter must be specified in the request.")
	}
	filter := in.ScanFilter
	if op == "Query" {
		filter = in.QueryFilter
	}
	filterParam := map[string]string{"Query": "QueryFilter", "Scan": "ScanFilter"}[op]
	switch {
	case in.FilterExpression != nil && filter != nil:
		return nil, validation("Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {" + filterParam + "} Expression parameters: {FilterExpression}")
	case in.KeyConditionExpression != nil && in.KeyConditions != nil:
		return nil, validation("Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {KeyConditions} Expression parameters: {KeyConditionExpression}")
	}
	used := in.FilterExpression != nil || in.ProjectionExpression != nil || in.KeyConditionExpression != nil
	exprParams := "FilterExpression"
	if op == "Query" {
		exprParams = "KeyConditionExpression and FilterExpression"
	}
	x, err := in.context(used, exprParams)
	if err != nil {
		return nil, vErr(err)
	}
	rd := &read{sel: in.Select, limit: 1 << 30, forward: in.ScanIndexForward == nil || *in.ScanIndexForward, start: in.ExclusiveStartKey}
	if in.Limit != nil {
		rd.limit = *in.Limit
	}
	var kc *cond
	if in.KeyConditionExpression != nil {
		if kc, err = parseCondition("KeyConditionExpression", *in.KeyConditionExpression, x); err != nil {
			return nil, vErr(err)
		}
	} else if in.KeyConditions != nil {
		if kc, err = legacyCond(in.KeyConditions, "AND", "KeyConditions"); err != nil {
			return nil, vErr(err)
		}
	}
	if in.FilterExpression != nil {
		rd.filter, err = parseCondition("FilterExpression", *in.FilterExpression, x)
	} else if filter != nil {
		rd.filter, err = legacyCond(filter, in.ConditionalOperator, filterParam)
	}
	if err != nil {
		return nil, vErr(err)
	}
	if rd.paths, err = projection_(x, in.ProjectionExpression, in.AttributesToGet); err != nil {
		return nil, vErr(err)
	}
	if err := x.unused(); err != nil {
		return nil, vErr(err)
	}
	switch {
	case rd.paths != nil && in.Select != "" && in.Select != "SPECIFIC_ATTRIBUTES":
		param := "AttributesToGet"
		if in.ProjectionExpression != nil {
			param = "ProjectionExpression"
		}
		return nil, validation("1 validation error detected: Cannot specify the " + param + " when choosing to get " + in.Select)
	case rd.paths == nil && in.Select == "SPECIFIC_ATTRIBUTES":
		return nil, validation("1 validation error detected: Must specify the AttributesToGet or ProjectionExpression when choosing to get SPECIFIC_ATTRIBUTES")
	}
	if in.Segment != nil || in.TotalSegments != nil {
		switch {
		case in.Segment == nil || in.TotalSegments == nil:
			return nil, validation("The TotalSegments parameter is required but was not present in the request when Segment parameter is present")
		case *in.TotalSegments < 1 || *in.TotalSegments > 1000000:
			return nil, validation("1 validation error detected: Value '" + itoa(*in.TotalSegments) + "' at 'totalSegments' failed to satisfy constraint: Member must have value less than or equal to 1000000 and greater than or equal to 1")
		case *in.Segment < 0 || *in.Segment >= *in.TotalSegments:
			return nil, validation("The Segment parameter is zero-based and must be less than parameter TotalSegments: Segment: " + itoa(*in.Segment) + " is not less than TotalSegments: " + itoa(*in.TotalSegments))
		}
		rd.segment, rd.segments = *in.Segment, *in.TotalSegments
	}
	// authorize with what the request names
	var leading []*Value
	var attrs []string
	if rd.paths != nil {
		attrs = pathNames(rd.paths)
	}
	t, e := s.findTable(r, call, op, in.TableName, in.Select, "")
	if e != nil {
		return nil, e
	}
	rd.t, rd.key = t, t.key
	// dynamodb:LeadingKeys is the partition key value the query names: the
	// table's, or an index's (a local index shares the table's).
	keyOfRead := rd.key
	if in.IndexName != nil {
		if ix := t.index(*in.IndexName); ix != nil {
			keyOfRead = ix.key
		}
	}
	if kc != nil {
		if kr, err := keyCondition(kc, keyOfRead); err == nil {
			leading = []*Value{kr.hash}
		} else if in.IndexName == nil {
			return nil, vErr(err)
		}
	}
	if e := s.authorizeItem(call, op, in.TableName, leading, attrs, in.Select, ""); e != nil {
		return nil, e
	}
	if kc != nil && in.IndexName == nil {
		kr, err := keyCondition(kc, rd.key)
		if err != nil {
			return nil, vErr(err)
		}
		rd.kr = kr
	}
	if in.IndexName != nil {
		if rd.ix = t.index(*in.IndexName); rd.ix == nil {
			return nil, validation("The table does not have the specified index: " + *in.IndexName)
		}
		rd.key = rd.ix.key
		if in.ConsistentRead && !rd.ix.local {
			return nil, validation("Consistent reads are not supported on global secondary indexes")
		}
		if in.Select == "ALL_ATTRIBUTES" && !rd.ix.local && rd.ix.proj.ProjectionType != "ALL" {
			return nil, validation("One or more parameter values were invalid: Select type ALL_ATTRIBUTES is not supported for global secondary index " + rd.ix.name + " because its projection type is not ALL")
		}
		if kc != nil {
			kr, err := keyCondition(kc, rd.key)
			if err != nil {
				return nil, vErr(err)
			}
			rd.kr = kr
		}
	}
	if rd.start != nil {
		if err := checkItem(rd.start); err != nil {
			return nil, vErr(err)
		}
		if _, _, err := t.keyOf(t.keyItem(rd.start), true); err != nil {
			return nil, validation("The provided starting key is invalid: " + err.Error())
		}
		if rd.ix != nil && (rd.start[rd.ix.key.hash] == nil || rd.ix.key.rng != "" && rd.start[rd.ix.key.rng] == nil) {
			return nil, validation("The provided starting key is invalid")
		}
	}
	return rd, nil
}

func itoa(n int) string { return strconv.Itoa(n) }

// keyCondition works out a Query's key condition: hash = :v, and at most
// one condition on the range key.
func keyCondition(c *cond, key keySchema) (*keyRange, error) {
	var parts []*cond
	var flatten func(c *cond) error
	flatten = func(c *cond) error {
		switch c.kind {
		case cAnd:
			if err := flatten(c.c[0]); err != nil {
				return err
			}
			return flatten(c.c[1])
		case cCompare, cBetween, cBeginsWith:
			if c.kind == cCompare && c.cmp == "<>" {
				return invalidValue("Invalid KeyConditionExpression: Invalid operator used in KeyConditionExpression: <>")
			}
			parts = append(parts, c)
			return nil
		}
		name := map[condKind]string{cOr: "OR", cNot: "NOT", cIn: "IN", cExists: "attribute_exists", cNotExists: "attribute_not_exists", cType: "attribute_type", cContains: "contains"}[c.kind]
		return invalidValue("Invalid KeyConditionExpression: Invalid operator used in KeyConditionExpression: %s", name)
	}
	if err := flatten(c); err != nil {
		return nil, err
	}
	kr := &keyRange{}
	var seenHash, seenRange bool
	for _, p := range parts {
		// the attribute is the first operand (or the second, for a = b written backwards)
		a, vals := p.a[0], p.a[1:]
		if a.kind != opPath && p.kind == cCompare && p.a[1].kind == opPath {
			a, vals = p.a[1], p.a[:1]
			p = &cond{kind: cCompare, cmp: flip(p.cmp), a: []*operand{a, vals[0]}}
		}
		if a.kind != opPath {
			return nil, invalidValue("Invalid condition in KeyConditionExpression: No key attribute specified")
		}
		if len(a.path) > 1 {
			return nil, invalidValue("KeyConditionExpressions cannot have conditions on nested attributes")
		}
		for _, v := range vals {
			if v.kind != opValue {
				return nil, invalidValue("Invalid condition in KeyConditionExpression: Multiple attribute names used in one condition")
			}
		}
		name := a.path[0].name
		switch name {
		case key.hash:
			if seenHash {
				return nil, invalidValue("KeyConditionExpressions must only contain one condition per key")
			}
			seenHash = true
			if p.kind != cCompare || p.cmp != "=" {
				return nil, invalidValue("Query key condition not supported")
			}
			v := vals[0].value
			if v.T != key.hashT {
				return nil, invalidValue("One or more parameter values were invalid: Condition parameter type does not match schema type")
			}
			kr.hash, kr.hk = v, keyBytes(v)
		case key.rng:
			if seenRange {
				return nil, invalidValue("KeyConditionExpressions must only contain one condition per key")
			}
			seenRange = true
			for _, v := range vals {
				if v.value.T != key.rngT {
					return nil, invalidValue("One or more parameter values were invalid: Condition parameter type does not match schema type")
				}
			}
			b := keyBytes(vals[0].value)
			switch {
			case p.kind == cBetween:
				kr.lo, kr.loOK, kr.loSet = b, true, true
				kr.hi, kr.hiOK, kr.hiSet = keyBytes(vals[1].value), true, true
			case p.kind == cBeginsWith:
				if key.rngT == kN {
					return nil, invalidValue("Invalid KeyConditionExpression: Incorrect operand type for operator or function; operator or function: begins_with, operand type: N")
				}
				kr.lo, kr.loOK, kr.loSet = b, true, true
				if hi, ok := prefixEnd(b); ok {
					kr.hi, kr.hiSet = hi, true
				}
			case p.cmp == "=":
				kr.lo, kr.loOK, kr.loSet = b, true, true
				kr.hi, kr.hiOK, kr.hiSet = b, true, true
			case p.cmp == "<" || p.cmp == "<=":
				kr.hi, kr.hiOK, kr.hiSet = b, p.cmp == "<=", true
			case p.cmp == ">" || p.cmp == ">=":
				kr.lo, kr.loOK, kr.loSet = b, p.cmp == ">=", true
			}
		default:
			return nil, invalidValue("Query condition missed key schema element: %s", missing(key, name))
		}
	}
	if !seenHash {
		return nil, invalidValue("Query condition missed key schema element: %s", key.hash)
	}
	return kr, nil
}

func missing(key keySchema, got string) string {
	if got != key.hash {
		return key.hash
	}
	return key.rng
}

func flip(cmp string) string {
	return map[string]string{"=": "=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}[cmp]
}

// prefixEnd is the least byte string greater than every string starting
// with p; ok is false when there is none.
func prefixEnd(p []byte) ([]byte, bool) {
	end := append([]byte(nil), p...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xFF {
			end[i]++
			return end[:i+1], true
		}
	}
	return nil, false
}

// run walks the read's items in order, from after its start key, giving
// each with its size to fn until fn returns false; *last is then the key
// of the last item given, if more follow.
func (rd *read) run(tx *store.Tx, fn func(doc []byte, size int) bool, last *Item) error {
	var where []string
	var args []any
	col := func(c string) string {
		if rd.ix != nil {
			return "i." + c
		}
		return "t." + c
	}
	if rd.ix != nil {
		where = append(where, "i.tbl = ?", "i.idx = ?")
		args = append(args, rd.t.d.TableID, rd.ix.name)
	} else {
		where = append(where, "t.tbl = ?")
		args = append(args, rd.t.d.TableID)
	}
	if kr := rd.kr; kr != nil {
		where = append(where, col("hk")+" = ?")
		args = append(args, kr.hk)
		if kr.loSet {
			op := ">"
			if kr.loOK {
				op = ">="
			}
			where = append(where, col("rk")+" "+op+" ?")
			args = append(args, kr.lo)
		}
		if kr.hiSet {
			op := "<"
			if kr.hiOK {
				op = "<="
			}
			where = append(where, col("rk")+" "+op+" ?")
			args = append(args, kr.hi)
		}
	}
	cmp := ">"
	dir := ""
	if !rd.forward {
		cmp, dir = "<", " DESC"
	}
	var q string
	if rd.ix != nil {
		if rd.start != nil {
			thk, trk, _ := rd.t.keyOf(rd.t.keyItem(rd.start), true)
			ihk := keyBytes(rd.start[rd.ix.key.hash])
			irk := []byte{}
			if rd.ix.key.rng != "" {
				irk = keyBytes(rd.start[rd.ix.key.rng])
			}
			where = append(where, "(i.hk, i.rk, i.thk, i.trk) "+cmp+" (?, ?, ?, ?)")
			args = append(args, ihk, irk, thk, trk)
		}
		q = `SELECT t.item, t.size, t.hk FROM dynamodb_index_keys i JOIN dynamodb_items t ON t.tbl = i.tbl AND t.hk = i.thk AND t.rk = i.trk WHERE ` +
			strings.Join(where, " AND ") + ` ORDER BY i.hk` + dir + `, i.rk` + dir + `, i.thk` + dir + `, i.trk` + dir
	} else {
		if rd.start != nil {
			hk, rk, _ := rd.t.keyOf(rd.t.keyItem(rd.start), true)
			where = append(where, "(t.hk, t.rk) "+cmp+" (?, ?)")
			args = append(args, hk, rk)
		}
		q = `SELECT t.item, t.size, t.hk FROM dynamodb_items t WHERE ` + strings.Join(where, " AND ") +
			` ORDER BY t.hk` + dir + `, t.rk` + dir
	}
	rows, err := tx.Query(q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	var prev []byte
	stopped := false
	for rows.Next() {
		var doc, hk []byte
		var size int
		if err := rows.Scan(&doc, &size, &hk); err != nil {
			return err
		}
		if rd.segments > 1 && int(crc32.ChecksumIEEE(hk)%uint32(rd.segments)) != rd.segment {
			continue
		}
		if stopped {
			it, err := decodeItem(prev)
			if err != nil {
				return err
			}
			*last = rd.lastKey(it)
			return nil
		}
		prev = doc
		if !fn(doc, size) {
			stopped = true
		}
	}
	return rows.Err()
}

// lastKey is LastEvaluatedKey for an item: the table's key, and the
// index's when reading one.
func (rd *read) lastKey(it Item) Item {
	k := rd.t.keyItem(it)
	if rd.ix != nil {
		k[rd.ix.key.hash] = it[rd.ix.key.hash]
		if rd.ix.key.rng != "" {
			k[rd.ix.key.rng] = it[rd.ix.key.rng]
		}
	}
	return k
}

package dynamodb

import (
	"sort"
	"strconv"
	"strings"

	"github.com/cockroachdb/apd/v3"
)

// resolve finds a path in an item; nil when it is not there.
func resolve(it Item, p docPath) *Value {
	v := it[p[0].name]
	for _, e := range p[1:] {
		if v == nil {
			return nil
		}
		switch {
		case e.isIndex && v.T == kL && e.index < len(v.L):
			v = v.L[e.index]
		case !e.isIndex && v.T == kM:
			v = v.M[e.name]
		default:
			return nil
		}
	}
	return v
}

// eval is an operand's value in a condition; nil when it has none.
func (o *operand) eval(it Item) *Value {
	switch o.kind {
	case opValue:
		return o.value
	case opPath:
		return resolve(it, o.path)
	case opSize:
		v := resolve(it, o.path)
		if v == nil {
			return nil
		}
		n := 0
		switch v.T {
		case kS, kB:
			n = len(v.S)
		case kSS, kNS, kBS:
			n = len(v.Set)
		case kM:
			n = len(v.M)
		case kL:
			n = len(v.L)
		default:
			return nil
		}
		return &Value{T: kN, S: strconv.Itoa(n)}
	}
	return nil
}

// holds evaluates a condition against an item (nil: no item).
func (c *cond) holds(it Item) bool {
	switch c.kind {
	case cAnd:
		return c.c[0].holds(it) && c.c[1].holds(it)
	case cOr:
		return c.c[0].holds(it) || c.c[1].holds(it)
	case cNot:
		return !c.c[0].holds(it)
	case cExists:
		return resolve(it, c.a[0].path) != nil
	case cNotExists:
		return resolve(it, c.a[0].path) == nil
	case cType:
		v, t := c.a[0].eval(it), c.a[1].eval(it)
		return v != nil && t != nil && t.T == kS && v.T.String() == t.S
	case cBeginsWith:
		v, pre := c.a[0].eval(it), c.a[1].eval(it)
		return v != nil && pre != nil && v.T == pre.T && (v.T == kS || v.T == kB) && strings.HasPrefix(v.S, pre.S)
	case cContains:
		v, x := c.a[0].eval(it), c.a[1].eval(it)
		if v == nil || x == nil {
			return false
		}
		switch v.T {
		case kS:
			return x.T == kS && strings.Contains(v.S, x.S)
		case kB:
			return x.T == kB && strings.Contains(v.S, x.S)
		case kSS, kNS, kBS:
			if x.T != v.T-3 { // SS holds S, NS holds N, BS holds B
				return false
			}
			for _, s := range v.Set {
				if equal(&Value{T: x.T, S: s}, x) {
					return true
				}
			}
		case kL:
			for _, e := range v.L {
				if equal(e, x) {
					return true
				}
			}
		}
		return false
	case cCompare:
		a, b := c.a[0].eval(it), c.a[1].eval(it)
		switch c.cmp {
		case "=":
			return equal(a, b)
		case "<>":
			return !equal(a, b) // true when either is missing, as DynamoDB has it
		}
		n, ok := compare(a, b)
		if !ok {
			return false
		}
		switch c.cmp {
		case "<":
			return n < 0
		case "<=":
			return n <= 0
		case ">":
			return n > 0
		default:
			return n >= 0
		}
	case cBetween:
		v := c.a[0].eval(it)
		lo, ok1 := compare(v, c.a[1].eval(it))
		hi, ok2 := compare(v, c.a[2].eval(it))
		return ok1 && ok2 && lo >= 0 && hi <= 0
	case cIn:
		v := c.a[0].eval(it)
		for _, o := range c.a[1:] {
			if equal(v, o.eval(it)) {
				return true
			}
		}
	}
	return false
}

// updateValue is a SET action's value; an error says why it has none.
func (o *operand) updateValue(it Item) (*Value, error) {
	switch o.kind {
	case opValue:
		return o.value, nil
	case opPath:
		v := resolve(it, o.path)
		if v == nil {
			return nil, invalidValue("The provided expression refers to an attribute that does not exist in the item")
		}
		return v, nil
	case opIfNotExists:
		if v := resolve(it, o.args[0].path); v != nil {
			return v, nil
		}
		return o.args[1].updateValue(it)
	case opListAppend:
		a, err := o.args[0].updateValue(it)
		if err != nil {
			return nil, err
		}
		b, err := o.args[1].updateValue(it)
		if err != nil {
			return nil, err
		}
		if a.T != kL || b.T != kL {
			return nil, invalidValue("An operand in the update expression has an incorrect data type")
		}
		l := make([]*Value, 0, len(a.L)+len(b.L))
		return &Value{T: kL, L: append(append(l, a.L...), b.L...)}, nil
	case opPlus, opMinus:
		a, err := o.args[0].updateValue(it)
		if err != nil {
			return nil, err
		}
		b, err := o.args[1].updateValue(it)
		if err != nil {
			return nil, err
		}
		if a.T != kN || b.T != kN {
			return nil, invalidValue("An operand in the update expression has an incorrect data type")
		}
		var r apd.Decimal
		if o.kind == opPlus {
			_, err = numberContext.Add(&r, mustDecimal(a.S), mustDecimal(b.S))
		} else {
			_, err = numberContext.Sub(&r, mustDecimal(a.S), mustDecimal(b.S))
		}
		if err != nil {
			return nil, invalidValue("Number overflow. Attempting to store a number with magnitude larger than supported range")
		}
		_, s, err := parseNumber(r.Text('E'))
		if err != nil {
			return nil, err
		}
		return &Value{T: kN, S: s}, nil
	}
	return nil, invalidValue("Invalid UpdateExpression: Syntax error")
}

var errBadPath = invalidValue("The document path provided in the update expression is invalid for update")

// container finds the map or list that holds p's last step; nil when the
// path cannot be updated.
func container(it Item, p docPath) *Value {
	if len(p) == 1 {
		return &Value{T: kM, M: it}
	}
	return resolve(it, p[:len(p)-1])
}

// setPath sets p in it to v.
func setPath(it Item, p docPath, v *Value) error {
	c := container(it, p)
	last := p[len(p)-1]
	switch {
	case c == nil:
		return errBadPath
	case last.isIndex && c.T == kL:
		if last.index < len(c.L) {
			c.L[last.index] = v
		} else {
			c.L = append(c.L, v)
		}
	case !last.isIndex && c.T == kM:
		c.M[last.name] = v
	default:
		return errBadPath
	}
	return nil
}

// removePath removes p from it; removing what is not there does nothing.
func removePath(it Item, p docPath) {
	c := container(it, p)
	if c == nil {
		return
	}
	last := p[len(p)-1]
	switch {
	case last.isIndex && c.T == kL && last.index < len(c.L):
		c.L = append(c.L[:last.index], c.L[last.index+1:]...)
	case !last.isIndex && c.T == kM:
		delete(c.M, last.name)
	}
}

// apply runs an update expression's actions on it (a copy the caller
// owns), in DynamoDB's order: SET values are computed from the item as it
// was before the update.
func apply(it Item, actions []updateAction) error {
	before := it.clone()
	var removes []docPath
	for _, a := range actions {
		switch a.clause {
		case "SET":
			v, err := a.value.updateValue(before)
			if err != nil {
				return err
			}
			if err := setPath(it, a.path, v.clone()); err != nil {
				return err
			}
		case "REMOVE":
			removes = append(removes, a.path)
		case "ADD":
			cur := resolve(it, a.path)
			add := a.value.value
			switch {
			case cur == nil:
				if err := setPath(it, a.path, add.clone()); err != nil {
					return err
				}
			case cur.T == kN && add.T == kN:
				var r apd.Decimal
				if _, err := numberContext.Add(&r, mustDecimal(cur.S), mustDecimal(add.S)); err != nil {
					return invalidValue("Number overflow. Attempting to store a number with magnitude larger than supported range")
				}
				_, s, err := parseNumber(r.Text('E'))
				if err != nil {
					return err
				}
				cur.S = s
			case cur.T == add.T && (cur.T == kSS || cur.T == kNS || cur.T == kBS):
				for _, s := range add.Set {
					if !inSet(cur, s) {
						cur.Set = append(cur.Set, s)
					}
				}
			default:
				return invalidValue("An operand in the update expression has an incorrect data type")
			}
		case "DELETE":
			cur := resolve(it, a.path)
			del := a.value.value
			if cur == nil {
				continue
			}
			if cur.T != del.T {
				return invalidValue("An operand in the update expression has an incorrect data type")
			}
			kept := cur.Set[:0]
			for _, s := range cur.Set {
				if !inSet(del, s) {
					kept = append(kept, s)
				}
			}
			cur.Set = kept
			if len(kept) == 0 {
				removePath(it, a.path)
			}
		}
	}
	// Remove list elements from the highest index down, so that each
	// index means what it meant in the item before the update: names
	// first, then list elements by index, highest first.
	sort.SliceStable(removes, func(i, j int) bool {
		a, b := removes[i][len(removes[i])-1], removes[j][len(removes[j])-1]
		if a.isIndex != b.isIndex {
			return !a.isIndex
		}
		return a.isIndex && a.index > b.index
	})
	for _, p := range removes {
		removePath(it, p)
	}
	return nil
}

func inSet(v *Value, s string) bool {
	for _, e := range v.Set {
		if e == s || v.T == kNS && mustDecimal(e).Cmp(mustDecimal(s)) == 0 {
			return true
		}
	}
	return false
}

// project keeps only paths of it (ProjectionExpression), keeping the
// documents' shape; the list elements kept are packed in index order.
func project(it Item, paths []docPath) Item {
	if paths == nil {
		return it
	}
	root := &projNode{}
	for _, p := range paths {
		if resolve(it, p) == nil {
			continue
		}
		n := root
		for _, e := range p {
			n = n.child(e)
		}
		n.whole = true
	}
	out := Item{}
	for name, c := range root.names {
		if v := c.build(it[name]); v != nil {
			out[name] = v
		}
	}
	return out
}

// projNode is the tree of projected paths: a node kept whole, or the
// names and indexes kept below it.
type projNode struct {
	whole   bool
	names   map[string]*projNode
	indexes map[int]*projNode
}

func (n *projNode) child(e pathElem) *projNode {
	if e.isIndex {
		if n.indexes == nil {
			n.indexes = map[int]*projNode{}
		}
		if n.indexes[e.index] == nil {
			n.indexes[e.index] = &projNode{}
		}
		return n.indexes[e.index]
	}
	if n.names == nil {
		n.names = map[string]*projNode{}
	}
	if n.names[e.name] == nil {
		n.names[e.name] = &projNode{}
	}
	return n.names[e.name]
}

// build is the part of v that n keeps (nil: none).
func (n *projNode) build(v *Value) *Value {
	if v == nil {
		return nil
	}
	if n.whole {
		return v
	}
	switch {
	case v.T == kM && n.names != nil:
		out := &Value{T: kM, M: map[string]*Value{}}
		for name, c := range n.names {
			if x := c.build(v.M[name]); x != nil {
				out.M[name] = x
			}
		}
		return out
	case v.T == kL && n.indexes != nil:
		idx := make([]int, 0, len(n.indexes))
		for i := range n.indexes {
			idx = append(idx, i)
		}
		sort.Ints(idx)
		out := &Value{T: kL}
		for _, i := range idx {
			if i < len(v.L) {
				if x := n.indexes[i].build(v.L[i]); x != nil {
					out.L = append(out.L, x)
				}
			}
		}
		return out
	}
	return nil
}

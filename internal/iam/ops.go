package iam

import (
	"sort"
	"sync"
)

// Operation is one API operation in a service's table: the IAM action it
// needs, the type of resource it acts on ("*" for none, as the Service
// Authorization Reference lists), and the condition keys it sets.
type Operation struct {
	Name          string // the API operation, e.g. "Invoke"
	Action        string // e.g. "lambda:InvokeFunction"
	ResourceType  string // e.g. "function"; "*" when the action takes no resource
	ConditionKeys []string
}

// Table is a service's operations.
type Table struct {
	Service string // the IAM service prefix, e.g. "lambda"
	ops     map[string]*Operation
}

var (
	tablesMu sync.Mutex
	tables   = map[string]*Table{}
)

// Register makes a service's table known (for iam suggest and the
// docs); it returns the table. Services call it once, from a package
// variable.
func Register(service string, ops ...Operation) *Table {
	t := &Table{Service: service, ops: make(map[string]*Operation, len(ops))}
	for i := range ops {
		t.ops[ops[i].Name] = &ops[i]
	}
	tablesMu.Lock()
	tables[service] = t
	tablesMu.Unlock()
	return t
}

// Op returns the operation called name; it panics for an operation the
// table lacks (a programming error caught by the service's tests).
func (t *Table) Op(name string) *Operation {
	op, ok := t.ops[name]
	if !ok {
		panic("iam: " + t.Service + " has no operation " + name + " in its table")
	}
	return op
}

// Operations lists a table's operations by name.
func (t *Table) Operations() []*Operation {
	out := make([]*Operation, 0, len(t.ops))
	for _, op := range t.ops {
		out = append(out, op)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Tables returns every registered table, by service.
func Tables() []*Table {
	tablesMu.Lock()
	defer tablesMu.Unlock()
	out := make([]*Table, 0, len(tables))
	for _, t := range tables {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Service < out[j].Service })
	return out
}

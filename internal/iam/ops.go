package iam

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

// Register returns a service's table of operations. Services call it
// once, from a package variable.
func Register(service string, ops ...Operation) *Table {
	t := &Table{Service: service, ops: make(map[string]*Operation, len(ops))}
	for i := range ops {
		t.ops[ops[i].Name] = &ops[i]
	}
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

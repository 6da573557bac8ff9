package dynamodb

import (
	"context"
	"sync"

	"github.com/cloudlet/cloudlet/internal/store"
)

// keySchema is a table's or an index's key: attribute names and types.
type keySchema struct {
	hash, rng   string
	hashT, rngT kind
}

// indexSchema is a secondary index as the data plane uses it.
type indexSchema struct {
	name  string
	key   keySchema
	local bool
	proj  projection
}

// table is a table's description with its keys worked out, as the data
// plane uses it.
type table struct {
	d       *tableDescription
	key     keySchema
	indexes []indexSchema
}

func newTable(d *tableDescription) *table {
	types := map[string]kind{}
	for _, a := range d.AttributeDefinitions {
		types[a.AttributeName] = kindOf(a.AttributeType)
	}
	ks := func(els []keyElement) keySchema {
		var k keySchema
		for _, e := range els {
			if e.KeyType == "HASH" {
				k.hash, k.hashT = e.AttributeName, types[e.AttributeName]
			} else {
				k.rng, k.rngT = e.AttributeName, types[e.AttributeName]
			}
		}
		return k
	}
	t := &table{d: d, key: ks(d.KeySchema)}
	for _, ix := range d.LocalSecondaryIndexes {
		t.indexes = append(t.indexes, indexSchema{name: ix.IndexName, key: ks(ix.KeySchema), local: true, proj: ix.Projection})
	}
	for _, ix := range d.GlobalSecondaryIndexes {
		t.indexes = append(t.indexes, indexSchema{name: ix.IndexName, key: ks(ix.KeySchema), proj: ix.Projection})
	}
	return t
}

func (t *table) index(name string) *indexSchema {
	for i := range t.indexes {
		if t.indexes[i].name == name {
			return &t.indexes[i]
		}
	}
	return nil
}

// isKey reports whether name is one of the table's key attributes.
func (t *table) isKey(name string) bool { return name == t.key.hash || name == t.key.rng && name != "" }

// tableCache keeps tables' descriptions in memory: the service is the
// only writer of dynamodb_tables, and drops an entry before and after
// each change to it.
// A reader fills an entry only if no change happened while it read
// (gen), so a description read before a change is never kept after it.
type tableCache struct {
	mu  sync.RWMutex
	m   map[string]*table
	gen uint64
}

func (c *tableCache) drop(name string) {
	c.mu.Lock()
	delete(c.m, name)
	c.gen++
	c.mu.Unlock()
}

// table is the named table (nil when there is none).
func (s *Service) table(ctx context.Context, name string) (*table, error) {
	s.cache.mu.RLock()
	t, gen := s.cache.m[name], s.cache.gen
	s.cache.mu.RUnlock()
	if t != nil {
		return t, nil
	}
	var d *tableDescription
	err := s.st.View(ctx, func(tx *store.Tx) (err error) {
		d, err = loadTx(tx, name)
		return err
	})
	if err != nil || d == nil {
		return nil, err
	}
	t = newTable(d)
	s.cache.mu.Lock()
	if s.cache.m == nil {
		s.cache.m = map[string]*table{}
	}
	if s.cache.gen == gen {
		s.cache.m[name] = t
	}
	s.cache.mu.Unlock()
	return t, nil
}

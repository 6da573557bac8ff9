package dynamodb

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
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
	doc     string // the description as stored, to tell a changed table
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
	err := s.st.View(ctx, func(tx *store.Tx) (err error) {
		t, err = loadTableTx(tx, name)
		return err
	})
	if err != nil || t == nil {
		return nil, err
	}
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

// loadTableTx reads a table in tx; nil when there is none.
func loadTableTx(tx *store.Tx, name string) (*table, error) {
	var doc string
	err := tx.QueryRow(`SELECT description FROM dynamodb_tables WHERE name = ?`, name).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var d tableDescription
	if err := json.Unmarshal([]byte(doc), &d); err != nil {
		return nil, fmt.Errorf("table %s: damaged description: %v", name, err)
	}
	t := newTable(&d)
	t.doc = doc
	return t, nil
}

// currentTx is t as tx sees it: t itself when unchanged; the table as it
// is now when it changed since t was read (an index, the stream, TTL) but
// keeps its key; nil when it is gone or its key changed, so that a write
// prepared against t never lands beside the table it meant.
func currentTx(tx *store.Tx, t *table) (*table, error) {
	now, err := loadTableTx(tx, t.d.TableName)
	if err != nil || now == nil {
		return nil, err
	}
	if now.doc == t.doc {
		return t, nil
	}
	if now.key != t.key {
		return nil, nil
	}
	return now, nil
}

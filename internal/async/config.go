package async

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/cloudlet/cloudlet/internal/store"
)

// Config is one function's asynchronous invocation settings: Lambda's
// EventInvokeConfig (retries, maximum age, destinations) and its
// DeadLetterConfig.
type Config struct {
	// MaxRetries is 0 to 2; nil: MaxRetries.
	MaxRetries *int `json:"retries,omitempty"`
	// MaxAgeSeconds is 60 to 21600; nil: MaxAge.
	MaxAgeSeconds *int `json:"age,omitempty"`
	// OnSuccess and OnFailure are destination ARNs, or "".
	OnSuccess string `json:"success,omitempty"`
	OnFailure string `json:"failure,omitempty"`
	// DeadLetter is the dead-letter target's ARN (onError), or "".
	DeadLetter string `json:"dlq,omitempty"`
	// Invoke says the function has an EventInvokeConfig (the settings
	// above but DeadLetter), even one of defaults only.
	Invoke bool `json:"invoke,omitempty"`
	// InvokeFrom says who set the EventInvokeConfig: FromDeploy or
	// FromAPI. The dead-letter target is always the deploy's (onError).
	InvokeFrom string `json:"from,omitempty"`
	// ClearOnSuccess and ClearOnFailure, in an update, say the
	// destination was given empty: it is removed, not kept.
	ClearOnSuccess, ClearOnFailure bool `json:"-"`
	// Modified is when the settings were last set (not stored in doc).
	Modified time.Time `json:"-"`
}

// empty reports whether c holds no setting at all.
func (c Config) empty() bool {
	return !c.Invoke && c.MaxRetries == nil && c.MaxAgeSeconds == nil && c.OnSuccess == "" && c.OnFailure == "" && c.DeadLetter == ""
}

func (c Config) retries() int {
	if c.MaxRetries != nil {
		return *c.MaxRetries
	}
	return MaxRetries
}

func (c Config) maxAge() time.Duration {
	if c.MaxAgeSeconds != nil {
		return time.Duration(*c.MaxAgeSeconds) * time.Second
	}
	return MaxAge
}

// Sources of a function's settings.
const (
	FromDeploy = "deploy"
	FromAPI    = "api"
)

// configs is the cache of the store's async_configs; every write goes
// through the Queue, so it never differs from the store.
type configs struct {
	loaded bool
	by     map[string]Config
}

// loadConfigs fills the cache once.
func (q *Queue) loadConfigs(ctx context.Context) error {
	q.cmu.Lock()
	defer q.cmu.Unlock()
	if q.cfg.loaded {
		return nil
	}
	by := map[string]Config{}
	err := q.st.View(ctx, func(tx *store.Tx) error {
		rows, err := tx.Query(`SELECT function, doc, modified FROM async_configs`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var fn, doc string
			var mod int64
			if err := rows.Scan(&fn, &doc, &mod); err != nil {
				return err
			}
			var c Config
			if err := json.Unmarshal([]byte(doc), &c); err != nil {
				return err
			}
			c.Modified = time.UnixMilli(mod)
			by[fn] = c
		}
		return rows.Err()
	})
	if err != nil {
		return err
	}
	q.cfg = configs{loaded: true, by: by}
	return nil
}

// config is function's settings (the zero Config: Lambda's defaults).
func (q *Queue) config(function string) Config {
	if err := q.loadConfigs(context.Background()); err != nil {
		q.log.Error("async: load the functions' settings", "err", err)
	}
	q.cmu.Lock()
	defer q.cmu.Unlock()
	return q.cfg.by[function]
}

// EventInvokeConfig returns function's EventInvokeConfig; ok is false
// when it has none.
func (q *Queue) EventInvokeConfig(ctx context.Context, function string) (Config, bool, error) {
	if err := q.loadConfigs(ctx); err != nil {
		return Config{}, false, err
	}
	q.cmu.Lock()
	defer q.cmu.Unlock()
	c, ok := q.cfg.by[function]
	return c, ok && c.Invoke, nil
}

// PutEventInvokeConfig sets function's EventInvokeConfig
// (PutFunctionEventInvokeConfig, and UpdateFunctionEventInvokeConfig
// with update, which keeps what c leaves unset and answers ErrNoConfig
// when there is none). The dead-letter target stays.
func (q *Queue) PutEventInvokeConfig(ctx context.Context, function string, c Config, update bool) (Config, error) {
	if err := q.loadConfigs(ctx); err != nil {
		return Config{}, err
	}
	q.cmu.Lock()
	defer q.cmu.Unlock()
	old := q.cfg.by[function]
	if update {
		if !old.Invoke {
			return Config{}, ErrNoConfig
		}
		if c.MaxRetries == nil {
			c.MaxRetries = old.MaxRetries
		}
		if c.MaxAgeSeconds == nil {
			c.MaxAgeSeconds = old.MaxAgeSeconds
		}
		if c.OnSuccess == "" && !c.ClearOnSuccess {
			c.OnSuccess = old.OnSuccess
		}
		if c.OnFailure == "" && !c.ClearOnFailure {
			c.OnFailure = old.OnFailure
		}
	}
	c.ClearOnSuccess, c.ClearOnFailure = false, false
	c.DeadLetter, c.Invoke, c.InvokeFrom = old.DeadLetter, true, FromAPI
	c.Modified = time.Now().Truncate(time.Millisecond)
	if err := q.st.Update(ctx, func(tx *store.Tx) error { return setConfigTx(tx, function, c) }); err != nil {
		return Config{}, err
	}
	q.cfg.by[function] = c
	return c, nil
}

// DeleteEventInvokeConfig removes function's EventInvokeConfig
// (ErrNoConfig when it has none); its dead-letter target stays.
func (q *Queue) DeleteEventInvokeConfig(ctx context.Context, function string) error {
	if err := q.loadConfigs(ctx); err != nil {
		return err
	}
	q.cmu.Lock()
	defer q.cmu.Unlock()
	old, ok := q.cfg.by[function]
	if !ok || !old.Invoke {
		return ErrNoConfig
	}
	c := Config{DeadLetter: old.DeadLetter, Modified: time.Now().Truncate(time.Millisecond)}
	if err := q.st.Update(ctx, func(tx *store.Tx) error { return setConfigTx(tx, function, c) }); err != nil {
		return err
	}
	if c.empty() {
		delete(q.cfg.by, function)
	} else {
		q.cfg.by[function] = c
	}
	return nil
}

func setConfigTx(tx *store.Tx, function string, c Config) error {
	if c.empty() {
		_, err := tx.Exec(`DELETE FROM async_configs WHERE function = ?`, function)
		return err
	}
	doc, _ := json.Marshal(c)
	_, err := tx.Exec(`INSERT INTO async_configs (function, doc, source, modified) VALUES (?, ?, ?, ?)
		ON CONFLICT (function) DO UPDATE SET doc = excluded.doc, source = excluded.source, modified = excluded.modified`,
		function, string(doc), c.InvokeFrom, c.Modified.UnixMilli())
	return err
}

// ErrNoConfig is DeleteEventInvokeConfig's answer for a function without
// an EventInvokeConfig.
var ErrNoConfig = errors.New("async: the function has no EventInvokeConfig")

// ApplyConfigs makes the settings a deploy declares the current ones, in
// one transaction (declared: by function, Invoke set when it declares any
// of the EventInvokeConfig's; deployed: every function of the deploy).
// The dead-letter target is the deploy's alone: set, changed or removed
// as declared. An EventInvokeConfig is the declared one; where none is
// declared, one an earlier deploy made is removed and one put through the
// API stays, while its function is deployed.
func (q *Queue) ApplyConfigs(ctx context.Context, declared map[string]Config, deployed map[string]bool) error {
	if err := q.loadConfigs(ctx); err != nil {
		return err
	}
	q.cmu.Lock()
	defer q.cmu.Unlock()
	now := time.Now().Truncate(time.Millisecond)
	next := map[string]Config{}
	for fn, old := range q.cfg.by {
		next[fn] = old
	}
	changed := map[string]bool{}
	for fn := range q.cfg.by {
		changed[fn] = true
	}
	for fn := range declared {
		changed[fn] = true
	}
	for fn := range changed {
		old, want := q.cfg.by[fn], declared[fn]
		c := Config{DeadLetter: want.DeadLetter}
		switch {
		case want.Invoke:
			c.MaxRetries, c.MaxAgeSeconds, c.OnSuccess, c.OnFailure = want.MaxRetries, want.MaxAgeSeconds, want.OnSuccess, want.OnFailure
			c.Invoke, c.InvokeFrom = true, FromDeploy
		case old.Invoke && old.InvokeFrom == FromAPI && deployed[fn]:
			c.MaxRetries, c.MaxAgeSeconds, c.OnSuccess, c.OnFailure = old.MaxRetries, old.MaxAgeSeconds, old.OnSuccess, old.OnFailure
			c.Invoke, c.InvokeFrom = true, FromAPI
		}
		if !deployed[fn] {
			c = Config{}
		}
		if sameConfig(old, c) {
			delete(changed, fn)
			continue // unchanged: keeps its LastModified
		}
		c.Modified = now
		if c.empty() {
			delete(next, fn)
		} else {
			next[fn] = c
		}
	}
	err := q.st.Update(ctx, func(tx *store.Tx) error {
		for fn := range changed {
			if err := setConfigTx(tx, fn, next[fn]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	q.cfg.by = next
	return nil
}

func sameConfig(a, b Config) bool {
	a.Modified, b.Modified = time.Time{}, time.Time{}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

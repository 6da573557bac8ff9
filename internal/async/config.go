package async

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
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
// with update, which keeps what c leaves unset). The dead-letter target
// stays.
func (q *Queue) PutEventInvokeConfig(ctx context.Context, function string, c Config, update bool) (Config, error) {
	if err := q.loadConfigs(ctx); err != nil {
		return Config{}, err
	}
	q.cmu.Lock()
	defer q.cmu.Unlock()
	old := q.cfg.by[function]
	if update && old.Invoke {
		if c.MaxRetries == nil {
			c.MaxRetries = old.MaxRetries
		}
		if c.MaxAgeSeconds == nil {
			c.MaxAgeSeconds = old.MaxAgeSeconds
		}
		if c.OnSuccess == "" {
			c.OnSuccess = old.OnSuccess
		}
		if c.OnFailure == "" {
			c.OnFailure = old.OnFailure
		}
	}
	c.DeadLetter, c.Invoke = old.DeadLetter, true
	c.Modified = time.Now().Truncate(time.Millisecond)
	if err := q.st.Update(ctx, func(tx *store.Tx) error { return setConfigTx(tx, function, c, FromAPI) }); err != nil {
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
	if err := q.st.Update(ctx, func(tx *store.Tx) error { return setConfigTx(tx, function, c, FromAPI) }); err != nil {
		return err
	}
	if c.empty() {
		delete(q.cfg.by, function)
	} else {
		q.cfg.by[function] = c
	}
	return nil
}

func setConfigTx(tx *store.Tx, function string, c Config, source string) error {
	if c.empty() {
		_, err := tx.Exec(`DELETE FROM async_configs WHERE function = ?`, function)
		return err
	}
	doc, _ := json.Marshal(c)
	_, err := tx.Exec(`INSERT INTO async_configs (function, doc, source, modified) VALUES (?, ?, ?, ?)
		ON CONFLICT (function) DO UPDATE SET doc = excluded.doc, source = excluded.source, modified = excluded.modified`,
		function, string(doc), source, c.Modified.UnixMilli())
	return err
}

// ErrNoConfig is DeleteEventInvokeConfig's answer for a function without
// an EventInvokeConfig.
var ErrNoConfig = errors.New("async: the function has no EventInvokeConfig")

// ApplyConfigs makes the settings a deploy declares (by function; Invoke
// set when it declares any of the EventInvokeConfig's) the current ones, in one transaction: settings an earlier deploy made for a
// function that no longer declares any are removed, and so are the
// settings of functions no longer deployed (deployed: every function of
// the deploy). Settings put through the API for a function that declares
// none stay.
func (q *Queue) ApplyConfigs(ctx context.Context, declared map[string]Config, deployed map[string]bool) error {
	if err := q.loadConfigs(ctx); err != nil {
		return err
	}
	q.cmu.Lock()
	defer q.cmu.Unlock()
	now := time.Now().Truncate(time.Millisecond)
	next := maps.Clone(q.cfg.by)
	err := q.st.Update(ctx, func(tx *store.Tx) error {
		next = maps.Clone(q.cfg.by)
		rows, err := tx.Query(`SELECT function, source FROM async_configs`)
		if err != nil {
			return err
		}
		var drop []string
		for rows.Next() {
			var fn, src string
			if err := rows.Scan(&fn, &src); err != nil {
				rows.Close()
				return err
			}
			if _, keep := declared[fn]; !keep && (!deployed[fn] || src == FromDeploy) {
				drop = append(drop, fn)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, fn := range drop {
			if _, err := tx.Exec(`DELETE FROM async_configs WHERE function = ?`, fn); err != nil {
				return err
			}
			delete(next, fn)
		}
		for fn, c := range declared {
			if old, ok := q.cfg.by[fn]; ok && sameConfig(old, c) {
				continue // unchanged: keeps its LastModified
			}
			c.Modified = now
			if err := setConfigTx(tx, fn, c, FromDeploy); err != nil {
				return err
			}
			if c.empty() {
				delete(next, fn)
			} else {
				next[fn] = c
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

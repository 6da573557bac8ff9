package iam

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"sync"
	"time"
)

// DefaultAccount is the account of every principal (one account per server).
const DefaultAccount = "000000000000"

// SessionTTL is how long role-session credentials are valid.
const SessionTTL = 12 * time.Hour

// Key is one access key: its secret, the session token it must be used
// with (role sessions), when it expires and whom it belongs to.
type Key struct {
	ID        string
	Secret    string
	Token     string    // "" for the admin's long-term key
	Expires   time.Time // zero for the admin's key
	Principal *Principal
	Admin     bool
	// Function is the function whose instance holds the key, or "".
	Function string
}

// Role is an IAM role: its identity policies and who may assume it.
type Role struct {
	Name     string
	ARN      string
	RoleID   string // AROA...
	Policies []*Policy
	// Trust names who may assume it (sts:AssumeRole), as a resource
	// policy; nil trusts only the Lambda service.
	Trust *Policy
}

// Keys holds the admin key, the roles, and the role sessions issued to
// function instances and by AssumeRole. It is safe for concurrent use.
type Keys struct {
	mu      sync.RWMutex
	account string
	now     func() time.Time
	byID    map[string]*Key
	admin   *Principal
	roles   map[string]*Role  // by name
	fnRole  map[string]string // function → role name
	byFn    map[string][]*Key // function → its instances' keys
}

// NewKeys returns a store holding the admin key pair.
func NewKeys(adminID, adminSecret string) *Keys {
	k := &Keys{account: DefaultAccount, now: time.Now, byID: map[string]*Key{}, roles: map[string]*Role{},
		fnRole: map[string]string{}, byFn: map[string][]*Key{}}
	k.admin = &Principal{ARN: "arn:aws:iam::" + k.account + ":root", Account: k.account, UserID: k.account, Admin: true}
	k.byID[adminID] = &Key{ID: adminID, Secret: adminSecret, Principal: k.admin, Admin: true}
	return k
}

// Secret returns the secret of a valid access key (the SigV4 verifier's
// lookup). Expired keys are still found: Expired tells them apart.
func (k *Keys) Secret(id string) (string, bool) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	key, ok := k.byID[id]
	if !ok {
		return "", false
	}
	return key.Secret, true
}

// SessionToken is the session token a key must be used with ("" for the
// admin's long-term key).
func (k *Keys) SessionToken(id string) string {
	k.mu.RLock()
	defer k.mu.RUnlock()
	if key, ok := k.byID[id]; ok {
		return key.Token
	}
	return ""
}

// Expired reports whether a key's session has expired.
func (k *Keys) Expired(id string) bool {
	k.mu.RLock()
	defer k.mu.RUnlock()
	key, ok := k.byID[id]
	return ok && !key.Expires.IsZero() && !k.now().Before(key.Expires)
}

// Lookup returns the key with id.
func (k *Keys) Lookup(id string) (*Key, bool) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	key, ok := k.byID[id]
	return key, ok
}

// Role returns the role called name.
func (k *Keys) Role(name string) (*Role, bool) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	r, ok := k.roles[name]
	return r, ok
}

// Stage makes roles and functionRoles available before a deploy is
// applied (its provisioned instances start during it): they are added to
// the current ones, nothing is revoked. Commit or a Commit of the previous
// set follows.
func (k *Keys) Stage(roles []*Role, functionRoles map[string]string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, r := range roles {
		k.roles[r.Name] = r
	}
	for fn, r := range functionRoles {
		k.fnRole[fn] = r
	}
}

// Commit makes roles and functionRoles exactly the current set. Every
// session whose role is gone is revoked, and every function instance's
// session whose function is gone or now uses another role: credentials die
// with their function. Sessions of a role that stays see its new policies
// from now on, as on AWS.
func (k *Keys) Commit(roles []*Role, functionRoles map[string]string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.roles = make(map[string]*Role, len(roles))
	for _, r := range roles {
		k.roles[r.Name] = r
	}
	k.fnRole = make(map[string]string, len(functionRoles))
	for fn, r := range functionRoles {
		k.fnRole[fn] = r
	}
	for id, key := range k.byID {
		if key.Admin {
			continue
		}
		role := key.Principal.RoleName
		if k.roles[role] == nil || key.Function != "" && k.fnRole[key.Function] != role {
			delete(k.byID, id)
		}
	}
	for fn, keys := range k.byFn {
		kept := keys[:0]
		for _, key := range keys {
			if _, ok := k.byID[key.ID]; ok {
				kept = append(kept, key)
			}
		}
		if len(kept) == 0 {
			delete(k.byFn, fn)
		} else {
			k.byFn[fn] = kept
		}
	}
}

// IssueFunction issues the credentials of one new instance of function: a
// session of its role named after the function, as Lambda's are. release
// revokes them (the instance is gone). ok is false for an unknown
// function.
func (k *Keys) IssueFunction(function string) (key Key, release func(), ok bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	r, ok := k.roles[k.fnRole[function]]
	if !ok {
		return Key{}, nil, false
	}
	nk := k.sessionLocked(r, function, SessionTTL)
	nk.Function = function
	k.byFn[function] = append(k.byFn[function], nk)
	return *nk, func() { k.revoke(nk) }, true
}

// FunctionKey returns a key of function's role session — its principal
// only, no credentials are issued — for the calls the platform makes on
// the function's behalf (its destinations). ok is false for a function
// without a role.
func (k *Keys) FunctionKey(function string) (*Key, bool) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	r, ok := k.roles[k.fnRole[function]]
	if !ok {
		return nil, false
	}
	return &Key{Function: function, Principal: &Principal{
		ARN:      "arn:aws:sts::" + k.account + ":assumed-role/" + r.Name + "/" + function,
		Account:  k.account,
		UserID:   r.RoleID + ":" + function,
		RoleARN:  r.ARN,
		RoleName: r.Name,
		Session:  function,
	}}, true
}

// AssumeRole issues a session of role called session, valid for ttl.
func (k *Keys) AssumeRole(role *Role, session string, ttl time.Duration) Key {
	k.mu.Lock()
	defer k.mu.Unlock()
	return *k.sessionLocked(role, session, ttl)
}

func (k *Keys) sessionLocked(r *Role, session string, ttl time.Duration) *Key {
	k.pruneLocked()
	p := &Principal{
		ARN:      "arn:aws:sts::" + k.account + ":assumed-role/" + r.Name + "/" + session,
		Account:  k.account,
		UserID:   r.RoleID + ":" + session,
		RoleARN:  r.ARN,
		RoleName: r.Name,
		Session:  session,
	}
	nk := &Key{ID: "ASIA" + randomString(16, upperAlnum), Secret: randomString(40, secretAlphabet),
		Token: sessionToken(), Expires: k.now().Add(ttl).Truncate(time.Second), Principal: p}
	k.byID[nk.ID] = nk
	return nk
}

// pruneLocked forgets expired sessions (at most every issue).
func (k *Keys) pruneLocked() {
	now := k.now()
	for id, key := range k.byID {
		if !key.Expires.IsZero() && now.After(key.Expires.Add(time.Hour)) {
			delete(k.byID, id)
		}
	}
}

func (k *Keys) revoke(key *Key) {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.byID, key.ID)
	keys := k.byFn[key.Function]
	for i, x := range keys {
		if x == key {
			k.byFn[key.Function] = append(keys[:i:i], keys[i+1:]...)
			break
		}
	}
	if len(k.byFn[key.Function]) == 0 {
		delete(k.byFn, key.Function)
	}
}

// Policies returns the current identity policies of a principal: none for
// the admin (who is allowed everything), its role's for a session, and
// ok false when its role is gone.
func (k *Keys) Policies(p *Principal) ([]*Policy, bool) {
	if p.Admin {
		return nil, true
	}
	k.mu.RLock()
	defer k.mu.RUnlock()
	r, ok := k.roles[p.RoleName]
	if !ok {
		return nil, false
	}
	return r.Policies, true
}

// RoleID is the unique ID of the role called name (AROA + 17
// characters, as IAM gives every role), the same on every deploy.
func RoleID(name string) string {
	sum := sha256.Sum256([]byte("role:" + name))
	b := make([]byte, 17)
	for i := range b {
		b[i] = upperAlnum[int(sum[i])%len(upperAlnum)]
	}
	return "AROA" + string(b)
}

const (
	upperAlnum     = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	secretAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
)

func randomString(n int, alphabet string) string {
	b := make([]byte, n)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

func sessionToken() string {
	b := make([]byte, 96)
	rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

package iam

import (
	"crypto/rand"
	"sync"
)

// Key is one access key pair and whom it belongs to.
type Key struct {
	ID        string
	Secret    string
	Principal string // "admin" or "function:<name>"
	Token     string // the session token it must be used with, if any
	Admin     bool
}

// Keys is the set of valid access keys. It is safe for concurrent use.
type Keys struct {
	mu    sync.RWMutex
	byID  map[string]Key
	byFor map[string]string // principal → key ID
}

// NewKeys returns a store holding the admin key pair.
func NewKeys(adminID, adminSecret string) *Keys {
	k := &Keys{byID: map[string]Key{}, byFor: map[string]string{}}
	k.byID[adminID] = Key{ID: adminID, Secret: adminSecret, Principal: "admin", Admin: true}
	k.byFor["admin"] = adminID
	return k
}

// Secret returns the secret of an access key ID (the SigV4 verifier's lookup).
func (k *Keys) Secret(id string) (string, bool) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	key, ok := k.byID[id]
	return key.Secret, ok
}

// SessionToken is the session token a key must be used with: none, for
// every key issued so far (they are long-term keys).
func (k *Keys) SessionToken(id string) string {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.byID[id].Token
}

// Lookup returns the whole key.
func (k *Keys) Lookup(id string) (Key, bool) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	key, ok := k.byID[id]
	return key, ok
}

// Issue returns the key pair of principal, creating it the first time.
func (k *Keys) Issue(principal string) Key {
	k.mu.Lock()
	defer k.mu.Unlock()
	if id, ok := k.byFor[principal]; ok {
		return k.byID[id]
	}
	key := Key{ID: "ASIA" + randomString(16, upperAlnum), Secret: randomString(40, secretAlphabet), Principal: principal}
	k.byID[key.ID] = key
	k.byFor[principal] = key.ID
	return key
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

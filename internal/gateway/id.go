package gateway

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"sync/atomic"
)

// idGen makes request ids from a counter: each id is a bijective mix of the
// counter with a per-process random seed, so ids are unique within the
// process (for 2^62 requests), look random, and cost no system call.
type idGen struct {
	seed [3]uint64
	n    atomic.Uint64
}

func newIDGen() *idGen {
	var b [24]byte
	_, _ = rand.Read(b[:]) // never fails since Go 1.24
	g := &idGen{}
	for i := range g.seed {
		g.seed[i] = binary.LittleEndian.Uint64(b[8*i:])
	}
	return g
}

func (g *idGen) next() uint64 { return g.n.Add(1) }

const mask62 = 1<<62 - 1

// mix62 is a bijection on 62-bit values: multiplications by odd constants
// and xor-shifts are each invertible modulo 2^62.
func mix62(x uint64) uint64 {
	x &= mask62
	x = (x * 0xbf58476d1ce4e5b9) & mask62
	x ^= x >> 31
	x = (x * 0x94d049bb133111eb) & mask62
	x ^= x >> 29
	return x
}

// uuid returns a version-4-shaped UUID, the form of REST API request ids
// ("deef4878-7910-11e6-8f14-25afc3e9ae33"). Its low 62 bits are unique.
func (g *idGen) uuid(n uint64) string {
	lo := 1<<63 | mix62(n+g.seed[0]) // variant 10
	hi := mix62(lo^g.seed[1]) ^ g.seed[1]<<62
	hi = hi&^0xf000 | 0x4000 // version 4
	var b [36]byte
	hexBytes(b[0:8], hi>>32, 8)
	b[8] = '-'
	hexBytes(b[9:13], hi>>16, 4)
	b[13] = '-'
	hexBytes(b[14:18], hi, 4)
	b[18] = '-'
	hexBytes(b[19:23], lo>>48, 4)
	b[23] = '-'
	hexBytes(b[24:36], lo, 12)
	return string(b[:])
}

func hexBytes(dst []byte, v uint64, n int) {
	for i := n - 1; i >= 0; i-- {
		dst[i] = hexDigits[v&0xf]
		v >>= 4
	}
}

// short returns an id shaped like HTTP API request ids and REST extended
// request ids ("LV7fzho-PHcEJPw="): 11 bytes in URL-safe base64.
func (g *idGen) short(n uint64) string {
	var raw [11]byte
	binary.BigEndian.PutUint64(raw[:8], mix62(n+g.seed[2])<<2|g.seed[2]>>62)
	raw[8], raw[9], raw[10] = byte(g.seed[2]), byte(g.seed[2]>>8), byte(g.seed[2]>>16)
	var b [16]byte
	base64.URLEncoding.Encode(b[:], raw[:])
	return string(b[:])
}

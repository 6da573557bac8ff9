package iam

import (
	"strings"
	"unicode/utf8"
)

// glob reports whether s matches pattern, where * matches any run of
// characters (also none) and ? exactly one. It runs in O(len(s)·len(p)) at
// worst, without recursion, whatever the pattern.
func glob(pattern, s string) bool { return globFold(pattern, s, false) }

// globFold is glob; with fold, s is compared as if lower-cased (ASCII), for
// lower-case patterns.
func globFold(pattern, s string, fold bool) bool {
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case p < len(pattern) && (pattern[p] == '?' || pattern[p] == s[i] || fold && pattern[p] == lower(s[i])):
			if pattern[p] == '?' {
				// ? is one character, which may be several bytes.
				_, size := utf8.DecodeRuneInString(s[i:])
				i += size
			} else {
				i++
			}
			p++
		case star >= 0:
			p = star + 1
			_, size := utf8.DecodeRuneInString(s[mark:])
			mark += size
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

// matchAction matches a lower-cased action pattern against an action
// (case-insensitive, as IAM compares actions).
func matchAction(pattern, action string) bool {
	if pattern == "*" {
		return true
	}
	return globFold(pattern, action, true)
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// matchARN matches a Resource pattern (or an ArnLike value) against an ARN.
// As IAM does, each of the first five colon-separated parts is matched on
// its own, so a wildcard never spans a colon there; the sixth part (the
// resource, which may hold colons) is matched whole. A pattern with fewer
// parts lets its last part match the rest of the ARN.
func matchARN(pattern, arn string) bool {
	if pattern == "*" {
		return true
	}
	for part := 0; ; part++ {
		pi := strings.IndexByte(pattern, ':')
		if part == 5 || pi < 0 {
			return glob(pattern, arn)
		}
		ai := strings.IndexByte(arn, ':')
		if ai < 0 {
			return false
		}
		if !glob(pattern[:pi], arn[:ai]) {
			return false
		}
		pattern, arn = pattern[pi+1:], arn[ai+1:]
	}
}

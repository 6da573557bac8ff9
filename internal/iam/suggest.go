package iam

import (
	"slices"
	"sort"
	"strings"
)

// Suggestion is one statement that allows what a principal did.
type Suggestion struct {
	Actions   []string
	Resources []string
	// Missing: its role does not allow these calls yet (they were denied,
	// or let through by soft mode).
	Missing bool
	Calls   int // how many recorded calls it covers
}

// Suggest derives least-privilege statements from recorded decisions, as
// IAM Access Analyzer's policy generation does: exactly the actions and
// resources that were used, the actions that share a set of resources in
// one statement. Statements for what was refused come first.
func Suggest(entries []Entry) []Suggestion {
	type pair struct{ action, resource string }
	calls := map[pair]int{}
	missing := map[pair]bool{}
	for _, e := range entries {
		p := pair{e.Action, e.Resource}
		calls[p]++
		if !e.Decision.Allowed {
			missing[p] = true
		}
	}
	var out []Suggestion
	for _, want := range []bool{true, false} {
		byAction := map[string][]string{}
		n := map[string]int{}
		for p, c := range calls {
			if missing[p] != want {
				continue
			}
			byAction[p.action] = append(byAction[p.action], p.resource)
			n[p.action] += c
		}
		byResources := map[string]*Suggestion{}
		var keys []string
		for action, rs := range byAction {
			sort.Strings(rs)
			if slices.Contains(rs, "*") {
				rs = []string{"*"}
			}
			k := strings.Join(rs, "\x00")
			s, ok := byResources[k]
			if !ok {
				s = &Suggestion{Resources: rs, Missing: want}
				byResources[k] = s
				keys = append(keys, k)
			}
			s.Actions = append(s.Actions, action)
			s.Calls += n[action]
		}
		sort.Strings(keys)
		for _, k := range keys {
			s := byResources[k]
			sort.Strings(s.Actions)
			out = append(out, *s)
		}
	}
	return out
}

// YAML renders suggestions as a statements list ready to paste under
// provider.iam.role.statements (or a function's iamRoleStatements).
func YAML(ss []Suggestion) string {
	var b strings.Builder
	for _, s := range ss {
		if s.Missing {
			b.WriteString("# not allowed yet:\n")
		}
		b.WriteString("- Effect: Allow\n  Action:\n")
		for _, a := range s.Actions {
			b.WriteString("    - " + a + "\n")
		}
		b.WriteString("  Resource:\n")
		for _, r := range s.Resources {
			if r == "*" {
				r = "'*'"
			}
			b.WriteString("    - " + r + "\n")
		}
	}
	return b.String()
}

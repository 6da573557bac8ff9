package schedule

import (
	"strings"
	"testing"
	"time"
)

func at(s string) time.Time {
	t, err := time.Parse("2006-01-02 15:04", s)
	if err != nil {
		panic(err)
	}
	return t
}

// The EventBridge documentation's cron examples, and the special
// characters, each checked by the ticks that follow a fixed time
// (Tuesday 2026-12-01 09:07 UTC).
func TestCronExamples(t *testing.T) {
	from := at("2026-12-01 09:07")
	for _, c := range []struct {
		expr string
		want []string
	}{
		{"cron(0 10 * * ? *)", []string{"2026-12-01 10:00", "2026-12-02 10:00"}},
		{"cron(15 12 * * ? *)", []string{"2026-12-01 12:15", "2026-12-02 12:15"}},
		{"cron(0 18 ? * MON-FRI *)", []string{"2026-12-01 18:00", "2026-12-02 18:00", "2026-12-03 18:00", "2026-12-04 18:00", "2026-12-07 18:00"}},
		{"cron(0 8 1 * ? *)", []string{"2027-01-01 08:00", "2027-02-01 08:00"}},
		{"cron(0/15 * * * ? *)", []string{"2026-12-01 09:15", "2026-12-01 09:30", "2026-12-01 09:45"}},
		{"cron(0/10 * ? * MON-FRI *)", []string{"2026-12-01 09:10", "2026-12-01 09:20"}},
		{"cron(0/5 8-17 ? * MON-FRI *)", []string{"2026-12-01 09:10", "2026-12-01 09:15"}},
		{"cron(0 9 ? * 2#1 *)", []string{"2026-12-07 09:00", "2027-01-04 09:00", "2027-02-01 09:00"}}, // the first Monday
		{"cron(0 0 L * ? *)", []string{"2026-12-31 00:00", "2027-01-31 00:00", "2027-02-28 00:00"}},
		{"cron(0 12 15W * ? *)", []string{"2026-12-15 12:00", "2027-01-15 12:00", "2027-02-15 12:00", "2027-03-15 12:00",
			"2027-04-15 12:00", "2027-05-14 12:00"}}, // May 15 2027 is a Saturday
		{"cron(0 12 LW * ? *)", []string{"2026-12-31 12:00", "2027-01-29 12:00"}}, // Jan 31 2027 is a Sunday
		{"cron(0 12 ? * 6L *)", []string{"2026-12-25 12:00", "2027-01-29 12:00"}}, // the last Friday
		{"cron(30 6 ? * SUN,SAT 2027)", []string{"2027-01-02 06:30", "2027-01-03 06:30", "2027-01-09 06:30"}},
		{"cron(0 0 29 2 ? *)", []string{"2028-02-29 00:00"}},
	} {
		e, err := Parse(c.expr)
		if err != nil {
			t.Fatalf("%s: %v", c.expr, err)
		}
		cur := from
		for i, w := range c.want {
			next, ok := e.Next(cur, time.Time{}, nil)
			if !ok || !next.Equal(at(w)) {
				t.Errorf("%s: tick %d = %v, want %s", c.expr, i+1, next.Format("2006-01-02 15:04 Mon"), w)
				break
			}
			cur = next
		}
	}
}

// rate() ticks from the schedule's start; a time zone moves cron's ticks.
func TestRateAndTimezone(t *testing.T) {
	e, err := Parse("rate(5 minutes)")
	if err != nil {
		t.Fatal(err)
	}
	start := at("2026-12-01 09:00")
	if n, _ := e.Next(at("2026-12-01 09:07"), start, nil); !n.Equal(at("2026-12-01 09:10")) {
		t.Fatalf("rate: %v", n)
	}
	if n, _ := e.Next(at("2026-12-01 09:10"), start, nil); !n.Equal(at("2026-12-01 09:15")) {
		t.Fatalf("rate on a tick: %v", n)
	}
	ny, _ := time.LoadLocation("America/New_York")
	c, _ := Parse("cron(0 9 * * ? *)")
	if n, _ := c.Next(at("2026-12-01 09:07"), time.Time{}, ny); !n.Equal(at("2026-12-01 14:00")) {
		t.Fatalf("9:00 in New York is %v UTC, want 14:00", n.UTC())
	}
}

// In a repeated hour (clocks going back), a tick fires once.
func TestRepeatedHourFiresOnce(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	c, _ := Parse("cron(30 1 * * ? *)")
	first, _ := c.Next(time.Date(2026, 11, 1, 0, 0, 0, 0, ny), time.Time{}, ny) // 01:30 EDT on the day clocks go back
	next, _ := c.Next(first, time.Time{}, ny)
	if next.Sub(first) < 24*time.Hour {
		t.Fatalf("after %v the next tick is %v", first, next)
	}
}

// Expressions EventBridge refuses.
func TestBadExpressions(t *testing.T) {
	for _, s := range []string{"rate(0 minutes)", "rate(1 minutes)", "rate(5 minute)", "rate(5 weeks)", "rate(five minutes)",
		"cron(0 10 * * * *)", "cron(0 10 ? * ? *)", "cron(0 10 * *)", "cron(60 10 * * ? *)", "cron(0 24 * * ? *)",
		"cron(0 10 32 * ? *)", "cron(0 10 ? * 8 *)", "cron(0 10 ? * 2#6 *)", "cron(0 10 * 13 ? *)", "cron(5-1 10 * * ? *)", "every day"} {
		if _, err := Parse(s); err == nil || !strings.HasPrefix(err.Error(), "Parameter ScheduleExpression is not valid") {
			t.Errorf("%s: %v", s, err)
		}
	}
}

// at() is one tick, at its wall-clock time in the schedule's zone, and
// none after it.
func TestAtExpression(t *testing.T) {
	e, err := Parse("at(2026-12-24T18:30:00)")
	if err != nil || !e.OneTime() {
		t.Fatalf("%v %v", e, err)
	}
	paris, _ := time.LoadLocation("Europe/Paris")
	from := at("2026-12-01 09:07")
	if n, ok := e.Next(from, from, paris); !ok || !n.Equal(time.Date(2026, 12, 24, 17, 30, 0, 0, time.UTC)) {
		t.Fatalf("next %v %v", n, ok)
	}
	if _, ok := e.Next(time.Date(2026, 12, 24, 18, 30, 0, 0, time.UTC), from, nil); ok {
		t.Fatal("a tick after the one")
	}
	for _, bad := range []string{"at(2026-12-24)", "at(2026-12-24 18:30:00)", "at()"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("%s parsed", bad)
		}
	}
}

// Parsing never panics; a parsed expression's next tick is after the
// time asked about.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"rate(5 minutes)", "cron(0/5 8-17 ? * MON-FRI *)", "cron(0 9 ? * 2#1 *)", "cron(0 12 15W * ? *)",
		"cron(0 0 L * ? *)", "cron(0 12 ? * 6L 2027-2030)", "cron(*/3 1,2,3 1-10/2 JAN-MAR ? *)", "at(2026-12-24T18:30:00)"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := Parse(s)
		if err != nil {
			return
		}
		from := at("2026-12-01 09:07")
		if n, ok := e.Next(from, from, nil); ok && !n.After(from) {
			t.Fatalf("%s: next %v is not after %v", s, n, from)
		}
	})
}

package schedule

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Expr is a parsed schedule expression.
type Expr struct {
	rate time.Duration // rate(): the period; 0 for cron
	cron *cronExpr
	at   *time.Time // at(): the one tick's wall-clock time (its zone ignored)
}

// OneTime reports whether e is an at() expression.
func (e *Expr) OneTime() bool { return e.at != nil }

type cronExpr struct {
	minutes, hours, months, years fieldSet
	dom                           dayField
	dow                           dayField
	domAny, dowAny                bool // the ? of one of them
}

// fieldSet is the values a field allows (nil: every value).
type fieldSet map[int]bool

// dayField is a day-of-month or day-of-week field.
type dayField struct {
	set         fieldSet
	last        bool // L: the last day of the month, or (day of week) the month's last such day with lastDow
	lastDow     int  // for "5L": the last Thursday of the month
	weekday     int  // for "15W": the weekday nearest the 15th (0: none)
	nth, nthDow int  // for "6#3": the third Friday
	lastWeekday bool // LW
}

func errExpr(format string, a ...any) error {
	return fmt.Errorf("Parameter ScheduleExpression is not valid: "+format, a...)
}

// Parse reads rate(...) or cron(...).
func Parse(s string) (*Expr, error) {
	s = strings.TrimSpace(s)
	switch {
	case strings.HasPrefix(s, "at(") && strings.HasSuffix(s, ")"):
		t, err := time.Parse("2006-01-02T15:04:05", s[3:len(s)-1])
		if err != nil {
			return nil, errExpr("%s must be at(yyyy-mm-ddThh:mm:ss)", s)
		}
		return &Expr{at: &t}, nil
	case strings.HasPrefix(s, "rate(") && strings.HasSuffix(s, ")"):
		f := strings.Fields(s[5 : len(s)-1])
		if len(f) != 2 {
			return nil, errExpr("rate(%s) must be rate(value unit), e.g. rate(5 minutes)", s[5:len(s)-1])
		}
		n, err := strconv.Atoi(f[0])
		if err != nil || n < 1 {
			return nil, errExpr("the value of %s must be a positive whole number", s)
		}
		unit := map[string]time.Duration{"minute": time.Minute, "minutes": time.Minute, "hour": time.Hour, "hours": time.Hour,
			"day": 24 * time.Hour, "days": 24 * time.Hour}[f[1]]
		if unit == 0 {
			return nil, errExpr("the unit of %s must be minute(s), hour(s) or day(s)", s)
		}
		if (n == 1) != !strings.HasSuffix(f[1], "s") {
			return nil, errExpr("%s: write rate(1 %s) for one, rate(%d %ss) for more", s, strings.TrimSuffix(f[1], "s"), max(n, 2), strings.TrimSuffix(f[1], "s"))
		}
		return &Expr{rate: time.Duration(n) * unit}, nil
	case strings.HasPrefix(s, "cron(") && strings.HasSuffix(s, ")"):
		c, err := parseCron(s[5 : len(s)-1])
		if err != nil {
			return nil, err
		}
		return &Expr{cron: c}, nil
	}
	return nil, errExpr("%q must be rate(...) or cron(...)", s)
}

var months = map[string]int{"JAN": 1, "FEB": 2, "MAR": 3, "APR": 4, "MAY": 5, "JUN": 6, "JUL": 7, "AUG": 8, "SEP": 9, "OCT": 10, "NOV": 11, "DEC": 12}
var weekdays = map[string]int{"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}

func parseCron(s string) (*cronExpr, error) {
	f := strings.Fields(s)
	if len(f) != 6 {
		return nil, errExpr("cron(%s) needs six fields (minutes hours day-of-month month day-of-week year), not %d", s, len(f))
	}
	c := &cronExpr{}
	var err error
	if c.minutes, err = parseField(f[0], 0, 59, nil, "minutes"); err != nil {
		return nil, err
	}
	if c.hours, err = parseField(f[1], 0, 23, nil, "hours"); err != nil {
		return nil, err
	}
	if c.months, err = parseField(f[3], 1, 12, months, "month"); err != nil {
		return nil, err
	}
	if c.years, err = parseField(f[5], 1970, 2199, nil, "year"); err != nil {
		return nil, err
	}
	c.domAny, c.dowAny = f[2] == "?", f[4] == "?"
	if c.domAny == c.dowAny {
		return nil, errExpr("cron(%s): one of day-of-month and day-of-week must be ?, and only one", s)
	}
	if !c.domAny {
		if c.dom, err = parseDom(f[2]); err != nil {
			return nil, err
		}
	}
	if !c.dowAny {
		if c.dow, err = parseDow(f[4]); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func parseValue(s string, lo, hi int, names map[string]int, field string) (int, error) {
	if v, ok := names[strings.ToUpper(s)]; ok {
		return v, nil
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < lo || v > hi {
		return 0, errExpr("%q is not a valid %s (%d to %d)", s, field, lo, hi)
	}
	return v, nil
}

// parseField reads a list of *, values, ranges (a-b) and steps (x/n).
func parseField(s string, lo, hi int, names map[string]int, field string) (fieldSet, error) {
	if s == "*" {
		return nil, nil
	}
	set := fieldSet{}
	for _, part := range strings.Split(s, ",") {
		base, step := part, 1
		if i := strings.IndexByte(part, '/'); i >= 0 {
			n, err := strconv.Atoi(part[i+1:])
			if err != nil || n < 1 {
				return nil, errExpr("%q: the step of %s must be a positive number", part, field)
			}
			base, step = part[:i], n
		}
		from, to := lo, hi
		switch {
		case base == "*":
		case strings.Contains(base, "-"):
			a, b, _ := strings.Cut(base, "-")
			var err error
			if from, err = parseValue(a, lo, hi, names, field); err != nil {
				return nil, err
			}
			if to, err = parseValue(b, lo, hi, names, field); err != nil {
				return nil, err
			}
			if from > to {
				return nil, errExpr("%q: a %s range must go up", part, field)
			}
		default:
			v, err := parseValue(base, lo, hi, names, field)
			if err != nil {
				return nil, err
			}
			from = v
			if step == 1 {
				to = v
			}
		}
		for v := from; v <= to; v += step {
			set[v] = true
		}
	}
	return set, nil
}

func parseDom(s string) (dayField, error) {
	switch {
	case s == "L":
		return dayField{last: true}, nil
	case s == "LW":
		return dayField{lastWeekday: true}, nil
	case strings.HasSuffix(s, "W"):
		v, err := parseValue(strings.TrimSuffix(s, "W"), 1, 31, nil, "day-of-month")
		if err != nil {
			return dayField{}, err
		}
		return dayField{weekday: v}, nil
	}
	set, err := parseField(s, 1, 31, nil, "day-of-month")
	return dayField{set: set}, err
}

func parseDow(s string) (dayField, error) {
	switch {
	case s == "L":
		return dayField{set: fieldSet{7: true}}, nil // L alone: Saturday, the last day of the week
	case strings.HasSuffix(s, "L"):
		v, err := parseValue(strings.TrimSuffix(s, "L"), 1, 7, weekdays, "day-of-week")
		if err != nil {
			return dayField{}, err
		}
		return dayField{last: true, lastDow: v}, nil
	case strings.Contains(s, "#"):
		a, b, _ := strings.Cut(s, "#")
		d, err := parseValue(a, 1, 7, weekdays, "day-of-week")
		if err != nil {
			return dayField{}, err
		}
		n, err := strconv.Atoi(b)
		if err != nil || n < 1 || n > 5 {
			return dayField{}, errExpr("%q: the week of # must be 1 to 5", s)
		}
		return dayField{nth: n, nthDow: d}, nil
	}
	set, err := parseField(s, 1, 7, weekdays, "day-of-week")
	return dayField{set: set}, err
}

func (f fieldSet) has(v int) bool { return f == nil || f[v] }

func lastDay(y int, m time.Month) int {
	return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// dayMatches reports whether day t (in its location) is one the day
// fields allow.
func (c *cronExpr) dayMatches(t time.Time) bool {
	y, m, d := t.Date()
	dow := int(t.Weekday()) + 1 // 1 = Sunday
	if !c.domAny {
		f := c.dom
		switch {
		case f.last:
			return d == lastDay(y, m)
		case f.lastWeekday:
			ld := lastDay(y, m)
			wd := time.Date(y, m, ld, 0, 0, 0, 0, t.Location()).Weekday()
			target := ld
			if wd == time.Saturday {
				target = ld - 1
			} else if wd == time.Sunday {
				target = ld - 2
			}
			return d == target
		case f.weekday > 0:
			ld := lastDay(y, m)
			want := min(f.weekday, ld)
			wd := time.Date(y, m, want, 0, 0, 0, 0, t.Location()).Weekday()
			switch wd {
			case time.Saturday:
				if want == 1 {
					want += 2 // the Monday after, within the month
				} else {
					want--
				}
			case time.Sunday:
				if want == ld {
					want -= 2
				} else {
					want++
				}
			}
			return d == want
		}
		return f.set.has(d)
	}
	f := c.dow
	switch {
	case f.last && f.lastDow > 0:
		return dow == f.lastDow && d+7 > lastDay(y, m)
	case f.nth > 0:
		return dow == f.nthDow && (d-1)/7+1 == f.nth
	}
	return f.set.has(dow)
}

// Next is the first tick of e strictly after t, in loc (UTC when nil);
// for rate(), ticks are start + k·period. ok is false when there is none
// (a cron whose years have all passed).
func (e *Expr) Next(t, start time.Time, loc *time.Location) (time.Time, bool) {
	if e.at != nil {
		if loc == nil {
			loc = time.UTC
		}
		a := *e.at
		tick := time.Date(a.Year(), a.Month(), a.Day(), a.Hour(), a.Minute(), a.Second(), 0, loc)
		return tick, tick.After(t)
	}
	if e.rate > 0 {
		if t.Before(start) {
			return start, true
		}
		k := t.Sub(start)/e.rate + 1
		return start.Add(k * e.rate), true
	}
	if loc == nil {
		loc = time.UTC
	}
	c := e.cron
	cur := t.In(loc).Truncate(time.Minute).Add(time.Minute)
	// When clocks go back, an hour repeats: a tick fires in it once, as
	// EventBridge Scheduler documents; its wall-clock time is t's.
	tw := t.In(loc)
	same := func(u time.Time) bool {
		return u.Year() == tw.Year() && u.YearDay() == tw.YearDay() && u.Hour() == tw.Hour() && u.Minute() == tw.Minute()
	}
	// Walk minute by minute with jumps: at most a few years of days.
	for i := 0; i < 366*5*24*60 && cur.Year() <= 2199; i++ {
		if !c.years.has(cur.Year()) {
			cur = time.Date(cur.Year()+1, 1, 1, 0, 0, 0, 0, loc)
			continue
		}
		if !c.months.has(int(cur.Month())) {
			cur = time.Date(cur.Year(), cur.Month()+1, 1, 0, 0, 0, 0, loc)
			continue
		}
		if !c.dayMatches(cur) {
			cur = time.Date(cur.Year(), cur.Month(), cur.Day()+1, 0, 0, 0, 0, loc)
			continue
		}
		if !c.hours.has(cur.Hour()) {
			cur = time.Date(cur.Year(), cur.Month(), cur.Day(), cur.Hour()+1, 0, 0, 0, loc)
			continue
		}
		if !c.minutes.has(cur.Minute()) || same(cur) {
			cur = cur.Add(time.Minute)
			continue
		}
		return cur, true
	}
	return time.Time{}, false
}

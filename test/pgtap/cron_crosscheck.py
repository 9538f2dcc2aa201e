#!/usr/bin/env python3
"""Writes cron_crosscheck.sql: cron_next checked against a brute-force reference.

For random cron expressions near real daylight-saving transitions (2010-2025,
which the time zone database will not rewrite) in zones with odd rules
(half-hour DST, 45-minute offsets, a skipped day, Ramadan DST), the reference
walks UTC minutes one by one, converts each to local time with Python's
zoneinfo (the same system tz database PostgreSQL uses here), and fires at an
instant when local time reaches a value it never had before and a matching
local minute lies in (the previous highest local time, this local time].
That is the contract: a skipped local time fires when the gap ends, once; a
repeated local time fires at its first occurrence only.

    python3 test/pgtap/cron_crosscheck.py > test/pgtap/cron_crosscheck.sql
"""
import random
import sys
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

CASES = 120
WINDOW = timedelta(days=3)
ZONES = ["Australia/Sydney", "Australia/Lord_Howe", "America/New_York",
         "Europe/London", "Asia/Kolkata", "Pacific/Chatham", "Africa/Casablanca",
         "America/St_Johns", "Pacific/Apia", "America/Santiago", "Asia/Tehran",
         "Europe/Moscow", "UTC"]
MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct",
          "nov", "dec"]
WEEKDAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
# (lowest, highest covered by '*', highest one may write)
FIELDS = [(0, 59, 59), (0, 23, 23), (1, 31, 31), (1, 12, 12), (0, 6, 7)]


def value_text(rng, f, v):
    if f == 3 and rng.random() < 0.3:
        return rng.choice([MONTHS[v - 1], MONTHS[v - 1].upper()])
    if f == 4 and v <= 6 and rng.random() < 0.3:
        return WEEKDAYS[v].capitalize()
    return str(v)


def item(rng, f):
    lo, hi, top = FIELDS[f]
    r = rng.random()
    if r < 0.25:
        if rng.random() < 0.5:
            return "*", set(range(lo, hi + 1))
        s = rng.randint(1, hi - lo + 1)
        return "*/%d" % s, set(range(lo, hi + 1, s))
    a = rng.randint(lo, top)
    if r < 0.55:
        return value_text(rng, f, a), {a}
    s = rng.randint(1, hi - lo + 1)
    if r < 0.7:
        return "%s/%d" % (value_text(rng, f, a), s), set(range(a, max(a, hi) + 1, s))
    b = rng.randint(a, top)
    if r < 0.85:
        return "%s-%s" % (value_text(rng, f, a), value_text(rng, f, b)), set(range(a, b + 1))
    return ("%s-%s/%d" % (value_text(rng, f, a), value_text(rng, f, b), s),
            set(range(a, b + 1, s)))


def field(rng, f):
    parts, values = [], set()
    for _ in range(1 if rng.random() < 0.6 else rng.randint(2, 4)):
        text, vals = item(rng, f)
        parts.append(text)
        values |= vals
    if f == 4 and 7 in values:
        values = (values - {7}) | {0}
    return ",".join(parts), values


def biased_field(rng, f):
    """Few fires per day, often in the small hours when clocks change."""
    if f == 0:
        return rng.choice([("0", {0}), ("30", {30}), ("15,45", {15, 45}),
                           ("*/30", {0, 30}), ("10-12", {10, 11, 12}), ("59", {59})])
    if f == 1 and rng.random() < 0.7:
        h = rng.choice([0, 1, 2, 3, 23])
        if rng.random() < 0.5:
            return "%d" % h, {h}
        return "%d-%d" % (h, min(h + 2, 23)), set(range(h, min(h + 2, 23) + 1))
    if f in (2, 3, 4) and rng.random() < 0.6:
        return "*", set(range(FIELDS[f][0], FIELDS[f][1] + 1))
    return field(rng, f)


def transitions(zone):
    z = ZoneInfo(zone)
    out = []
    t = datetime(2010, 1, 1, tzinfo=timezone.utc)
    prev = t.astimezone(z).utcoffset()
    while t.year < 2026:
        t += timedelta(hours=1)
        off = t.astimezone(z).utcoffset()
        if off != prev:
            out.append(t)
        prev = off
    return out


def matches(local, sets, dom_restricted, dow_restricted):
    minutes, hours, doms, months, dows = sets
    if local.minute not in minutes or local.hour not in hours or local.month not in months:
        return False
    dom = local.day in doms
    dow = local.isoweekday() % 7 in dows
    return (dom or dow) if dom_restricted and dow_restricted else (dom and dow)


def reference_fires(sets, dom_r, dow_r, zone, after, stop):
    z = ZoneInfo(zone)
    t = (after - timedelta(days=2)).replace(second=0, microsecond=0)
    highest = None
    fires = []
    while t < stop:
        local = t.astimezone(z).replace(tzinfo=None)
        if highest is None or local > highest:
            fire = False
            if highest is not None:
                m = highest + timedelta(minutes=1)
                while m <= local and not fire:
                    fire = matches(m, sets, dom_r, dow_r)
                    m += timedelta(minutes=1)
            highest = local
            if fire and t > after:
                fires.append(t)
        t += timedelta(minutes=1)
    return fires


def quote(s):
    return "'" + s.replace("'", "''") + "'"


def main():
    rng = random.Random(20261128)
    table = {zone: transitions(zone) for zone in ZONES}
    print("-- Generated by test/pgtap/cron_crosscheck.py; do not edit.")
    print("-- cron_next against a brute-force reference near real DST transitions.")
    print("BEGIN;")
    print("SET LOCAL search_path TO public, racing_sched;")
    print("SET LOCAL timezone TO 'UTC';")
    print("SELECT plan(%d);" % CASES)
    print("""
CREATE FUNCTION pg_temp.fires(expr text, from_ts timestamptz, to_ts timestamptz, tz text)
RETURNS timestamptz[] LANGUAGE plpgsql AS $$
DECLARE
	t timestamptz := from_ts;
	r timestamptz[] := '{}';
BEGIN
	LOOP
		t := racing_sched.cron_next(expr, t, tz);
		EXIT WHEN t >= to_ts;
		r := r || t;
	END LOOP;
	RETURN r;
END
$$;
""")
    for i in range(CASES):
        zone = ZONES[i % len(ZONES)]
        while True:
            texts, sets = [], []
            for f in range(5):
                text, vals = biased_field(rng, f)
                texts.append(text)
                sets.append(vals)
            expr = " ".join(texts)
            if table[zone]:
                anchor = rng.choice(table[zone])
            else:
                anchor = datetime(2020, rng.randint(1, 12), rng.randint(1, 28),
                                  tzinfo=timezone.utc)
            after = anchor - timedelta(minutes=rng.randint(0, 2 * 1440),
                                       seconds=rng.choice([0, 0, 17]))
            stop = after + WINDOW
            fires = reference_fires(sets, not texts[2].startswith("*"),
                                    not texts[4].startswith("*"), zone, after, stop)
            # keep a few cases without fires, but mostly cases that fire
            if fires or rng.random() < 0.1:
                break
        expected = "'{%s}'::timestamptz[]" % ",".join(
            '"%s"' % f.strftime("%Y-%m-%d %H:%M:%S+00") for f in fires)
        print("SELECT is(pg_temp.fires(%s, %s, %s, %s),\n\t%s,\n\t%s);" % (
            quote(expr), quote(after.strftime("%Y-%m-%d %H:%M:%S+00")),
            quote(stop.strftime("%Y-%m-%d %H:%M:%S+00")), quote(zone), expected,
            quote("%s in %s from %s" % (expr, zone, after.strftime("%Y-%m-%d %H:%M")))))
    print()
    print("SELECT * FROM finish();")
    print("ROLLBACK;")


if __name__ == "__main__":
    sys.exit(main())

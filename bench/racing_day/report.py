#!/usr/bin/env python3
"""bench/racing_day report: requests made vs the minimum vs the older polling
design (computed from the day's plan), lateness of each phase after its edge;
prints a table, writes RESULTS.md and results.tsv (measure, ours, baseline,
unit, baseline name; tab-separated, no header).  The measuring is done by
bench/racing_day/run; this file only reads its JSON.
usage: report.py WORKDIR SCALE RESULTS.md results.tsv"""
import datetime
import json
import os
import platform
import subprocess
import sys

work, scale, out, tsv = sys.argv[1], float(sys.argv[2]), sys.argv[3], sys.argv[4]
day = json.load(open(os.path.join(work, "day.json")))
stats = json.load(open(os.path.join(work, "stats.json")))
late = json.load(open(os.path.join(work, "lateness.json")))
db = json.load(open(os.path.join(work, "db.json")))

races = [(m, r) for m in day["meetings"] for r in m["races"]]
n_races = len(races)
n_abandoned = sum(1 for _, r in races if r["abandoned"])
jurisdictions = 2
tmpl = stats["by_template"]
made_meetings = tmpl.get("meetings", {}).get("count", 0)
made_race = tmpl.get("race", {}).get("count", 0) + tmpl.get("race_fixed", {}).get("count", 0)
made_total = stats["total"]["requests"]

# The minimum: one list per jurisdiction, two pre-race fetches per race, one
# post-race fetch per race made at or after Paying (or Abandoned).
minimum = jurisdictions + 2 * n_races + n_races

# The older design, on the real clock (compressed times x SCALE): each
# race-driven job polls every 5 minutes; a poll fetches every race of each
# meeting that has a race in its window; post-race polls again every 5
# minutes until the race is Paying (8 minutes after the jump).  Fetching a
# meeting for odds is one race document per race: the meeting's races list
# holds stubs, without runners, odds or dividends.
anchor = min(r["start"] for _, r in races)
POLL = 300.0
PAYING = 480.0


def real(t):
    return (t - anchor) * scale


fetches = {}
for job, off in (("pre_race_t60", -3600), ("pre_race_t15", -900)):
    for m, r in races:
        edge = real(r["start"]) + off
        poll = (edge // POLL + 1) * POLL
        fetches.setdefault((job, poll), set()).add(id(m))
post_polls = 0
for m, r in races:
    first = ((real(r["start"]) + 300) // POLL + 1) * POLL
    done = real(r["start"]) + (0 if r["abandoned"] else PAYING)
    poll = first
    while True:
        fetches.setdefault(("post_race", poll), set()).add(id(m))
        post_polls += 1
        if poll >= done:
            break
        poll += POLL
size = {id(m): len(m["races"]) for m in day["meetings"]}
old_race = sum(size[mid] for polls in fetches.values() for mid in polls)
old_total = jurisdictions + old_race


def pct(xs, p):
    """Nearest-rank percentile."""
    xs = sorted(xs)
    if not xs:
        return float("nan")
    k = min(len(xs) - 1, max(0, int(round(p / 100.0 * (len(xs) - 1)))))
    return xs[k]


phases = ("pre_race_t60", "pre_race_t15", "post_race")
missed_by_job = db.get("missed_by_job") or {}
rows = []
for phase in phases:
    xs = [x["late_ms"] for x in late if x["scrape_type"] == phase]
    fetched = sum(x["fetches"] for x in late if x["scrape_type"] == phase)
    rows.append((phase, len(xs), fetched, pct(xs, 50), pct(xs, 99),
                 missed_by_job.get(phase, 0)))

lines = []
lines.append("| requests | count | per race |")
lines.append("|---|---:|---:|")
lines.append("| made (simulator stats) | %d | %.2f |" % (made_total, made_total / n_races))
lines.append("| &nbsp; meetings lists | %d | |" % made_meetings)
lines.append("| &nbsp; race documents | %d | |" % made_race)
lines.append("| minimum (2 lists + 2 pre-race + 1 post-race at Paying per race) | %d | %.2f |"
             % (minimum, minimum / n_races))
lines.append("| older design (5-minute polls, whole meetings) | %d | %.2f |"
             % (old_total, old_total / n_races))
lines.append("")
lines.append("| phase | races fetched | fetches | missed | lateness p50 (ms) | lateness p99 (ms) |")
lines.append("|---|---:|---:|---:|---:|---:|")
for phase, n, fetched, p50, p99, missed in rows:
    lines.append("| %s | %d | %d | %s | %.0f | %.0f |" % (phase, n, fetched, missed, p50, p99))
table = "\n".join(lines)
print(table)
print("races %d, official %d, abandoned %d, missed phases %s" %
      (db["races"], db["official"], db["abandoned"], db["missed"]))

with open(tsv, "w") as f:
    def row(measure, ours, base, unit, name):
        f.write("%s\t%s\t%s\t%s\t%s\n" % (measure, ours, base, unit, name))
    row("racing day HTTP requests (%d races)" % n_races, made_total, minimum, "requests",
        "minimum: 2 lists + 3 per race")
    row("racing day HTTP requests, vs polling (%d races)" % n_races, made_total, old_total,
        "requests", "older design: 5-minute polls of whole meetings")
    for phase, n, fetched, p50, p99, missed in rows:
        row("%s races fetched" % phase, n, n_races, "races", "races of the day")
        row("%s lateness after edge, p50 (1/%g day)" % (phase, scale), "%.0f" % p50, "-", "ms", "-")
        row("%s lateness after edge, p99 (1/%g day)" % (phase, scale), "%.0f" % p99, "-", "ms", "-")
    row("racing day missed phases", db["missed"], "-", "phases", "-")

cpu = ""
try:
    cpu = [l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")][0]
except (OSError, IndexError):
    pass
pgver = subprocess.run([os.environ.get("PG_CONFIG", "pg_config"), "--version"],
                       capture_output=True, text=True).stdout.strip()
with open(out, "w") as f:
    f.write("# bench/racing_day results\n\n")
    f.write("Run on %s UTC; %s, %d CPUs (%s), %s.\n\n" % (
        datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M"), platform.platform(),
        os.cpu_count(), cpu, pgver))
    f.write("A full simulated day (`tabsim --preset full`, seed 1): %d meetings, %d races "
            "(%d abandoned), compressed %g times: offsets -60 min, -15 min, +5 min, "
            "tolerance 60 s, retries and the simulator's Interim (3 min) and Paying (8 min) "
            "delays all divided by %g.  Jurisdictions NSW and VIC.\n\n"
            % (len(day["meetings"]), n_races, n_abandoned, scale, scale))
    f.write(table + "\n\n")
    f.write("Runs: `%s`; races official %d, abandoned %d, missed phases %s.\n\n"
            % (json.dumps(db["runs"], sort_keys=True), db["official"], db["abandoned"], db["missed"]))
    f.write("Lateness is, for each race, `min(scrapes.scraped_at) - (start_time + race_offset)` "
            "on the compressed clock: the scheduler's wake-up, the worker start, the fetch and "
            "the store, which do not shrink with the compression.  For post_race that is the "
            "first fetch (later ones are retries while the race is Interim or Closed).\n\n")
    f.write("The older design is computed from the day's plan on the real clock: each "
            "race-driven job polls every 5 minutes and, for each meeting with a race in its "
            "window, fetches every race of that meeting; post-race polls again every 5 "
            "minutes until the race is Paying (8 min after the jump).  "
            "Post-race race polls it makes: %d.\n" % post_polls)

#!/usr/bin/env python3
"""bench/racing_day report: requests made vs the minimum vs the older polling
design (computed from the day's plan), lateness per phase; prints a table
and writes RESULTS.md.  usage: report.py WORKDIR SCALE RESULTS.md"""
import datetime
import json
import os
import platform
import subprocess
import sys

work, scale, out = sys.argv[1], float(sys.argv[2]), sys.argv[3]
day = json.load(open(os.path.join(work, "day.json")))
stats = json.load(open(os.path.join(work, "stats.json")))
late = json.load(open(os.path.join(work, "lateness.json")))
db = json.load(open(os.path.join(work, "db.json")))

races = [(m, r) for m in day["meetings"] for r in m["races"]]
n_races = len(races)
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
# minutes until the race is Paying.
anchor = min(r["start"] for _, r in races)
POLL = 300.0
paying = 480.0 if day.get("meetings") else 0
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
    done = real(r["start"]) + (0 if r["abandoned"] else paying)
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
    xs = sorted(xs)
    if not xs:
        return float("nan")
    k = min(len(xs) - 1, max(0, int(round(p / 100.0 * (len(xs) - 1)))))
    return xs[k]

rows = []
for phase in ("pre_race_t60", "pre_race_t15", "post_race"):
    xs = [x["late_ms"] for x in late if x["scrape_type"] == phase]
    if phase == "post_race":
        # the first post-race fetch of each race is the one due at the edge
        xs = []
    rows.append((phase, len([x for x in late if x["scrape_type"] == phase]),
                 pct([x["late_ms"] for x in late if x["scrape_type"] == phase], 50),
                 pct([x["late_ms"] for x in late if x["scrape_type"] == phase], 99)))

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
lines.append("| phase | snapshots | lateness p50 (ms) | lateness p99 (ms) |")
lines.append("|---|---:|---:|---:|")
for phase, n, p50, p99 in rows:
    lines.append("| %s | %d | %.0f | %.0f |" % (phase, n, p50, p99))
table = "\n".join(lines)
print(table)
print("races %d, official %d, abandoned %d, missed phases %s" %
      (db["races"], db["official"], db["abandoned"], db["missed"]))

cpu = ""
try:
    cpu = [l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")][0]
except Exception:
    pass
with open(out, "w") as f:
    f.write("# bench/racing_day results\n\n")
    f.write("Run on %s UTC; %s, %d CPUs (%s), PostgreSQL %s.\n\n" % (
        datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M"), platform.platform(),
        os.cpu_count(), cpu,
        subprocess.run(["pg_config", "--version"], capture_output=True, text=True).stdout.strip()))
    f.write("A full simulated day (`tabsim --preset full`, seed 1): %d meetings, %d races "
            "(%d abandoned), compressed %g times: offsets -60 min, -15 min, +5 min, "
            "tolerance 60 s, retries and the simulator's Interim (3 min) and Paying (8 min) "
            "delays all divided by %g.  Jurisdictions NSW and VIC.\n\n"
            % (len(day["meetings"]), n_races, sum(1 for _, r in races if r["abandoned"]), scale, scale))
    f.write(table + "\n\n")
    f.write("Runs: `%s`; races official %d, abandoned %d, missed phases %s.\n\n"
            % (json.dumps(db["runs"], sort_keys=True), db["official"], db["abandoned"], db["missed"]))
    f.write("Lateness is `scrapes.scraped_at - (start_time + race_offset)` on the compressed "
            "clock: the scheduler's wake-up, the worker start, the fetch and the store, "
            "which do not shrink with the compression.  post_race counts every post-race fetch "
            "(retries at Interim included).\n\n")
    f.write("The older design is computed from the day's plan on the real clock: each "
            "race-driven job polls every 5 minutes and, for each meeting with a race in its "
            "window, fetches every race of that meeting; post-race polls again every 5 "
            "minutes until the race is Paying (8 min after the jump).  "
            "Post-race requests it makes: %d polls of races.\n" % post_polls)

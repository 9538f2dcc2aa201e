#!/usr/bin/env python3
"""The driver of bench/soak: racing days one after another against the TAB
simulator, with faults, while it samples the memory of the scheduler and of
the job workers; then the time series CSV, RESULTS.md and results.tsv.

What lives here: the day loop (a simulator per day, the morning scrape, waiting
for the day to end), the sampler (/proc/PID/status and
pg_log_backend_memory_contexts, whose "Grand total" is read back from the
server log) and the report.  What does not: the cluster and the extension's
settings (bench/soak/run).  Python standard library only.
"""

import csv
import datetime as dt
import json
import os
import re
import statistics
import subprocess
import sys
import time
import urllib.request

env = os.environ
WORK = env["SOAK_WORK"]
LOG = env["SOAK_LOG"]
HERE = env["SOAK_HERE"]
ROOT = env["SOAK_ROOT"]
TPORT = int(env["SOAK_TPORT"])
PSQL = json.loads(env["SOAK_PSQL"])
DAYS = int(env.get("DAYS", "7"))
MEETINGS = int(env.get("MEETINGS", "5"))
TICK = float(env.get("TICK", "1"))
SCALE = env.get("SOAK_SCALE", "")

# Faults at a modest rate: every k-th request matching each rule (the first
# rule that applies wins), on race documents and on meetings lists.
FAULTS = [
    {"path": "meetings\\?jurisdiction=VIC", "fault": "status", "count": 1, "params": {"status": 503}},
    {"path": "/races/\\d+\\?", "fault": "status", "every": 19, "params": {"status": 503}},
    {"path": "/races/\\d+\\?", "fault": "429", "every": 23, "params": {"retry_after": 1}},
    {"path": "/races/\\d+\\?", "fault": "reset", "every": 29},
    {"path": "/races/\\d+\\?", "fault": "delay", "every": 31, "params": {"seconds": 2}},
    {"path": "/races/\\d+\\?", "fault": "truncate", "every": 37},
    {"path": "/races/\\d+\\?", "fault": "invalid_utf8", "every": 41},
    {"path": "/races/\\d+\\?", "fault": "wrong_types", "every": 43},
    {"path": "/races/\\d+\\?", "fault": "close", "every": 47},
    {"path": "/races/\\d+\\?", "fault": "delay", "every": 97, "params": {"seconds": 8}},
    {"path": "meetings\\?", "fault": "delay", "every": 5, "params": {"seconds": 1}},
]


def sql(q):
    r = subprocess.run(PSQL + ["-c", q], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"psql: {r.stderr.strip()}")
    return r.stdout.strip()


def ctl(path, body=None):
    req = urllib.request.Request(f"http://127.0.0.1:{TPORT}/_control/{path}",
                                 data=None if body is None else json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.load(r)


tabsim = None


def start_tabsim(date):
    global tabsim
    anchor = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    log = open(f"{WORK}/tabsim.log", "a")
    tabsim = subprocess.Popen(
        ["python3", f"{ROOT}/test/tabsim/tabsim.py", "--port", str(TPORT), "--date", date.isoformat(),
         "--anchor", anchor, "--seed", str(date.toordinal()), "--meetings", str(MEETINGS),
         "--races-per-meeting", "6", "--first-jump", "30", "--jump-interval", "2,4",
         "--interim-delay", "2", "--paying-delay", "5", "--late-scratch-lead", "5",
         "--faults", json.dumps(FAULTS)],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    for _ in range(100):
        try:
            return ctl("day")
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("the simulator did not start")


def stop_tabsim():
    if tabsim is not None and tabsim.poll() is None:
        tabsim.terminate()
        tabsim.wait(10)


def proc_status(pid):
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("VmRSS", "RssAnon", "VmHWM"):
                    out[k] = int(v.split()[0])
    except OSError:
        return None
    return out if "RssAnon" in out else None


T0 = time.time()
samples = []				# dicts: t, day, process, pid, job, VmRSS, RssAnon, VmHWM
sched_pids = set()


def sample(day, date=None):
    """Sample the processes; with a date, also return (races of that date
    not finished, runs queued or running), read in the same psql call."""
    t = time.time()
    q = ("SELECT 'P', pid, backend_type, pg_log_backend_memory_contexts(pid), coalesce(query, '')"
         "  FROM pg_stat_activity"
         " WHERE backend_type IN ('racing_sched scheduler', 'racing_sched worker')")
    if date is not None:
        q += (" UNION ALL SELECT 'C', (SELECT count(*) FROM racing_sched.races r JOIN racing_sched.meetings m"
              " USING (meeting_id) WHERE m.meeting_date = '%s' AND r.official_at IS NULL AND r.abandoned_at IS NULL),"
              " (SELECT count(*) FROM racing_sched.job_runs WHERE status IN ('queued', 'running'))::text, NULL, ''"
              % date)
    counts = None
    for line in sql(q).splitlines():
        kind, pid, btype, _, query = line.split("|", 4)
        if kind == "C":
            counts = (int(pid), int(btype))
            continue
        st = proc_status(pid)
        if st is None:
            continue
        proc = "scheduler" if btype == "racing_sched scheduler" else "worker"
        if proc == "scheduler":
            sched_pids.add(int(pid))
        m = re.search(r"job run \d+: (\S+)", query)
        samples.append(dict(t=t, day=day, process=proc, pid=int(pid),
                            job=m.group(1) if m else ("" if proc == "scheduler" else "starting"), **st))
    return counts


def wait_ticks(day, date, until, cap):
    """Sample every TICK seconds until until(counts) is true or cap seconds pass."""
    end = time.time() + cap
    while time.time() < end:
        t = time.time()
        if until(sample(day, date)):
            return True
        time.sleep(max(0.0, TICK - (time.time() - t)))
    return False


def day_done(last_start):
    def check(counts):
        left, busy = counts
        # a race may stay without results when every retry met a fault:
        # then the day ends once the last post-race retry window is over
        return busy == 0 and (left == 0 or time.time() > last_start + 45)
    return check


def main():
    first = dt.date.fromisoformat(env.get("FIRST_DATE", "2026-11-30"))
    days = []
    for d in range(1, DAYS + 1):
        date = first + dt.timedelta(days=d - 1)
        plan = start_tabsim(date)
        t_start = time.time()
        run0 = int(sql("SELECT coalesce(max(job_run_id), 0) FROM racing_sched.job_runs"))
        races = [r for m in plan["meetings"] for r in m["races"]]
        last_start = max(r["start"] for r in races)
        if isinstance(last_start, str):
            last_start = dt.datetime.fromisoformat(last_start.replace("Z", "+00:00")).timestamp()
        sql(f"SELECT racing_sched.run_now('morning_scrape', '{{\"date\": \"{date}\"}}')")
        print(f"==> day {d}: {date}, {len(races)} races", file=sys.stderr, flush=True)
        ok = wait_ticks(d, date, day_done(last_start), cap=last_start - time.time() + 240)
        stats = ctl("stats")
        q = sql("SELECT json_build_object("
                " 'races', count(*),"
                " 'official', count(*) FILTER (WHERE official_at IS NOT NULL),"
                " 'abandoned', count(*) FILTER (WHERE abandoned_at IS NOT NULL))"
                " FROM racing_sched.races r JOIN racing_sched.meetings m USING (meeting_id)"
                f" WHERE m.meeting_date = '{date}'")
        runs = sql("SELECT coalesce(json_object_agg(status, n), '{}') FROM (SELECT status, count(*) n"
                   f" FROM racing_sched.job_runs WHERE job_run_id > {run0} GROUP BY 1) q")
        stop_tabsim()
        days.append(dict(day=d, date=str(date), secs=time.time() - t_start, finished=ok,
                         db=json.loads(q), runs=json.loads(runs),
                         requests=stats["total"]["requests"],
                         faults=sum(v["count"] if isinstance(v, dict) else v
                                    for v in stats.get("by_fault", {}).values())))
        print(f"    {days[-1]}", file=sys.stderr, flush=True)
    sample(DAYS)
    time.sleep(1)
    report(days)
    if env.get("LOG_COPY"):
        import shutil
        shutil.copy(LOG, env["LOG_COPY"])


def grand_totals():
    """(time, pid, total, used) of every "Grand total" line of the server log."""
    rx = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+) UTC \[(\d+)\].*Grand total: (\d+) bytes .*; (\d+) used")
    out = []
    with open(LOG, errors="replace") as f:
        for line in f:
            m = rx.match(line)
            if m:
                t = dt.datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=dt.timezone.utc)
                out.append((t.timestamp(), int(m.group(2)), int(m.group(3)), int(m.group(4))))
    return out


def context_dumps(pid):
    """[(time, {context name: [total, used]})] of each memory context dump
    of pid in the server log: contexts of one name are added up."""
    head = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+) UTC \[(\d+)\]")
    ctx = re.compile(r"LOG:  level: \d+; (.*?): (\d+) total in .*; (\d+) used")
    more = re.compile(r"LOG:  level: \d+; (\d+) more child contexts containing (\d+) total .*; (\d+) used")
    dumps = []
    with open(LOG, errors="replace") as f:
        for line in f:
            m = head.match(line)
            if not m or int(m.group(2)) != pid:
                continue
            if "logging memory contexts of PID" in line:
                t = dt.datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=dt.timezone.utc)
                dumps.append((t.timestamp(), {}))
                continue
            if not dumps:
                continue
            m = more.search(line)
            name = "(more child contexts)" if m else None
            if m is None:
                m = ctx.search(line)
                name = m.group(1) if m else None
            if name is None:
                continue
            e = dumps[-1][1].setdefault(name, [0, 0])
            e[0] += int(m.group(2))
            e[1] += int(m.group(3))
    return dumps


def attach_totals():
    by_pid = {}
    for s in samples:
        by_pid.setdefault(s["pid"], []).append(s)
    for t, pid, total, used in grand_totals():
        best = None
        for s in by_pid.get(pid, []):
            if s["t"] <= t + 0.5:
                best = s
        if best is not None and "ctx_total" not in best:
            best["ctx_total"], best["ctx_used"] = total, used


def slope_per_day(points):
    """Least-squares slope of (x in days, y)."""
    if len(points) < 2:
        return 0.0
    mx = statistics.fmean(p[0] for p in points)
    my = statistics.fmean(p[1] for p in points)
    sxx = sum((p[0] - mx) ** 2 for p in points)
    return sum((p[0] - mx) * (p[1] - my) for p in points) / sxx if sxx else 0.0


def report(days):
    attach_totals()
    # x: the position in the week, in days (day 1 starts at 0)
    starts = {}
    for s in samples:
        starts.setdefault(s["day"], s["t"])
    ends = {d: max(s["t"] for s in samples if s["day"] == d) for d in starts}
    for s in samples:
        d = s["day"]
        span = max(ends[d] - starts[d], 1e-9)
        s["x"] = d - 1 + min(1.0, (s["t"] - starts[d]) / span)

    with open(f"{HERE}/series.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["t_s", "day", "week_day_x", "process", "pid", "job", "vmrss_kb", "rssanon_kb",
                    "vmhwm_kb", "ctx_total_bytes", "ctx_used_bytes"])
        for s in samples:
            w.writerow([f"{s['t'] - T0:.1f}", s["day"], f"{s['x']:.3f}", s["process"], s["pid"], s["job"],
                        s["VmRSS"], s["RssAnon"], s["VmHWM"], s.get("ctx_total", ""), s.get("ctx_used", "")])

    sch = [s for s in samples if s["process"] == "scheduler"]
    wrk = [s for s in samples if s["process"] == "worker" and s["job"] not in ("starting", "")]

    def series(rows, key, conv=1.0):
        return [(s["x"], s[key] / conv) for s in rows if key in s]

    def end_of_day(rows, key, d, conv=1.0):
        v = [s[key] / conv for s in rows if s["day"] == d and key in s]
        return v[-1] if v else float("nan")

    def day_stat(rows, key, d, f, conv=1.0):
        v = [s[key] / conv for s in rows if s["day"] == d and key in s]
        return f(v) if v else float("nan")

    figs = [("RssAnon", "RssAnon", 1.0, "KiB"), ("VmRSS", "VmRSS", 1.0, "KiB"),
            ("memory contexts total", "ctx_total", 1024.0, "KiB"),
            ("memory contexts used", "ctx_used", 1024.0, "KiB")]
    md_s, tsv = [], []
    for name, key, conv, unit in figs:
        pts = series(sch, key, conv)
        if not pts:
            continue
        ys = [p[1] for p in pts]
        first_day = end_of_day(sch, key, 1, conv)
        last_day = end_of_day(sch, key, DAYS, conv)
        md_s.append(f"| {name} | {ys[0]:,.0f} | {ys[-1]:,.0f} | {max(ys):,.0f} | {first_day:,.0f} | "
                    f"{last_day:,.0f} | {slope_per_day(pts):+,.1f} | "
                    f"{slope_per_day([p for p in pts if p[0] >= 1]):+,.1f} | {len(ys)} |")
        tsv.append(f"soak: scheduler {name}, end of day {DAYS}\t{last_day:.0f}\t{first_day:.0f}\t{unit}\tend of day 1")

    # Workers: by kind of job, per day the median and the max of the samples.
    kinds = sorted({s["job"] for s in wrk})
    md_w = []
    for job in kinds:
        rows = [s for s in wrk if s["job"] == job]
        for name, key, conv, unit in figs[:3]:
            med = [day_stat(rows, key, d, statistics.median, conv) for d in range(1, DAYS + 1)]
            mx = [day_stat(rows, key, d, max, conv) for d in range(1, DAYS + 1)]
            pts = [(d - 0.5, v) for d, v in zip(range(1, DAYS + 1), med) if v == v]
            md_w.append(f"| {job} | {name} | " + " | ".join(f"{v:,.0f}" if v == v else "-" for v in med) +
                        f" | {max((v for v in mx if v == v), default=float('nan')):,.0f} | {slope_per_day(pts):+,.1f} |"
                        f" {sum(1 for s in rows if key in s)} |")
        if job in ("pre_race_t60", "post_race"):
            for name, key, conv, unit in (figs[0], figs[2]):
                a = day_stat(rows, key, DAYS, statistics.median, conv)
                b = day_stat(rows, key, 1, statistics.median, conv)
                tsv.append(f"soak: {job} worker {name}, median of day {DAYS}\t{a:.0f}\t{b:.0f}\t{unit}\tmedian of day 1")

    md_d = []
    for d in days:
        r = d["runs"]
        md_d.append(f"| {d['day']} | {d['date']} | {d['secs']:.0f} | {d['db']['races']} | {d['db']['official']} | "
                    f"{d['db']['abandoned']} | {r.get('success', 0)} | {r.get('partial', 0)} | {r.get('failed', 0)} | "
                    f"{d['requests']} | {d['faults']} | {'yes' if d['finished'] else 'no (cap)'} |")

    # The scheduler's contexts that changed most from the end of day 1 to the end.
    md_c = []
    if len(sched_pids) == 1:
        dumps = context_dumps(next(iter(sched_pids)))
        end1 = max(s["t"] for s in samples if s["day"] == 1)
        early = [d for d in dumps if d[0] <= end1 + 0.5]
        if early and dumps:
            a, b = early[-1][1], dumps[-1][1]
            names = sorted(set(a) | set(b), key=lambda n: -abs(b.get(n, [0, 0])[1] - a.get(n, [0, 0])[1]))
            for n in names[:8]:
                x, y = a.get(n, [0, 0]), b.get(n, [0, 0])
                md_c.append(f"| {n[:60]} | {x[0] / 1024:,.1f} | {y[0] / 1024:,.1f} | {x[1] / 1024:,.1f} | "
                            f"{y[1] / 1024:,.1f} | {(y[1] - x[1]) / 1024:+,.1f} |")

    total_s = time.time() - T0
    with open(f"{HERE}/results.tsv", "w") as f:
        f.write("\n".join(tsv) + "\n")
    uname = os.uname()
    with open(f"{HERE}/RESULTS.md", "w") as f:
        f.write(f"""# bench/soak

{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} cores, {uname.sysname} {uname.release},
{env.get('SOAK_PGVERSION', '')}; {DAYS} simulated racing days of {MEETINGS} meetings x 6 races
in {total_s / 60:.1f} min{SCALE}. The machine is shared (2 cores, other users
busy): timings are noisy; memory figures much less so.

Each day is a fresh simulator for the next date; the morning scrape runs at
its start, then the scheduler alone takes every race through its T-60 and
T-15 snapshots and its results, on offsets scaled to seconds. Faults on
about one request in five: 503, 429 with Retry-After, connection resets and
closes, delays (some past the 5 s request timeout), truncated JSON, invalid
UTF-8, wrong types; one failed VIC meetings list a day.

Samples every {TICK:g} s: `/proc/PID/status` and
`pg_log_backend_memory_contexts(PID)` (its `Grand total` read back from the
server log) for the scheduler and for every job worker alive at the tick.
Scheduler pids seen: {len(sched_pids)} (1 = it never restarted).
Series: `series.csv` (one row per process per tick). The slope is the
least-squares slope of the samples against the position in the week;
the first day carries the warm-up (catalog caches, cached plans of the
extension's functions, the first run of each code path).

## Days

| day | date | s | races | official | abandoned | runs ok | partial | failed | requests | faults | ended |
|---|---|---|---|---|---|---|---|---|---|---|---|
""" + "\n".join(md_d) + f"""

## Scheduler (KiB)

| figure | first | last | max | end of day 1 | end of day {DAYS} | slope per day | slope, days 2 to {DAYS} | samples |
|---|---|---|---|---|---|---|---|---|
""" + "\n".join(md_s) + f"""

The scheduler's memory contexts that changed most between its last dump
of day 1 and its last dump (KiB; contexts of one name added up):

| context | total, day 1 | total, end | used, day 1 | used, end | used, change |
|---|---|---|---|---|---|
""" + "\n".join(md_c) + f"""

## Job workers (KiB): median of the samples of each day, max of all

| job | figure | """ + " | ".join(f"day {d}" for d in range(1, DAYS + 1)) + """ | max | slope per day | samples |
|---|---|""" + "---|" * DAYS + """---|---|---|
""" + "\n".join(md_w) + f"""

Workers live for one run, so a worker's figures show what one run costs,
and their trend over the days whether anything carried from day to day
(through the tables or shared state) makes runs bigger. A worker sampled
while it starts (before it names its run) is left out.

Reproduce: `bench/soak/run` (DAYS=7, MEETINGS=5, TICK=1 by default;
`DAYS=28 bench/soak/run` for four weeks, about 2 min a day;
`LOG_COPY=FILE` keeps a copy of the server log with every context dump).
""")
    print(open(f"{HERE}/RESULTS.md").read())


if __name__ == "__main__":
    try:
        main()
    finally:
        stop_tabsim()

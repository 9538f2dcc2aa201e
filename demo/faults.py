#!/usr/bin/env python3
"""API faults for `make demo FAULTS=1`, installed in the TAB simulator.

What lives here: the demo's choice of faults and when each is installed.
    faults.py PORT now     install the faults of the morning and the pre-race
                           fetches, print every fault planned
    faults.py PORT later   wait for the jumps of the races whose faults hit their
                           post-race fetches, and install those then (a rule
                           counts every request to its race path, so it is
                           added once the pre-race snapshots are taken)
What does not: the simulator and its fault kinds (test/tabsim).  Each fault
is sized so that the day still completes: job retries (a minute becomes a
second) recover what the in-request retries (3 attempts) do not.
Standard library only.
"""

import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "tabsim"))
from ctl import Ctl  # noqa: E402


def plan(day):
    """[(race or None, rule, description, at_jump)] in the order they hit."""
    base = day["basePath"]
    races = sorted((r for m in day["meetings"] if not m["fixedOddsOnly"]
                    for r in m["races"] if not r["abandoned"]), key=lambda r: r["start"])

    def rx(r):
        return re.escape(base + r["path"]) + r"\?"

    def pick(i):
        return races[min(i, len(races) - 1)]

    a, b, c, d, e, f = pick(2), pick(5), pick(8), pick(11), pick(14), pick(17)
    return [
        (None, {"path": r"/meetings\?jurisdiction=VIC", "fault": "status", "count": 3,
                "params": {"status": 503}},
         "VIC meetings list: 503 three times (every attempt): morning_scrape partial, "
         "retried for VIC alone", False),
        (None, {"path": r"/meetings\?jurisdiction=NSW", "fault": "429", "count": 1,
                "params": {"retry_after": 2}},
         "NSW meetings list: 429 with Retry-After 2 once: retried inside the request", False),
        (a, {"path": rx(a), "fault": "status", "count": 3, "params": {"status": 503}},
         "%s: 503 three times at T-60: pre_race_t60 retry" % a["id"], False),
        (b, {"path": rx(b), "fault": "429", "count": 3, "params": {"retry_after": 1}},
         "%s: 429 with Retry-After 1, three times at T-60: pre_race_t60 retry" % b["id"], False),
        (c, {"path": rx(c), "fault": "reset", "count": 2},
         "%s: connection reset twice at T-60: retried inside the request" % c["id"], False),
        (d, {"path": rx(d), "fault": "delay", "count": 1, "params": {"seconds": 4}},
         "%s: a response 4 s slow at T-60: a late snapshot" % d["id"], False),
        (e, {"path": rx(e), "fault": "status_alias", "count": 2,
             "params": {"map": {"Paying": "Interim"}}},
         "%s: Interim lingers after the race is paying (two post-race fetches): "
         "post_race retries" % e["id"], True),
        (f, {"path": rx(f), "fault": "status", "count": 3, "params": {"status": 502}},
         "%s: 502 three times at its first post-race fetch: post_race retry" % f["id"], True),
    ]


def main():
    if len(sys.argv) != 3 or sys.argv[2] not in ("now", "later"):
        sys.exit("usage: faults.py PORT now|later")
    ctl = Ctl(sys.argv[1])
    rules = plan(ctl.day())
    if sys.argv[2] == "now":
        for race, rule, text, at_jump in rules:
            if not at_jump:
                ctl.call("POST", "faults", rule)
            print("  %s" % text)
        return
    for race, rule, text, at_jump in sorted((x for x in rules if x[3]), key=lambda x: x[0]["start"]):
        time.sleep(max(0.0, race["start"] - time.time()))
        ctl.call("POST", "faults", rule)


if __name__ == "__main__":
    main()

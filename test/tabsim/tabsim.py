#!/usr/bin/env python3
"""TAB racing API simulator: a generated racing day served over HTTP(S) on loopback.

What lives here: the day generator (meetings, races, runners, odds, results, dividends
planned from --seed), the time-dependent rendering of TAB's JSON documents, the HTTP
server with its /_control/ API, the table of injectable faults, request statistics and
the optional TLS listener with a test CA made by the openssl tool.
What does not: the helper CLI for tests (ctl.py) and the simulator's own tests.
Python 3 standard library only.  See README.md in this directory.
"""

import argparse
import copy
import datetime as dt
import fnmatch
import gzip
import itertools
import json
import math
import os
import random
import re
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import zlib
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

JURISDICTIONS = ("NSW", "VIC", "QLD", "ACT", "SA", "TAS", "NT")

# Venues: "NAME/MNEMONIC/TYPES" per location.  Values are invented.
AU_VENUES = {
    "NSW": "RANDWICK/RAN/R;ROSEHILL/RHL/R;WARWICK FARM/WFM/R;NEWCASTLE/NEW/RHG;GOSFORD/GOS/RG;"
           "MENANGLE/MEN/H;WENTWORTH PARK/WPK/G;RICHMOND/RIC/HG;DUBBO/DUB/RHG;BATHURST/BAT/HG",
    "VIC": "FLEMINGTON/FLE/R;CAULFIELD/CAU/R;MOONEE VALLEY/MVL/R;MELTON/MEL/H;SANDOWN PARK/SAN/RG;"
           "BALLARAT/BAL/RHG;BENDIGO/BEN/RHG;GEELONG/GEE/RG;CRANBOURNE/CRA/RHG;WARRAGUL/WGL/G",
    "QLD": "EAGLE FARM/EFM/R;DOOMBEN/DOO/R;ALBION PARK/APK/H;IPSWICH/IPS/RG;GOLD COAST/GCS/RG;"
           "TOWNSVILLE/TVL/RG;REDCLIFFE/RED/H",
    "SA": "MORPHETTVILLE/MOR/R;GLOBE DERBY/GDP/H;ANGLE PARK/ANP/G;GAWLER/GAW/RG;"
          "MURRAY BRIDGE/MBR/RG;MOUNT GAMBIER/MTG/RG",
    "WA": "ASCOT/ASC/R;BELMONT/BEL/R;GLORIA PARK/GLP/H;CANNINGTON/CNG/G;NORTHAM/NTM/RH;MANDURAH/MAN/G",
    "TAS": "ELWICK/ELW/RH;LAUNCESTON/LAU/RHG;DEVONPORT/DEV/RHG;HOBART/HOB/G",
    "NT": "FANNIE BAY/FNB/R;DARWIN/DAR/G;ALICE SPRINGS/ALS/R",
    "ACT": "CANBERRA/CNB/RG",
}
OVERSEAS_VENUES = {
    "NZL": "ELLERSLIE/ELL/R;TRENTHAM/TRE/R;ADDINGTON/ADD/H;ALEXANDRA PARK/ALX/H;MANAWATU/MWU/G;"
           "CAMBRIDGE/CMB/HG",
    "GBR": "KEMPTON/KEM/R;ROMFORD/ROM/G;SUNDERLAND/SUN/G;LINGFIELD/LIN/R;TOWCESTER/TOW/G;DONCASTER/DON/R",
    "USA": "MEADOWLANDS/MEA/H;NORTHFIELD PARK/NFP/H;GULFSTREAM PARK/GPK/R;SANTA ANITA/SAA/R;"
           "YONKERS/YON/H;WHEELING/WHE/G",
    "JPN": "TOKYO CITY KEIBA/TCY/R;KAWASAKI/KAW/R;FUNABASHI/FUN/R",
    "FRA": "VINCENNES/VIN/H;CHANTILLY/CHA/R;DEAUVILLE/DEA/R",
    "IRL": "LEOPARDSTOWN/LEO/R;SHELBOURNE PARK/SHP/G;THURLES/TRS/R",
    "CAN": "MOHAWK/MHK/H;WOODBINE/WDB/R",
    "HKG": "SHA TIN/STN/R;HAPPY VALLEY/HPV/R",
}
RACE_NAMES = {
    "R": [("MAIDEN PLATE", "MDN"), ("BENCHMARK 64 HANDICAP", "BM64"), ("BENCHMARK 78 HANDICAP", "BM78"),
          ("CLASS 1 HANDICAP", "CL1"), ("RESTRICTED 2YO HANDICAP", "RST"), ("GROUP 3 STAKES", "GRP3"),
          ("MAIDEN HURDLE", "HDL-MD")],
    "H": [("PACE", "NR 45-55"), ("TROT MOBILE", "TR"), ("MAIDEN PACE", "MDN"), ("FREE FOR ALL PACE", "FFA")],
    "G": [("MAIDEN", "MDN"), ("GRADE 5", "GR5"), ("GRADE 6 HEAT", "GR6"), ("FREE FOR ALL", "FFA"),
          ("MIXED 4/5", "MX4/5")],
}
SPONSORS = ["SKY RACING", "TAB", "LADBROKES PARK", "BET RESPONSIBLY", "SPORTSBET", "CARLTON DRAUGHT"]
WORDS_A = ("SILVER GOLDEN SHADOW RAPID LUCKY ROYAL MIDNIGHT CRIMSON SWIFT BOLD QUIET WILD "
           "NORTHERN SOUTHERN MISTY SUNNY STORMY BRAVE GRAND LITTLE").split()
WORDS_B = ("ARROW STAR RUN DANCER KING QUEEN STORM RIVER FLAME SPIRIT LEGEND EMPIRE ECHO "
           "VOYAGER HARBOUR THUNDER MELODY COMET KNIGHT PRINCESS").split()
SURNAMES = ("SMITH JONES WALLER MOREIRA BOWMAN McEVOY PAYNE RYAN LANE KAH WATERHOUSE "
            "CUMMINGS HAYES McDONALD MALONEY FREEDMAN KENT ZAHRA SHINN GRIFFITHS").split()
CHANNELS = ["Sky Racing 1", "Sky Racing 2", "Sky Racing World", "Sky Racing Thoroughbred Central"]
WEATHER = ["FINE", "OCAST", "SHWRY", "RAIN", None]
TRACK = {"R": ["GOOD4", "GOOD3", "SOFT5", "SOFT6", "HVY8"], "H": ["GOOD", "FAST", "SLOW"],
         "G": ["GOOD", "FAST", "SLOW"]}


# ---------------------------------------------------------------------------
# time helpers

def iso(t):
    """A UTC timestamp the way TAB writes it: 2026-11-28T04:25:00.000Z."""
    d = dt.datetime.fromtimestamp(t, dt.timezone.utc)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (d.microsecond // 1000)


def parse_iso(s):
    d = dt.datetime.fromisoformat(s.replace("Z", "+00:00"))
    if d.tzinfo is None:
        d = d.replace(tzinfo=dt.timezone.utc)
    return d.timestamp()


def sydney_today():
    try:
        import zoneinfo
        tz = zoneinfo.ZoneInfo("Australia/Sydney")
    except Exception:  # no tz database: AEST without daylight saving
        tz = dt.timezone(dt.timedelta(hours=10))
    return dt.datetime.now(tz).date().isoformat()


def int_range(s):
    """"8" -> (8, 8); "8,14" or "8-14" -> (8, 14)."""
    parts = re.split(r"[,-]", str(s))
    lo, hi = float(parts[0]), float(parts[-1])
    return (lo, hi) if lo <= hi else (hi, lo)


def count_of(spec, total):
    """An absolute count ("3") or a fraction of total ("0.05")."""
    v = float(spec)
    n = int(round(v * total)) if "." in str(spec) else int(v)
    return max(0, min(total, n))


def price_round(p):
    """Decimal prices under 10 keep cents; longer prices are whole numbers, as TAB shows."""
    p = max(1.01, min(501.0, p))
    return int(round(p)) if p >= 10 else round(p, 2)


# ---------------------------------------------------------------------------
# the day

class Race:
    """One race of the generated day: everything fixed at start except the start time
    (which /_control/move may change) and the request counter that moves the odds."""

    def __init__(self, meeting, number, start):
        self.meeting = meeting
        self.number = number
        self.start = start
        self.match_name = None
        self.meeting_date = meeting.date
        self.requests = 0

    @property
    def rid(self):
        m = self.meeting
        return "%s/%s/%s" % (m.type, m.key_name, self.match_name or self.number)

    def path(self):
        """Path and query below the base path for this race's document (no jurisdiction)."""
        m = self.meeting
        q = urllib.parse.quote
        if m.foo:
            return "/dates/%s/meetings/%s/%s/races/%s?fixedOdds=true" % (
                m.day.date, m.type, q(m.name, safe=""), q(self.match_name, safe=""))
        return "/dates/%s/meetings/%s/%s/races/%d" % (m.day.date, m.type, m.venue, self.number)

    def status(self, now):
        cfg = self.meeting.day.cfg
        if now < self.start:
            return "Normal"
        if self.abandoned:
            return "Abandoned"
        d = now - self.start
        if d < cfg.interim_delay:
            return "Closed"
        if d < cfg.paying_delay:
            return "Interim"
        return "Paying"

    def late_scratched(self, now):
        return [r for r in self.runners if r["late_at"] is not None and now >= r["late_at"]]


class Meeting:
    def __init__(self, day, loc, name, venue, mtype, foo):
        self.day = day
        self.location = loc
        self.type = mtype
        self.foo = foo
        self.venue = None if foo else venue
        self.name = ("%s (%s)" % (name.title(), loc)) if foo else name
        self.display_name = name.title() if foo else name
        self.date = day.date
        self.races = []

    @property
    def key_name(self):
        return self.name if self.foo else self.venue


class Day:
    def __init__(self, cfg):
        self.cfg = cfg
        self.date = cfg.date
        rng = random.Random(cfg.seed)
        self.meetings = self._meetings(rng)
        self._schedule(rng)
        for m in self.meetings:
            for r in m.races:
                self._race_details(rng, r)
        self._specials(rng)
        self.hidden = {}
        for j in JURISDICTIONS:
            n = min(cfg.hide, max(0, len(self.meetings) - 1))
            hr = random.Random("%s:hide:%s" % (cfg.seed, j))
            self.hidden[j] = set(id(m) for m in hr.sample(self.meetings, n))
        self.lock = threading.Lock()

    # -- meetings: a mix of AU and overseas, a third of overseas fixed-odds-only
    def _meetings(self, rng):
        cfg = self.cfg
        total = cfg.meetings
        n_over = int(round(total * 0.4)) if total >= 2 else 0
        n_au = total - n_over

        def pool(venues):
            out = []
            for loc, s in sorted(venues.items()):
                for v in s.split(";"):
                    name, mn, types = v.split("/")
                    out.append([(loc, name, mn, t) for t in types])
            rng.shuffle(out)
            return out

        def pick(groups, n, sibling_first):
            flat = []
            if sibling_first:  # two meetings at one venue differing only by raceType
                g = next(g for g in groups if len(g) > 1)
                flat += g[:2]
                groups = [x for x in groups if x is not g] + ([g[2:]] if g[2:] else [])
            for g in groups:
                flat.append(g[0])
            for g in groups:
                flat += g[1:]
            out, k = [], 1
            while len(out) < n:
                for e in flat:
                    if len(out) >= n:
                        break
                    loc, name, mn, t = e
                    out.append((loc, name, mn, t) if k == 1
                               else (loc, "%s %d" % (name, k), "%s%d" % (mn[:2], k), t))
                k += 1
            return out

        au = pick(pool(AU_VENUES), n_au, n_au >= 2)
        over = pick(pool(OVERSEAS_VENUES), n_over, False)
        n_foo = max(1, int(round(n_over / 3.0))) if n_over else 0
        cand = [i for i, e in enumerate(over) if e[3] in "RG"] or list(range(n_over))
        foo_idx = set(rng.sample(cand, min(n_foo, len(cand))))
        meetings = [Meeting(self, *e, foo=False) for e in au]
        meetings += [Meeting(self, *e, foo=(i in foo_idx)) for i, e in enumerate(over)]
        rng.shuffle(meetings)
        for m in meetings:
            m.weather = rng.choice(WEATHER[:-1]) if m.location in AU_VENUES else rng.choice(WEATHER)
            m.track = rng.choice(TRACK[m.type]) if rng.random() > 0.1 else None
            m.rail = ("+%dm" % rng.randint(0, 8)) if m.type == "R" and rng.random() < 0.5 else None
            m.meeting_code = rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
        return meetings

    # -- race start times: one jump per slot, meetings interleaved within a window
    def _schedule(self, rng):
        cfg = self.cfg
        lo, hi = int_range(cfg.races_per_meeting)
        counts = [rng.randint(int(lo), int(hi)) for _ in self.meetings]
        ilo, ihi = int_range(cfg.jump_interval)
        t = cfg.anchor + cfg.first_jump
        remaining = list(zip(self.meetings, counts))
        window = max(1, int(math.ceil(len(self.meetings) / 3.0)))
        plan = {id(m): [] for m in self.meetings}
        while remaining:
            i = rng.randrange(min(window, len(remaining)))
            m, c = remaining[i]
            plan[id(m)].append(round(t))
            if c == 1:
                remaining.pop(i)
            else:
                remaining[i] = (m, c - 1)
            t += rng.uniform(ilo, ihi)
        for m in self.meetings:
            starts = plan[id(m)]
            n = len(starts)
            if not m.foo:
                m.races = [Race(m, i + 1, s) for i, s in enumerate(starts)]
                continue
            # fixed-odds-only: the late races of the previous local day, then this day's,
            # so race numbers repeat within the meeting
            h = n // 2
            numbers = list(range(n - 2 * h + 1, n - h + 1)) + list(range(1, n - h + 1))
            prev = (dt.date.fromisoformat(self.date) - dt.timedelta(days=1)).isoformat()
            for i, (num, s) in enumerate(zip(numbers, starts)):
                r = Race(m, num, s)
                r.meeting_date = prev if i < h else self.date
                d = dt.date.fromisoformat(r.meeting_date)
                r.match_name = "%s R%02d %02d/%02d PLC 1-%d" % (
                    m.display_name.upper(), num, d.day, d.month, rng.choice((2, 3)))
                m.races.append(r)

    def _race_details(self, rng, r):
        cfg = self.cfg
        m = r.meeting
        base, r.cls = rng.choice(RACE_NAMES[m.type])
        r.name = ("%s %s" % (rng.choice(SPONSORS), base)) if rng.random() < 0.4 else base
        r.distance = {"R": lambda: rng.choice(range(1000, 3201, 100)),
                      "H": lambda: rng.choice((1609, 1720, 2040, 2138, 2240, 2650)),
                      "G": lambda: rng.choice((300, 342, 395, 457, 515, 520, 595, 720))}[m.type]()
        lo, hi = int_range(cfg.runners)
        n = rng.randint(int(lo), int(hi))
        if m.type == "G":
            n = min(n, 8)
        r.channel = rng.choice(CHANNELS) if rng.random() > 0.1 else None
        r.has_tote = not m.foo
        r.has_fixed = m.foo or not (m.type == "G" and rng.random() < 0.15)
        r.prize = rng.choice((11075, 22000, 35000, 50000, 85000, 150000, 280000))
        r.empty_tail = m.type == "H" and rng.random() < 0.4
        r.abandoned = r.dead_heat = r.split = False
        r.runners = []
        names = set()
        for i in range(1, n + 1):
            while True:
                nm = "%s %s" % (rng.choice(WORDS_A), rng.choice(WORDS_B))
                if nm not in names:
                    names.add(nm)
                    break
            rider = "%s %s" % (rng.choice("ABCDJKLMNRST"), rng.choice(SURNAMES).title())
            if m.type == "G":
                rider = None
            elif rng.random() < 0.06:
                rider = "NOT NOTIFIED"
            elif rng.random() < 0.03:
                rider = None
            r.runners.append({
                "number": i, "name": nm, "barrier": i if m.type == "G" else rng.randint(1, n),
                "trainer": "%s %s" % (rng.choice("ABCDGJKMPST"), rng.choice(SURNAMES).title()),
                "rider": rider,
                "weight": rng.choice((54, 55.5, 56, 57, 58.5, 60)) if m.type == "R" else 0,
                "last5": "".join(rng.choice("123456789x0f") for _ in range(rng.randint(0, 5))),
                "strength": rng.lognormvariate(0, 0.8),
                "tote_zero": rng.random() < 0.1,
                "emergency": False, "scratched": False, "vacant": False,
                "late_at": None, "prop": rng.randint(100000, 999999),
            })
        # pre-race scratchings; vacant boxes for greyhounds
        for x in rng.sample(r.runners, rng.randint(0, min(2, max(0, n - 5)))):
            x["scratched"] = True
            if m.type == "G":
                x["vacant"] = True
                x["name"] = "...."
        if m.type == "R" and n >= 10 and rng.random() < 0.3:
            r.runners[-1]["emergency"] = True
        total = sum(x["strength"] for x in r.runners if not x["scratched"])
        for x in r.runners:
            x["price"] = price_round(total / x["strength"] / 1.18)
            x["open"] = price_round(x["price"] * rng.uniform(0.8, 1.25))

    def _specials(self, rng):
        """Abandoned races, late scratchings, dead heats, a SPLIT dividend; then results."""
        cfg = self.cfg
        races = [r for m in self.meetings for r in m.races]

        def starters(r):
            return [x for x in r.runners if not x["scratched"] and x["late_at"] is None]

        for r in rng.sample(races, count_of(cfg.abandoned, len(races))):
            r.abandoned = True
        ok = [r for r in races if not r.abandoned and len(starters(r)) >= 6]
        for r in rng.sample(ok, min(len(ok), count_of(cfg.late_scratchings, len(races)))):
            x = rng.choice(starters(r))
            x["late_at"] = r.start - cfg.late_scratch_lead
            x["win_ded"] = rng.choice((0, 5, 10, 15, 25))
            x["place_ded"] = rng.choice((0, 5, 10))
        ok = [r for r in races if not r.abandoned and len(starters(r)) >= 5]
        for i, r in enumerate(rng.sample(ok, min(len(ok), count_of(cfg.dead_heats, len(races))))):
            r.dead_heat = 1 if i == 0 else rng.randint(1, 3)
        if ok:
            rng.choice(ok).split = True
        # every day shows the optional shapes at least once
        plain = [r for r in races if not r.meeting.foo]
        if plain and all(r.has_fixed for r in plain):
            rng.choice(plain).has_fixed = False
        ridden = [x for r in races if r.meeting.type != "G" for x in r.runners]
        for v in ("NOT NOTIFIED", None):
            if ridden and not any(x["rider"] == v for x in ridden):
                rng.choice(ridden)["rider"] = v
        for r in races:
            pool = starters(r)
            order = []
            while pool:  # stronger runners tend to finish in front
                x = rng.choices(pool, weights=[p["strength"] for p in pool])[0]
                pool.remove(x)
                order.append(x["number"])
            groups, i = [], 0
            while len(groups) < 4 and i < len(order):
                if r.dead_heat and len(groups) == r.dead_heat - 1 and i + 1 < len(order):
                    groups += [[order[i], order[i + 1]], []]
                    i += 2
                else:
                    groups.append([order[i]])
                    i += 1
            if r.empty_tail and len(groups) >= 4 and not r.dead_heat:
                groups[3] = []
            r.order = order
            r.groups = groups
            n_start = len(order)
            r.places = 3 if n_start >= 8 else (2 if n_start >= 5 else 0)
            r.dividends = self._dividends(rng, r)

    def _dividends(self, rng, r):
        groups = r.groups
        price = {x["number"]: x["price"] for x in r.runners}

        def seqs(k):
            out = [[]]
            for g in groups:
                if g:
                    out = [s + list(p) for s in out for p in itertools.permutations(g)]
            res = []
            for s in out:
                if len(s) >= k and s[:k] not in res:
                    res.append(s[:k])
            return res

        def amt(x):
            return round(max(1.04, x) * rng.uniform(0.85, 1.1), 2)

        placed = [n for pos, g in enumerate(groups) for n in g if pos < r.places]
        prods = [("Win", [([n], amt(price[n])) for n in groups[0]] if groups else [])]
        if r.places:
            prods.append(("Place", [([n], amt(1 + (price[n] - 1) / 3.5)) for n in placed]))
        prods.append(("Quinella", [(s, amt(price[s[0]] * price[s[1]] / 2.5))
                                   for s in sorted(set(tuple(sorted(s)) for s in seqs(2)))]))
        prods.append(("Exacta", [(s, amt(price[s[0]] * price[s[1]] / 1.4)) for s in seqs(2)]))
        if r.places == 3:
            duet = sorted(set(tuple(sorted(p)) for p in itertools.combinations(placed[:4], 2)))
            prods.append(("Duet", [(list(p), amt(price[p[0]] * price[p[1]] / 6)) for p in duet]))
        prods.append(("Trifecta", [(s, amt(price[s[0]] * price[s[1]] * price[s[2]] / 3))
                                   for s in seqs(3)]))
        ff = seqs(4)
        if ff:
            prods.append(("FirstFour", [(s, amt(price[s[0]] * price[s[1]] * price[s[2]] * 2))
                                        for s in ff]))
        out = []
        for prod, divs in prods:
            divs = [(list(s), a) for s, a in divs]
            if not divs:
                continue
            if r.split and prod == prods[-1][0]:
                divs = [("SPLIT", amt(40))]
            out.append({"wageringProduct": prod, "poolStatusCode": "Paying",
                        "poolDividends": [{"selections": s, "amount": a} for s, a in divs]})
        return out

    # -- lookups
    def races(self):
        return [r for m in self.meetings for r in m.races]

    def find_meeting(self, mtype, key):
        for m in self.meetings:
            if m.type == mtype and m.key_name == key:
                return m
        return None

    def find_race(self, rid):
        for r in self.races():
            if r.rid == rid:
                return r
        return None

    def visible(self, jur):
        return [m for m in self.meetings if id(m) not in self.hidden.get(jur, ())]

    def describe(self, now):
        """The day as planned, for tests: /_control/day."""
        cfg = self.cfg
        out = []
        for m in self.meetings:
            races = []
            for r in m.races:
                races.append({
                    "id": r.rid, "raceNumber": r.number, "matchName": r.match_name,
                    "meetingDate": r.meeting_date, "path": r.path(),
                    "raceStartTime": iso(r.start), "start": r.start,
                    "status": r.status(now), "abandoned": r.abandoned,
                    "closedAt": iso(r.start),
                    "interimAt": None if r.abandoned else iso(r.start + cfg.interim_delay),
                    "payingAt": None if r.abandoned else iso(r.start + cfg.paying_delay),
                    "deadHeat": bool(r.dead_heat), "split": r.split,
                    "results": [] if r.abandoned else r.groups,
                    "runners": len(r.runners),
                    "scratched": [x["number"] for x in r.runners if x["scratched"]],
                    "lateScratchings": [{"runnerNumber": x["number"], "at": iso(x["late_at"])}
                                        for x in r.runners if x["late_at"] is not None],
                    "hasFixedOdds": r.has_fixed, "hasParimutuel": r.has_tote,
                    "requests": r.requests,
                })
            out.append({
                "meetingName": m.name, "venueMnemonic": m.venue, "raceType": m.type,
                "location": m.location, "fixedOddsOnly": m.foo,
                "hiddenFrom": [j for j in JURISDICTIONS if id(m) in self.hidden[j]],
                "races": races,
            })
        return {"date": self.date, "seed": cfg.seed, "anchor": iso(cfg.anchor), "now": iso(now),
                "basePath": cfg.base_path, "meetings": out}


# ---------------------------------------------------------------------------
# rendering TAB documents at time `now`

class Render:
    def __init__(self, day, origin, jur, now):
        self.day = day
        self.cfg = day.cfg
        self.base = origin + self.cfg.base_path
        self.jur = jur
        self.now = now

    def link(self, path):
        sep = "&" if "?" in path else "?"
        return "%s%s%sjurisdiction=%s" % (self.base, path, sep, self.jur)

    def leg(self, r, n=1):
        m = r.meeting
        d = {"legNumber": n, "raceNumber": r.number}
        if not m.foo:
            d["venueMnemonic"] = m.venue
        d.update({"raceType": m.type, "startTime": iso(r.start)})
        return d

    def scratchings(self, r):
        out = [{"runnerNumber": x["number"], "runnerName": x["name"], "bettingStatus": "Scratched"}
               for x in r.runners if x["scratched"]]
        out += [{"runnerNumber": x["number"], "runnerName": x["name"], "bettingStatus": "LateScratched"}
                for x in r.late_scratched(self.now)]
        return sorted(out, key=lambda s: s["runnerNumber"])

    def stub(self, r):
        m = r.meeting
        st = r.status(self.now)
        d = {"raceNumber": r.number}
        if m.foo:
            d["matchName"] = r.match_name
            d["meetingDate"] = r.meeting_date
        date = r.meeting_date.replace("-", "")
        code = "%s%s%02d" % (date, (m.venue or m.display_name[:3].upper()), r.number)
        d.update({
            "raceClassConditions": r.cls, "raceName": r.name, "raceStartTime": iso(r.start),
            "raceStatus": st, "raceDistance": r.distance, "hasParimutuel": r.has_tote,
            "hasFixedOdds": r.has_fixed, "broadcastChannel": r.channel,
            "broadcastChannels": [r.channel] if r.channel else [],
            "skyRacing": {
                "audio": "http://mediatab.skyracing.com.au/Audio_Replay/%s/%s/%s.mp3"
                         % (date[:4], date[4:6], code),
                "video": "http://mediatab.skyracing.com.au/Race_Replay/%s/%s/%s_V.mp4"
                         % (date[:4], date[4:6], code)},
            "willHaveFixedOdds": r.has_fixed, "allIn": False, "cashOutEligibility": "Disabled",
            "allowBundle": not m.foo,
        })
        if st in ("Interim", "Paying"):
            d["results"] = r.groups
        elif not (m.foo and st == "Normal"):  # results absent before the race, sometimes
            d["results"] = []
        d["scratchings"] = self.scratchings(r)
        if r.number == 2 and not m.foo:
            d["multiLegApproximates"] = [{"wageringProduct": "RunningDouble"}]
        return d

    def meeting_head(self, m, full):
        d = {"meetingName": m.name}
        if m.foo:
            d["displayMeetingName"] = m.display_name
        d.update({"location": m.location, "raceType": m.type, "meetingDate": m.date})
        if m.foo:
            d["fixedOddsOnly"] = True
        else:
            if full:
                d["prizeMoney"] = "$%d.00" % sum(r.prize for r in m.races)
        d.update({"weatherCondition": m.weather, "trackCondition": m.track})
        if not m.foo or full:
            d["railPosition"] = m.rail
        if not m.foo:
            d["sellCode"] = {"meetingCode": m.meeting_code, "scheduledType": m.type}
            d["venueMnemonic"] = m.venue
        return d

    def exotic_pools(self, m):
        rs = m.races
        out = []
        specs = [("DailyDouble", rs[-3:-1] if len(rs) >= 3 else rs[-2:])]
        if len(rs) >= 4:
            specs.append(("Quaddie", rs[-4:]))
        if len(rs) >= 8:
            specs.append(("EarlyQuaddie", rs[-8:-4]))
        if len(rs) >= 6:
            specs.append(("BigSix", rs[-6:]))
            specs.append(("Treble", rs[-5:-2]))
        for prod, legs in specs:
            if len(legs) < 2:
                continue
            legd = [self.leg(r, i + 1) for i, r in enumerate(legs)]
            nxt = next((l for l, r in zip(legd, legs) if r.status(self.now) == "Normal"), legd[-1])
            p = {"wageringProduct": prod,
                 "poolStatusCode": "Open" if legs[0].status(self.now) == "Normal" else "Closed",
                 "cashOutEligibility": "Enabled" if prod == "Quaddie" else "Disabled",
                 "startTime": iso(legs[0].start), "nextRaceToJump": nxt, "legs": legd}
            if p["poolStatusCode"] == "Closed":
                p["multiLegApproximatesAvailable"] = True
            out.append(p)
        return out

    def meeting(self, m):
        d = self.meeting_head(m, True)
        if not m.foo:
            d["exoticPools"] = self.exotic_pools(m)
        d["_links"] = {"races": self.link("/dates/%s/meetings/%s/%s/races" % (
            m.date, m.type, urllib.parse.quote(m.key_name, safe="")))}
        d["races"] = [dict(self.stub(r), _links=self.race_links(r)) for r in m.races]
        return d

    def meetings(self):
        return {"meetings": [self.meeting(m) for m in self.day.visible(self.jur)]}

    def race_links(self, r):
        p = r.path()
        base, _, q = p.partition("?")
        q = ("?" + q) if q else ""
        return {"self": self.link(p), "form": self.link(base + "/form" + q),
                "bigBets": self.link(base + "/big-bets" + q)}

    def next_to_go(self):
        races = [r for m in self.day.visible(self.jur) for r in m.races
                 if r.status(self.now) == "Normal"]
        races.sort(key=lambda r: (r.start, r.meeting.name, r.number))
        out = []
        for r in races[:self.cfg.next_to_go]:
            d = {"raceStartTime": iso(r.start), "raceNumber": r.number}
            if r.meeting.foo:
                d["matchName"] = r.match_name
            d.update({"raceName": r.name, "raceDistance": r.distance,
                      "broadcastChannel": r.channel,
                      "broadcastChannels": [r.channel] if r.channel else [],
                      "meeting": self.meeting_head(r.meeting, False),
                      "_links": self.race_links(r)})
            out.append(d)
        return {"races": out}

    def meeting_races(self, m):
        out = []
        for r in m.races:
            d = self.stub(r)
            d["meeting"] = self.meeting_head(m, False)
            d["_links"] = self.race_links(r)
            out.append(d)
        return {"races": out}

    # -- one race document
    def odds(self, r, x, k):
        """Fixed price of runner x at the race's k-th request: a deterministic wobble."""
        f = 1 + 0.12 * math.sin(0.9 * k + x["number"] * 1.7 + self.cfg.seed)
        return price_round(x["price"] * f)

    def runner(self, r, x, k, st, late, fav):
        m = r.meeting
        win = self.odds(r, x, k)
        pos = next((i for i, g in enumerate(r.groups) if x["number"] in g), None)
        if x["scratched"]:
            bs = "Scratched"
        elif x in late:
            bs = "LateScratched"
        elif st == "Normal":
            bs = "Reserve" if x["emergency"] else "Open"
        elif st in ("Interim", "Paying"):
            bs = "Winner" if pos == 0 else ("Placing" if pos is not None and pos < max(r.places, 1)
                                            else "Loser")
        else:
            bs = "Closed"
        d = {"runnerName": x["name"], "runnerNumber": x["number"]}
        if r.has_fixed:
            fo = {"returnWin": win, "returnWinTime": iso(self.now - 60 - (k % 7) * 13),
                  "returnWinOpen": x["open"], "returnWinOpenDaily": x["open"],
                  "returnPlace": round(1 + (win - 1) / 3.6, 2),
                  "isFavouriteWin": fav == x["number"], "isFavouritePlace": fav == x["number"],
                  "bettingStatus": bs, "propositionNumber": x["prop"], "differential": None,
                  "flucs": [{"returnWin": self.odds(r, x, k - j - 1),
                             "returnWinTime": iso(self.now - 120 * (j + 1))}
                            for j in range(self.cfg.flucs)],
                  "percentageChange": int(round((win - x["open"]) * 100.0 / x["open"])),
                  "allowPlace": r.places > 0}
            if x in late:
                fo.update({"winDeduction": x["win_ded"], "placeDeduction": x["place_ded"],
                           "scratchedTime": iso(x["late_at"])})
            d["fixedOdds"] = fo
        if r.has_tote:
            zero = x["tote_zero"] and st == "Normal"
            tw = 0 if zero else round(win * (0.9 + 0.2 * ((x["number"] * 7 + k) % 5) / 4.0), 1)
            d["parimutuel"] = {
                "returnWin": tw, "returnPlace": 0 if zero or not r.places else round(1 + (tw - 1) / 3.2, 1),
                "isFavouriteWin": fav == x["number"], "isFavouritePlace": fav == x["number"],
                "bettingStatus": "Scratched" if (x["scratched"] or x in late) else bs}
            if not zero:  # tote history, as TAB shows once money is in the pool
                d["parimutuel"]["marketMovers"] = [
                    {"returnWin": round(tw * (1 + 0.05 * math.sin(j + x["number"])), 1),
                     "returnWinTime": iso(self.now - 1800 * (j + 1)), "specialDisplayIndicator": False}
                    for j in range(max(1, self.cfg.flucs // 3))]
                d["parimutuel"]["percentageChange"] = int(round(10 * math.sin(k + x["number"])))
        d.update({
            "silkURL": self.base + "/silk/" + urllib.parse.quote(x["name"] + " SILKS"),
            "trainerName": x["trainer"], "trainerFullName": x["trainer"].upper(),
            "barrierNumber": x["barrier"], "riderDriverName": x["rider"],
            "riderDriverFullName": x["rider"].upper() if x["rider"] else None,
            "handicapWeight": x["weight"], "harnessHandicap": None, "blinkers": False,
            "claimAmount": -1, "last5Starts": x["last5"],
            "tcdwIndicators": ("c w", "dw", "t", None, None, None, None)[x["prop"] % 7],
            "emergency": x["emergency"], "penalty": 0,
        })
        if m.type == "G":
            d["vacantBox"] = x["vacant"]
        d.update({"dfsFormRating": x["prop"] % 100, "techFormRating": x["prop"] % 97,
                  "totalRatingPoints": 0, "earlySpeedRating": 0,
                  "earlySpeedRatingBand": "BACKMARKER",
                  "_links": {"form": self.link("/dates/%s/meetings/%s/%s/races/%d/form/%d" % (
                      self.day.date, m.type, urllib.parse.quote(m.key_name, safe=""),
                      r.number, x["number"]))}})
        return d

    def race(self, r):
        with self.day.lock:
            r.requests += 1
            k = r.requests
        m = r.meeting
        st = r.status(self.now)
        late = r.late_scratched(self.now)
        active = [x for x in r.runners if not x["scratched"] and x not in late]
        fav = min(active, key=lambda x: self.odds(r, x, k))["number"] if active else None
        d = self.stub(r)
        head = {"meetingName": m.name}
        if not m.foo:
            head["venueMnemonic"] = m.venue
        head.update({"meetingDate": r.meeting_date, "location": m.location, "raceType": m.type,
                     "weatherCondition": m.weather, "trackCondition": m.track})
        if not m.foo:
            head["sellCode"] = {"meetingCode": m.meeting_code, "scheduledType": m.type}
        d["meeting"] = head
        d.update({"trackDirection": "anticlockwise" if r.number % 3 else "clockwise",
                  "hasForm": True, "hasEarlySpeedRatings": False,
                  "fixedOddsOnlineBetting": r.has_fixed, "apprenticesCanClaim": m.type == "R",
                  "prizeMoney": "$%d.00" % r.prize, "substitute": "NR"})
        pst = {"Normal": "Open", "Closed": "Closed", "Interim": "Interim", "Paying": "Paying",
               "Abandoned": "Abandoned"}[st]
        pools = []
        if r.has_tote:
            for prod in ("Win", "Place", "Quinella", "Exacta", "Duet", "Trifecta", "FirstFour"):
                p = {"wageringProduct": prod, "legNumber": 1, "poolStatusCode": pst,
                     "cashOutEligibility": "Disabled", "legs": [self.leg(r)]}
                if prod in ("Quinella", "Exacta", "Duet"):
                    p["_links"] = {"approximates": self.link(r.path() + "/pools/%s/approximates" % prod)}
                if prod in ("Win", "Place"):
                    p["poolHistory"] = [{"poolTotal": 100 * len(prod) + 37 * (k - j),
                                         "poolTotalTime": iso(self.now - 300 * j),
                                         "specialDisplayIndicator": False} for j in range(12)]
                p.update({"poolTotal": 100 * len(prod) + 37 * k, "jackpot": 0,
                          "cominglingGuests": True, "substitute": "NYD"})
                pools.append(p)
        d["pools"] = pools
        d.update({"allowMulti": True, "allowParimutuelPlace": r.has_tote and r.places > 0,
                  "parimutuelPlaceStatus": "Open" if st == "Normal" else "Closed",
                  "allowFixedOddsPlace": r.has_fixed and r.places > 0,
                  "numberOfPlaces": r.places, "numberOfFixedOddsPlaces": r.places})
        d["runners"] = [self.runner(r, x, k, st, late, fav) for x in r.runners]
        d["oddsUpdateTime"] = iso(self.now - 5)
        d["fixedOddsUpdateTime"] = iso(self.now - 2)
        order = sorted(active, key=lambda x: self.odds(r, x, k))
        d["tips"] = {"tipType": "Standard", "tipster": "Computaform",
                     "tipRunnerNumbers": [x["number"] for x in order[:3]]}
        d["ratings"] = [{"ratingType": t, "ratingRunnerNumbers": [x["number"] for x in order[i:i + 4]]}
                        for i, t in enumerate(("Rating", "Last12Months", "Recent", "Distance"))]
        d["multiLegApproximates"] = []
        d["betTypes"] = [{"wageringProduct": p["wageringProduct"],
                          "firstLeg": {k2: v for k2, v in self.leg(r).items()
                                       if k2 in ("raceNumber", "venueMnemonic", "raceType")}}
                         for p in pools]
        if st == "Paying":
            d["dividends"] = r.dividends
        return d


# ---------------------------------------------------------------------------
# faults: one table, kind -> (function, what goes on the wire)

def _walk(doc, fn):
    """Apply fn(dict) to every dict inside doc (found before any is changed)."""
    found, todo = [], [doc]
    while todo:
        v = todo.pop()
        if isinstance(v, dict):
            found.append(v)
            todo.extend(v.values())
        elif isinstance(v, list):
            todo.extend(v)
    for d in reversed(found):
        fn(d)


def _m_wrong_types(doc, p):
    conv = {
        "raceNumber": lambda v: str(v) if isinstance(v, int) else v,
        "runners": lambda v: {str(x.get("runnerNumber", i)): x for i, x in enumerate(v)}
        if isinstance(v, list) else v,
        "raceStartTime": lambda v: int(parse_iso(v) * 1000) if isinstance(v, str) else v,
        "returnWin": lambda v: str(v) if isinstance(v, (int, float)) else v,
        "results": lambda v: "-".join(str(n) for g in v for n in g) if isinstance(v, list) else v,
        "meetings": lambda v: {str(i): x for i, x in enumerate(v)} if isinstance(v, list) else v,
        "races": lambda v: {str(i): x for i, x in enumerate(v)} if isinstance(v, list) else v,
        "raceStatus": lambda v: 1 if isinstance(v, str) else v,
    }
    fields = p.get("fields", ["raceNumber", "runners", "raceStartTime", "returnWin", "results"])

    def fn(d):
        for f in fields:
            if f in d:
                d[f] = conv[f](d[f])
    _walk(doc, fn)
    return doc


def _m_missing_fields(doc, p):
    fields = p.get("fields", ["raceStartTime", "raceStatus"])

    def fn(d):
        for f in fields:
            d.pop(f, None)
    _walk(doc, fn)
    return doc


HUGE = "\x00huge\x00"


def _m_nan(doc, p):
    def fn(d):
        if "returnWin" in d:
            d["returnWin"] = float("nan")
        if "returnPlace" in d:
            d["returnPlace"] = float("inf")
        if "raceDistance" in d:
            d["raceDistance"] = HUGE
        if "raceNumber" in d:
            d["raceNumber"] = 10 ** 30
    _walk(doc, fn)
    return doc


def _m_nul_escape(doc, p):
    def fn(d):
        for k, v in d.items():
            if k.endswith("Name") and isinstance(v, str) and v:
                d[k] = v[:1] + "\x00" + v[1:]
    _walk(doc, fn)
    return doc


def _m_runners_10000(doc, p):
    n = int(p.get("n", 10000))
    if isinstance(doc.get("runners"), list) and doc["runners"]:
        proto = doc["runners"][0]
        doc["runners"] = [dict(proto, runnerNumber=i + 1, barrierNumber=i + 1) for i in range(n)]
    elif doc.get("meetings"):
        races = doc["meetings"][0]["races"]
        doc["meetings"][0]["races"] = [dict(races[0], raceNumber=i + 1) for i in range(n)]
    elif doc.get("races"):
        doc["races"] = [dict(doc["races"][0], raceNumber=i + 1) for i in range(n)]
    return doc


def _m_bad_race_numbers(doc, p):
    def fix(lst, key):
        if len(lst) >= 1:
            lst[0][key] = -1
        if len(lst) >= 3:
            lst[1][key] = lst[2][key]
    if "raceNumber" in doc:
        doc["raceNumber"] = -1
    for key, lk in (("raceNumber", "races"), ("runnerNumber", "runners")):
        _walk(doc, lambda d: fix(d[lk], key) if isinstance(d.get(lk), list)
              and all(isinstance(x, dict) for x in d[lk]) else None)
    return doc


def _m_bad_dates(doc, p):
    bad = itertools.cycle(["2026-13-45T25:61:00.000Z", "2026-02-30T00:00:00.000Z", "yesterday",
                           "", "0000-00-00T00:00:00.000Z", "2026-11-28 04:25"])

    def fn(d):
        for k in ("raceStartTime", "startTime", "meetingDate", "oddsUpdateTime", "scratchedTime"):
            if isinstance(d.get(k), str):
                d[k] = next(bad)
    _walk(doc, fn)
    return doc


def _m_naive_timestamps(doc, p):
    suffix = p.get("style", "")  # "" (naive), "+00:00", "+10:00"

    def fn(d):
        for k, v in d.items():
            if isinstance(v, str) and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", v):
                d[k] = v[:-1] + suffix
    _walk(doc, fn)
    return doc


def _m_status_alias(doc, p):
    alias = p.get("map", {"Normal": "Open", "Paying": "Final"})

    def fn(d):
        if d.get("raceStatus") in alias:
            d["raceStatus"] = alias[d["raceStatus"]]
    _walk(doc, fn)
    return doc


def _m_unknown_keys(doc, p):
    def fn(d):
        d["zzUnknownKey"] = {"nested": [1, "two", None, {"x": 3.5}], "flag": True}
    _walk(doc, fn)
    return doc


def _m_nulls(doc, p):
    fields = p.get("fields", ["weatherCondition", "trackCondition", "railPosition", "prizeMoney",
                              "broadcastChannel", "riderDriverName", "fixedOdds", "parimutuel",
                              "results", "scratchings", "barrierNumber", "handicapWeight"])

    def fn(d):
        for f in fields:
            if f in d:
                d[f] = None
    _walk(doc, fn)
    return doc


def _dup_keys(body, doc, p):
    if not isinstance(doc, dict) or not doc:
        return body
    key = p.get("key") or next(iter(doc))
    v = doc.get(key)
    other = ([] if isinstance(v, list) else {} if isinstance(v, dict) else
             "DUPLICATE" if isinstance(v, str) else -1)
    return b"{" + json.dumps(key).encode() + b":" + json.dumps(other).encode() + b"," + body[1:]


def _invalid_utf8(body, doc, p):
    out, n = re.subn(rb'(":")', b'":"\xff\xfe\xc3\x28', body, count=1)
    return out if n else b"\xff\xfe" + body


def mutation(fn, raw=False):
    """A fault that serves a changed document with status 200 and normal headers."""
    def fault(h, p, resp):
        if resp.doc is None:
            return h.send_resp(resp)
        if raw:
            body = fn(resp.body(), resp.doc, p)
        else:  # a copy: documents share parts of the day (results, dividends)
            body = Response.encode(fn(copy.deepcopy(resp.doc), p))
        h.send_raw(200, body)
    return fault


def f_status(h, p, resp):
    code = int(p.get("status", 500))
    body = p.get("body")
    if body is None:
        body = json.dumps({"error": {"code": "INTERNAL_SERVER_ERROR" if code >= 500 else "ERROR",
                                     "message": "Simulated status %d" % code}})
    hdrs = dict(p.get("headers", {}))
    if "retry_after" in p:
        hdrs["Retry-After"] = str(p["retry_after"])
    h.send_raw(code, body.encode(), p.get("content_type", "application/json"), hdrs)


def f_429(h, p, resp):
    secs = p.get("retry_after", 1)
    ra = formatdate(time.time() + float(secs), usegmt=True) if p.get("http_date") else str(secs)
    body = json.dumps({"error": {"code": "TOO_MANY_REQUESTS", "message": "Rate limit exceeded"}})
    h.send_raw(int(p.get("status", 429)), body.encode(), "application/json", {"Retry-After": ra})


def f_delay(h, p, resp):
    time.sleep(float(p.get("seconds", 120)))
    then = p.get("then")
    if then:
        return FAULTS[then][0](h, p.get("then_params", {}), resp)
    h.send_resp(resp)


def f_trickle(h, p, resp):
    body = resp.body()
    h.send_head(resp.status, resp.ctype, {"Content-Length": str(len(body))})
    step = int(p.get("chunk", 64))
    for i in range(0, len(body), step):
        h.wfile.write(body[i:i + step])
        time.sleep(float(p.get("interval", 0.2)))


def _rst(h):
    h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    h.connection.close()
    h.close_connection = True


def f_reset(h, p, resp):
    body = resp.body()
    n = int(p.get("bytes", len(body) // 2))
    h.send_head(resp.status, resp.ctype, {"Content-Length": str(len(body))})
    h.wfile.write(body[:n])
    time.sleep(float(p.get("pause", 0.05)))
    _rst(h)


def f_close(h, p, resp):
    if p.get("rst"):
        _rst(h)
    else:
        h.close_connection = True


def f_truncate(h, p, resp):
    body = resp.body()
    n = int(p["bytes"]) if "bytes" in p else int(len(body) * float(p.get("fraction", 0.5)))
    h.send_raw(resp.status, body[:max(1, min(n, len(body) - 1))], resp.ctype)


def f_oversize(h, p, resp):
    size = int(float(p.get("mb", 20)) * (1 << 20))
    framing = p.get("framing", "length")  # length | chunked | close
    head, tail = b'{"meetings":[],"padding":"', b'"}'
    fill = size - len(head) - len(tail)
    hdrs = {"length": {"Content-Length": str(size)}, "chunked": {"Transfer-Encoding": "chunked"},
            "close": {"Connection": "close"}}[framing]
    h.send_head(200, "application/json", hdrs)
    if framing == "close":
        h.close_connection = True
    block = b"x" * 65536

    def out(b):
        if framing == "chunked":
            h.wfile.write(b"%x\r\n%s\r\n" % (len(b), b))
        else:
            h.wfile.write(b)
    out(head)
    while fill > 0:
        out(block[:min(fill, len(block))])
        fill -= len(block)
    out(tail)
    if framing == "chunked":
        h.wfile.write(b"0\r\n\r\n")


def f_gzip(h, p, resp):
    body = gzip.compress(resp.body())
    h.send_raw(resp.status, body, resp.ctype, {"Content-Encoding": "gzip"})


_BOMBS = {}
_BOMB_LOCK = threading.Lock()


def gzip_bomb(mb):
    with _BOMB_LOCK:
        if mb not in _BOMBS:
            c = zlib.compressobj(9, zlib.DEFLATED, 31)
            parts = [c.compress(b'{"meetings":[],"padding":"')]
            block = b"0" * (1 << 20)
            parts += [c.compress(block) for _ in range(mb)]
            parts.append(c.compress(b'"}') + c.flush())
            _BOMBS[mb] = b"".join(parts)
        return _BOMBS[mb]


def f_gzip_bomb(h, p, resp):
    h.send_raw(200, gzip_bomb(int(p.get("mb", 256))), "application/json",
               {"Content-Encoding": "gzip"})


def f_empty200(h, p, resp):
    h.send_raw(200, b"", p.get("content_type", "application/json"))


def f_html(h, p, resp):
    code = int(p.get("status", 403))
    body = ("<!DOCTYPE html>\n<html><head><title>Access Denied</title></head><body>\n"
            "<h1>Access Denied</h1><p>You don't have permission to access this resource.</p>\n"
            "<p>Reference&#32;#18.4f2a3b17.1700000000.5d3c</p></body></html>\n")
    h.send_raw(code, body.encode(), "text/html; charset=utf-8")


def f_redirect(h, p, resp):
    loc = p.get("location") or "%s%s" % (h.origin(), h.path)
    body = b"<html><body>Moved</body></html>"
    h.send_raw(int(p.get("status", 302)), body, "text/html", {"Location": loc})


def f_deep_nesting(h, p, resp):
    n = int(p.get("levels", 100000))
    h.send_raw(200, b'{"meetings":' + b"[" * n + b"]" * n + b"}")


FAULTS = {
    "status": (f_status, "any status (default 500) with an optional body, content_type, headers, retry_after"),
    "429": (f_429, "429 (or params.status) with Retry-After in seconds, or an HTTP-date if http_date"),
    "delay": (f_delay, "sleep params.seconds (default 120) before the headers; then the real answer "
                       "or the fault params.then with params.then_params"),
    "trickle": (f_trickle, "real body, params.chunk bytes (64) every params.interval s (0.2)"),
    "reset": (f_reset, "headers and params.bytes of the body (half), then a TCP RST"),
    "close": (f_close, "close the connection without any response (FIN; RST if params.rst)"),
    "truncate": (f_truncate, "the body cut at params.bytes or params.fraction (0.5), Content-Length matching"),
    "invalid_utf8": (mutation(_invalid_utf8, raw=True), "bytes FF FE C3 28 inside the first string value"),
    "wrong_types": (mutation(_m_wrong_types), "params.fields retyped: raceNumber str, runners object, "
                                              "raceStartTime number, returnWin str, results str, "
                                              "meetings/races object, raceStatus number"),
    "missing_fields": (mutation(_m_missing_fields), "params.fields (raceStartTime, raceStatus) removed everywhere"),
    "oversize": (f_oversize, "a valid JSON body of params.mb MiB (20); params.framing length|chunked|close"),
    "gzip": (f_gzip, "the real body gzip-compressed with Content-Encoding: gzip"),
    "gzip_bomb": (f_gzip_bomb, "a small gzip body expanding to params.mb MiB (256)"),
    "empty200": (f_empty200, "200 with an empty body"),
    "html": (f_html, "an HTML error page, status params.status (403), text/html"),
    "redirect": (f_redirect, "params.status (302) to params.location (default: the same URL)"),
    "deep_nesting": (f_deep_nesting, "{\"meetings\": [[[...]]]} nested params.levels deep (100000)"),
    "nul_escape": (mutation(_m_nul_escape), "\\u0000 inside every *Name string"),
    "nan": (mutation(_m_nan), "returnWin NaN, returnPlace Infinity, raceDistance 1e400, raceNumber 10^30"),
    "duplicate_keys": (mutation(_dup_keys, raw=True), "the first (or params.key) top-level key twice, "
                                                      "first with a wrong value"),
    "runners_10000": (mutation(_m_runners_10000), "params.n (10000) runners, or races in a list"),
    "bad_race_numbers": (mutation(_m_bad_race_numbers), "raceNumber/runnerNumber -1 and duplicates"),
    "bad_dates": (mutation(_m_bad_dates), "impossible or malformed dates and times"),
    "naive_timestamps": (mutation(_m_naive_timestamps), "timestamps without zone, or with params.style "
                                                        "such as +00:00 or +10:00"),
    "status_alias": (mutation(_m_status_alias), "raceStatus renamed by params.map "
                                                "(Normal->Open, Paying->Final)"),
    "unknown_keys": (mutation(_m_unknown_keys), "an unknown key with a nested value in every object"),
    "nulls": (mutation(_m_nulls), "params.fields (conditions, prizeMoney, riderDriverName, fixedOdds, "
                                  "parimutuel, results, scratchings, ...) set to null"),
}


class FaultRules:
    """Rules {path (regex) | glob, fault, count, every, params} matched on path+query."""

    def __init__(self):
        self.lock = threading.Lock()
        self.rules = []
        self.next_id = 1

    def add(self, spec):
        specs = spec.get("rules", spec) if isinstance(spec, dict) else spec
        if isinstance(specs, dict):
            specs = [specs]
        new = []
        for s in specs:
            if not isinstance(s, dict) or s.get("fault") not in FAULTS:
                raise ValueError("unknown fault %r; kinds: %s" % (
                    s.get("fault") if isinstance(s, dict) else s, ", ".join(sorted(FAULTS))))
            if "glob" in s:
                rx = re.compile(fnmatch.translate(s["glob"]))
            else:
                rx = re.compile(s.get("path", ""))
            for k in ("if_header", "unless_header"):
                for v in s.get(k, {}).values():
                    re.compile(v)
            new.append({"id": None, "path": s.get("path"), "glob": s.get("glob"),
                        "if_header": s.get("if_header"), "unless_header": s.get("unless_header"),
                        "fault": s["fault"], "count": s.get("count"), "every": int(s.get("every", 1)),
                        "params": s.get("params", {}), "hits": 0, "seen": 0, "_rx": rx,
                        "_glob": "glob" in s})
        with self.lock:
            for r in new:
                r["id"] = self.next_id
                self.next_id += 1
            self.rules += new
        return self.list()

    def list(self):
        with self.lock:
            return [{k: v for k, v in r.items() if not k.startswith("_")} for r in self.rules]

    def clear(self, rid=None):
        with self.lock:
            self.rules = [r for r in self.rules if rid is not None and r["id"] != rid]

    @staticmethod
    def _headers_ok(r, headers):
        def has(name, rx):
            return name in headers and re.search(rx, headers[name]) is not None
        if r["if_header"] and not all(has(k, v) for k, v in r["if_header"].items()):
            return False
        if r["unless_header"] and all(has(k, v) for k, v in r["unless_header"].items()):
            return False
        return True

    def match(self, target, headers):
        with self.lock:
            for r in self.rules:
                if r["count"] is not None and r["count"] <= 0:
                    continue
                hit = r["_rx"].match(target) if r["_glob"] else r["_rx"].search(target)
                if not hit or not self._headers_ok(r, headers):
                    continue
                r["seen"] += 1
                if (r["seen"] - 1) % r["every"]:
                    continue
                if r["count"] is not None:
                    r["count"] -= 1
                r["hits"] += 1
                return r
        return None


# ---------------------------------------------------------------------------
# statistics

class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.inflight = 0
        self.reset()

    def reset(self):
        with self.lock:
            self.paths, self.templates, self.status, self.faults = {}, {}, {}, {}
            self.jurisdictions = {}
            self.total = {"requests": 0, "ms": 0.0}
            self.since = time.time()
            self.inflight_max = self.inflight

    def begin(self):
        """A request is being served: track concurrency (requests in flight and the peak)."""
        with self.lock:
            self.inflight += 1
            self.inflight_max = max(self.inflight_max, self.inflight)

    @staticmethod
    def _add(tab, key, status, ms):
        e = tab.setdefault(key, {"count": 0, "total_ms": 0.0, "min_ms": None, "max_ms": 0.0,
                                 "status": {}})
        e["count"] += 1
        e["total_ms"] = round(e["total_ms"] + ms, 3)
        e["min_ms"] = ms if e["min_ms"] is None else min(e["min_ms"], ms)
        e["max_ms"] = max(e["max_ms"], ms)
        e["status"][status] = e["status"].get(status, 0) + 1

    def record(self, path, template, status, ms, fault, jur):
        status = str(status) if status else "none"
        ms = round(ms, 3)
        with self.lock:
            self._add(self.paths, path, status, ms)
            self._add(self.templates, template, status, ms)
            self.status[status] = self.status.get(status, 0) + 1
            if fault:
                self.faults[fault] = self.faults.get(fault, 0) + 1
            self.jurisdictions[jur or "none"] = self.jurisdictions.get(jur or "none", 0) + 1
            self.inflight -= 1
            self.total["requests"] += 1
            self.total["ms"] = round(self.total["ms"] + ms, 3)

    def snapshot(self):
        with self.lock:
            return json.loads(json.dumps({
                "since": iso(self.since), "total": self.total, "by_status": self.status,
                "inflight": self.inflight, "inflight_max": self.inflight_max,
                "by_template": self.templates, "by_path": self.paths, "by_fault": self.faults,
                "by_jurisdiction": self.jurisdictions}))


# ---------------------------------------------------------------------------
# HTTP

class Response:
    def __init__(self, status, doc=None, raw=None, ctype="application/json"):
        self.status = status
        self.doc = doc
        self.raw = raw
        self.ctype = ctype

    @staticmethod
    def encode(doc):
        s = json.dumps(doc, separators=(",", ":"), ensure_ascii=False)
        return s.replace(json.dumps(HUGE), "1e400").encode("utf-8")

    def body(self):
        if self.raw is None:
            self.raw = self.encode(self.doc)
        return self.raw


def error(status, code, message):
    return Response(status, raw=json.dumps({"error": {"code": code, "message": message}}).encode())


ROUTES = [  # (template, regex on the path below the base path)
    ("meetings", re.compile(r"/dates/([^/]+)/meetings/?$")),
    ("meeting_races", re.compile(r"/dates/([^/]+)/meetings/([^/]+)/([^/]+)/races/?$")),
    ("race", re.compile(r"/dates/([^/]+)/meetings/([^/]+)/([^/]+)/races/([^/]+)/?$")),
    ("next_to_go", re.compile(r"/next-to-go/races/?$")),
]


class App:
    def __init__(self, cfg):
        self.cfg = cfg
        self.day = Day(cfg)
        self.faults = FaultRules()
        self.stats = Stats()
        self.clock_offset = 0.0
        self.recent = []
        self.recent_lock = threading.Lock()
        self.servers = []

    def now(self):
        return time.time() + self.clock_offset

    def api(self, raw_path, query, origin):
        """Route a GET below the base path; returns (template, jurisdiction, Response)."""
        segs = raw_path.split("/")
        path = "/".join(urllib.parse.unquote(s).replace("/", "%2F") for s in segs)
        for template, rx in ROUTES:
            mt = rx.match(path)
            if mt:
                break
        else:
            return "unknown", None, error(404, "RESOURCE_NOT_FOUND_ERROR", "Resource not found")
        args = [urllib.parse.unquote(s) for s in segs if s][1:]
        jur = (query.get("jurisdiction") or [None])[0]
        if not jur:
            return template, None, error(400, "INVALID_SYNTAX_ERROR",
                                         "Missing required query parameter: jurisdiction")
        if jur not in JURISDICTIONS:
            return template, jur, error(400, "INVALID_SYNTAX_ERROR",
                                        "Invalid value for query parameter jurisdiction: %s" % jur)
        fixed = (query.get("fixedOdds") or ["false"])[0].lower() == "true"
        day, rd = self.day, Render(self.day, origin, jur, self.now())
        if template == "next_to_go":
            return template, jur, Response(200, rd.next_to_go())
        date = args[0]
        if not re.fullmatch(r"\d{4}-\d\d-\d\d", date):
            return template, jur, error(400, "INVALID_SYNTAX_ERROR", "Invalid date: %s" % date)
        if template == "meetings":
            doc = rd.meetings() if date == day.date else {"meetings": []}
            return template, jur, Response(200, doc)
        not_found = error(404, "RESOURCE_NOT_FOUND_ERROR", "Resource not found")
        m = day.find_meeting(args[2], args[3]) if date == day.date else None
        if m is None:
            return template, jur, not_found
        if template == "meeting_races":
            return template, jur, Response(200, rd.meeting_races(m))
        key = args[5]
        if m.foo:
            template = "race_fixed"
            r = next((r for r in m.races if r.match_name == key), None) if fixed else None
        else:
            r = None if fixed or not key.isdigit() else next(
                (r for r in m.races if r.number == int(key)), None)
        if r is None:
            return template, jur, not_found
        return template, jur, Response(200, rd.race(r))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "tabsim/1"
    sys_version = ""

    def version_string(self):
        return self.server_version

    def log_message(self, fmt, *args):
        if self.server.app.cfg.verbose:
            sys.stderr.write("tabsim: %s %s\n" % (self.address_string(), fmt % args))

    def origin(self):
        scheme = "https" if isinstance(self.connection, ssl.SSLSocket) else "http"
        return "%s://127.0.0.1:%d" % (scheme, self.server.server_address[1])

    def send_head(self, status, ctype, headers):
        self.sent_status = status
        self.send_response(status)
        if ctype:
            self.send_header("Content-Type", ctype)
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()

    def send_raw(self, status, body, ctype="application/json", headers=None):
        hdrs = {"Content-Length": str(len(body))}
        hdrs.update(headers or {})
        self.send_head(status, ctype, hdrs)
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_resp(self, resp):
        self.send_raw(resp.status, resp.body(), resp.ctype)

    def do_GET(self):
        self.dispatch()

    do_POST = do_DELETE = do_PUT = do_HEAD = do_GET

    def dispatch(self):
        app = self.server.app
        t0 = time.monotonic()
        self.sent_status = None
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query)
        if url.path.startswith("/_control/"):
            try:
                self.control(app, url.path[len("/_control/"):].strip("/"))
            except (BrokenPipeError, ConnectionResetError):
                pass
            return
        body_len = int(self.headers.get("Content-Length") or 0)
        if body_len:
            self.rfile.read(body_len)
        with app.recent_lock:
            app.recent.append({"time": iso(time.time()), "method": self.command, "path": self.path,
                               "headers": dict(self.headers.items())})
            del app.recent[:-200]
        app.stats.begin()
        template, jur, rule = "unknown", None, None
        try:
            base = app.cfg.base_path
            if url.path.startswith(base + "/"):
                template, jur, resp = app.api(url.path[len(base):], query, self.origin())
            else:
                resp = error(404, "RESOURCE_NOT_FOUND_ERROR", "Resource not found")
            if re.fullmatch(r"Bearer\s*", self.headers.get("Authorization", "x")):
                resp = error(401, "UNAUTHORIZED", "Empty bearer token")
            rule = app.faults.match(self.path, self.headers)
            if rule:
                FAULTS[rule["fault"]][0](self, rule["params"], resp)
            else:
                self.send_resp(resp)
        except OSError:  # the client went away, or a fault closed the connection
            self.close_connection = True
        except Exception as e:  # a bug here: say so on the wire and on stderr
            sys.stderr.write("tabsim: error serving %s: %r\n" % (self.path, e))
            if self.sent_status is None:
                self.send_raw(500, json.dumps({"error": {"code": "TABSIM_BUG",
                                                         "message": repr(e)}}).encode())
            self.close_connection = True
        finally:
            app.stats.record(url.path, template, self.sent_status, (time.monotonic() - t0) * 1000,
                             rule and rule["fault"], jur)

    def control(self, app, what):
        n = int(self.headers.get("Content-Length") or 0)
        try:
            arg = json.loads(self.rfile.read(n) or b"null")
        except ValueError as e:
            return self.reply(400, {"error": "bad JSON: %s" % e})
        m = self.command
        try:
            if what == "faults" and m == "GET":
                return self.reply(200, {"rules": app.faults.list(),
                                        "kinds": {k: v[1] for k, v in FAULTS.items()}})
            if what == "faults" and m == "POST":
                return self.reply(200, {"rules": app.faults.add(arg)})
            if what == "faults" and m == "DELETE":
                app.faults.clear()
                return self.reply(200, {"rules": []})
            if what.startswith("faults/") and m == "DELETE":
                app.faults.clear(int(what.split("/")[1]))
                return self.reply(200, {"rules": app.faults.list()})
            if what == "stats" and m == "GET":
                return self.reply(200, app.stats.snapshot())
            if what == "stats/reset" and m == "POST":
                app.stats.reset()
                with app.recent_lock:
                    app.recent = []
                return self.reply(200, {"ok": True})
            if what == "requests" and m == "GET":
                with app.recent_lock:
                    return self.reply(200, {"requests": list(app.recent)})
            if what == "day" and m == "GET":
                return self.reply(200, app.day.describe(app.now()))
            if what == "clock" and m in ("GET", "POST"):
                if m == "POST":
                    if "offset" in arg:
                        app.clock_offset = float(arg["offset"])
                    if "advance" in arg:
                        app.clock_offset += float(arg["advance"])
                    if "now" in arg:
                        app.clock_offset = parse_iso(arg["now"]) - time.time()
                return self.reply(200, {"offset": app.clock_offset, "now": iso(app.now())})
            if what == "move" and m == "POST":
                r = app.day.find_race(arg["race"])
                if r is None:
                    return self.reply(404, {"error": "no race %r" % arg["race"]})
                with app.day.lock:
                    delta = parse_iso(arg["start"]) - r.start if "start" in arg else float(arg["delta"])
                    r.start = round(r.start + delta)
                    for x in r.runners:
                        if x["late_at"] is not None:
                            x["late_at"] += delta
                return self.reply(200, {"race": r.rid, "raceStartTime": iso(r.start)})
            if what == "shutdown" and m == "POST":
                self.reply(200, {"ok": True})
                threading.Thread(target=shutdown_all, args=(app,), daemon=True).start()
                return
        except (ValueError, KeyError, TypeError, re.error) as e:
            return self.reply(400, {"error": str(e)})
        self.reply(404, {"error": "no control endpoint %s %s" % (m, what)})

    def reply(self, status, doc):
        self.send_raw(status, json.dumps(doc, indent=1).encode() + b"\n")


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def handle_error(self, request, client_address):
        """Clients that hang up (and faults that reset) are routine here: one line, if verbose."""
        if self.app.cfg.verbose:
            sys.stderr.write("tabsim: %s: %s\n" % (client_address, sys.exc_info()[1]))


def shutdown_all(app):
    for s in app.servers:
        s.shutdown()


def make_tls(tls_dir):
    """A test CA and a server certificate for 127.0.0.1/localhost; returns an SSLContext."""
    if not shutil.which("openssl"):
        sys.exit("tabsim: --tls-port needs the openssl command line tool")
    os.makedirs(tls_dir, exist_ok=True)

    def run(*args):
        subprocess.run(("openssl",) + args, cwd=tls_dir, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    run("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "30",
        "-subj", "/CN=tabsim test CA", "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    run("req", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost")
    with open(os.path.join(tls_dir, "server.ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n"
                "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "server.pem", "-days", "30", "-extfile", "server.ext")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(os.path.join(tls_dir, "server.pem"), os.path.join(tls_dir, "server.key"))
    return ctx


def write_port(path, port):
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".port.")
    with os.fdopen(fd, "w") as f:
        f.write("%d\n" % port)
    os.replace(tmp, path)


PRESETS = {
    "compressed": {"meetings": 6, "races_per_meeting": "5,7", "first_jump": 120,
                   "jump_interval": "60,90", "runners": "8,14", "abandoned": "1",
                   "dead_heats": "1", "late_scratchings": "2"},
    "full": {"meetings": 50, "races_per_meeting": "6,10", "first_jump": 600,
             "jump_interval": "60,120", "runners": "8,14", "abandoned": "3",
             "dead_heats": "3", "late_scratchings": "20"},
}


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description="TAB racing API simulator (loopback only)")
    a = ap.add_argument
    a("--port", type=int, default=0, help="HTTP port, 0 picks a free one")
    a("--port-file", help="write the HTTP port here once listening")
    a("--pid-file", help="write the process id here once listening (an interpreter"
      " wrapper may run the simulator under another process id than its own)")
    a("--tls-port", type=int, help="also serve HTTPS on this port (0 picks one)")
    a("--tls-port-file", help="write the HTTPS port here once listening")
    a("--tls-dir", help="where to create ca.pem, server.pem, server.key (default: a temp dir)")
    a("--base-path", default="/v1/tab-info-service/racing")
    a("--preset", choices=sorted(PRESETS), default="compressed",
      help="defaults for the day options below (compressed: 6 meetings, full: 50)")
    a("--seed", type=int, default=1)
    a("--date", help="racing day YYYY-MM-DD (default: today in Australia/Sydney)")
    a("--anchor", default="now", help="ISO UTC time or 'now'; start times count from here")
    a("--meetings", type=int)
    a("--races-per-meeting", help="N or MIN,MAX")
    a("--first-jump", type=float, help="seconds from the anchor to the first race")
    a("--jump-interval", help="seconds between consecutive jumps of the day: N or MIN,MAX")
    a("--runners", help="runners per race: N or MIN,MAX (greyhounds at most 8)")
    a("--abandoned", help="abandoned races: a count, or a fraction such as 0.02")
    a("--dead-heats", help="races with a dead heat: count or fraction")
    a("--late-scratchings", help="races with a late scratching: count or fraction")
    a("--late-scratch-lead", type=float, default=60, help="seconds before the jump a late scratching shows")
    a("--interim-delay", type=float, default=20, help="seconds after the jump: Closed -> Interim")
    a("--paying-delay", type=float, default=40, help="seconds after the jump: Interim -> Paying")
    a("--hide", type=int, default=0, help="meetings each jurisdiction does not list (chosen per jurisdiction)")
    a("--next-to-go", type=int, default=36, help="races in the next-to-go list")
    a("--flucs", type=int, default=12, help="price history entries per runner (sizes race documents)")
    a("--faults", help="fault rules to install at start: JSON, or @file")
    a("--verbose", action="store_true", help="log requests to stderr")
    cfg = ap.parse_args(argv)
    for k, v in PRESETS[cfg.preset].items():
        if getattr(cfg, k) is None:
            setattr(cfg, k, v)
    cfg.date = cfg.date or sydney_today()
    dt.date.fromisoformat(cfg.date)
    cfg.anchor = float(int(time.time())) if cfg.anchor == "now" else parse_iso(cfg.anchor)
    cfg.base_path = "/" + cfg.base_path.strip("/")
    return cfg


def main(argv=None):
    cfg = parse_args(argv)
    app = App(cfg)
    if cfg.faults:
        src = cfg.faults
        if src.startswith("@"):
            with open(src[1:]) as f:
                src = f.read()
        app.faults.add(json.loads(src))
    listeners = [("http", cfg.port, cfg.port_file, None)]
    tmp_tls = None
    if cfg.tls_port is not None:
        tls_dir = cfg.tls_dir or tempfile.mkdtemp(prefix="tabsim-tls-")
        tmp_tls = None if cfg.tls_dir else tls_dir
        listeners.append(("https", cfg.tls_port, cfg.tls_port_file, make_tls(tls_dir)))
    for scheme, port, port_file, ctx in listeners:
        srv = Server(("127.0.0.1", port), Handler)
        srv.app = app
        if ctx:  # handshake lazily, in the request's own thread
            srv.socket = ctx.wrap_socket(srv.socket, server_side=True, do_handshake_on_connect=False)
        app.servers.append(srv)
        port = srv.server_address[1]
        if port_file:
            write_port(port_file, port)
        print("tabsim listening on %s://127.0.0.1:%d" % (scheme, port), flush=True)
    if cfg.pid_file:
        write_port(cfg.pid_file, os.getpid())
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in app.servers[1:]]
    for t in threads:
        t.start()
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    try:
        app.servers[0].serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        for s in app.servers[1:]:
            s.shutdown()
        for s in app.servers:
            s.server_close()
        if tmp_tls:
            shutil.rmtree(tmp_tls, ignore_errors=True)


if __name__ == "__main__":
    main()

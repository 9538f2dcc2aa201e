"""Tests of the TAB simulator: shapes against the real fixtures, the status clock,
routing and errors, every fault kind on the wire, statistics, determinism and TLS.

Run: python3 -m unittest discover -s test/tabsim -v
What does not live here: tests of racing_sched itself.
"""

import gzip
import http.client
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import zlib
from email.utils import parsedate_to_datetime

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import ctl  # noqa: E402
import tabsim  # noqa: E402

# the real TAB responses: $TAB_FIXTURES, a copy in the repository, or the shared folder
FIXTURES = next((d for d in (os.environ.get("TAB_FIXTURES", ""),
                             os.path.join(HERE, "..", "fixtures", "tab"),
                             "/work/shared/fixtures/tab") if d and os.path.isdir(d)), "")
BASE = "/v1/tab-info-service/racing"
DATE = "2026-11-28"
ISO_RX = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def fixture(name):
    for f in os.listdir(FIXTURES) if FIXTURES else ():
        if f.startswith(name):
            with open(os.path.join(FIXTURES, f), encoding="utf-8") as fh:
                return json.load(fh)
    raise unittest.SkipTest("fixture %s not found" % name)


def start(args, tmp):
    """Start tabsim with args; returns (process, http port, https port or None)."""
    pf = os.path.join(tmp, "port.%d" % len(os.listdir(tmp)))
    extra = ["--port", "0", "--port-file", pf]
    tls_pf = None
    if "--tls-port" in args:
        tls_pf = pf + ".tls"
        extra += ["--tls-port-file", tls_pf]
    with open(pf + ".log", "w") as log:
        p = subprocess.Popen([sys.executable, os.path.join(HERE, "tabsim.py")] + extra + args,
                             stdout=log, stderr=subprocess.STDOUT)
    port = ctl.wait_port(pf, 20)
    tls = ctl.wait_port(tls_pf, 20) if tls_pf else None
    return p, port, tls


def jtype(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)):
        return "number"
    return {str: "string", list: "list", dict: "object"}[type(v)]


def merged(objs):
    """key -> set of JSON types seen across objs (null included)."""
    out = {}
    for o in objs:
        for k, v in o.items():
            out.setdefault(k, set()).add(jtype(v))
    return out


class Base(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="tabsim-test-")
        cls.tls_dir = os.path.join(cls.tmp, "tls")
        cls.anchor = tabsim.iso(int(time.time()) + 1000)
        cls.args = ["--date", DATE, "--seed", "7", "--anchor", cls.anchor, "--meetings", "8",
                    "--hide", "1", "--dead-heats", "2", "--abandoned", "2", "--late-scratchings", "3"]
        cls.proc, cls.port, cls.tls_port = start(
            cls.args + ["--tls-port", "0", "--tls-dir", cls.tls_dir], cls.tmp)
        cls.ctl = ctl.Ctl(cls.port)
        cls.day = cls.ctl.day()
        cls.races = [r for m in cls.day["meetings"] for r in m["races"]]

    @classmethod
    def tearDownClass(cls):
        cls.proc.kill()
        cls.proc.wait()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        self.ctl.clear_faults()
        self.ctl.clock(offset=0)

    def get(self, path, jur="NSW", port=None, timeout=10):
        """GET below the base path; returns (status, headers, body bytes)."""
        if jur:
            path += ("&" if "?" in path else "?") + "jurisdiction=" + jur
        c = http.client.HTTPConnection("127.0.0.1", port or self.port, timeout=timeout)
        try:
            c.request("GET", BASE + path)
            r = c.getresponse()
            return r.status, r, r.read()
        finally:
            c.close()

    def doc(self, path, jur="NSW"):
        st, _, body = self.get(path, jur)
        self.assertEqual(st, 200, body[:200])
        return json.loads(body)

    def race_at(self, race, offset):
        """The race document with the clock at its start + offset seconds."""
        self.ctl.clock(now=tabsim.iso(race["start"] + offset))
        return self.doc(race["path"])

    def pick(self, **kw):
        for r in self.races:
            if all(r[k] == v for k, v in kw.items()):
                return r
        self.fail("no race with %s" % kw)


class TestShapes(Base):
    def assert_like(self, real, sim, where, optional=()):
        """Every key of the real documents is in the simulated ones, with the same types."""
        r, s = merged(real), merged(sim)
        missing = set(r) - set(s) - set(optional)
        self.assertFalse(missing, "%s lacks %s" % (where, sorted(missing)))
        for k, types in r.items():
            if k in s:
                want = types - {"null"}
                self.assertTrue(want <= s[k], "%s.%s: real %s, simulated %s" % (where, k, types, s[k]))

    def test_meetings_list(self):
        real = fixture("meetings_")["meetings"]
        sim = [m for m in self.doc("/dates/%s/meetings" % DATE)["meetings"] if "venueMnemonic" in m]
        self.assertTrue(sim)
        self.assert_like(real, sim, "meeting")
        self.assert_like([x["sellCode"] for x in real], [x["sellCode"] for x in sim], "sellCode")
        rp = [p for m in real for p in m["exoticPools"]]
        sp = [p for m in sim for p in m["exoticPools"]]
        self.assert_like(rp, sp, "exoticPool", optional=("multiLegApproximatesAvailable",))
        self.assert_like([l for p in rp for l in p["legs"]], [l for p in sp for l in p["legs"]], "leg")
        rs = [r for m in real for r in m["races"]]
        ss = [r for m in sim for r in m["races"]]
        self.assert_like(rs, ss, "race stub")
        self.assert_like([x for r in rs for x in r["scratchings"]],
                         [x for r in ss for x in r["scratchings"]], "scratching")
        for r in ss:
            self.assertRegex(r["raceStartTime"], ISO_RX)
            self.assertIsInstance(r["raceNumber"], int)

    def test_race_document(self):
        real = fixture("race_")
        # a day in the past: every race resulted, late scratchings shown
        p, port, _ = start(["--date", DATE, "--seed", "7", "--anchor", "2026-01-01T00:00:00Z"],
                           self.tmp)
        try:
            day = ctl.Ctl(port).day()
            sim = []
            for m in day["meetings"]:
                for r in m["races"]:
                    st, _, body = self.get(r["path"], port=port)
                    self.assertEqual(st, 200)
                    sim.append(json.loads(body))
                    self.assertIn(sim[-1]["raceStatus"], ("Paying", "Abandoned"))
        finally:
            p.kill()
            p.wait()
        ordinary = [d for d in sim if "venueMnemonic" in d["meeting"]]
        self.assert_like([real], ordinary, "race", optional=("results",))
        self.assert_like([real["meeting"]], [d["meeting"] for d in ordinary], "race.meeting")
        runners = [x for d in ordinary for x in d["runners"]]
        self.assert_like(real["runners"], runners, "runner")
        self.assert_like([x["fixedOdds"] for x in real["runners"]],
                         [x["fixedOdds"] for x in runners if "fixedOdds" in x], "fixedOdds")
        self.assert_like([x["parimutuel"] for x in real["runners"]],
                         [x["parimutuel"] for x in runners if "parimutuel" in x], "parimutuel")
        self.assert_like(real["pools"], [p for d in ordinary for p in d["pools"]], "pool")
        # documented variations appear somewhere in a day
        riders = set(x["riderDriverName"] for d in sim for x in d["runners"])
        self.assertIn(None, riders)
        self.assertIn("NOT NOTIFIED", riders)
        self.assertTrue(any("fixedOdds" not in x for x in runners))
        self.assertTrue(any(isinstance(x["fixedOdds"]["returnWin"], int) for x in runners if "fixedOdds" in x))
        self.assertTrue(any(isinstance(x["fixedOdds"]["returnWin"], float) for x in runners if "fixedOdds" in x))
        late = [x for x in runners if x.get("fixedOdds", {}).get("bettingStatus") == "LateScratched"]
        self.assertTrue(late)
        for x in late:
            for k in ("scratchedTime", "winDeduction", "placeDeduction"):
                self.assertIn(k, x["fixedOdds"])
        divs = [d for x in sim for d in x.get("dividends", [])]
        self.assertEqual(set(d["wageringProduct"] for d in divs) >= {
            "Win", "Place", "Quinella", "Exacta", "Trifecta", "FirstFour", "Duet"}, True)
        self.assertTrue(any(pd["selections"] == "SPLIT" for d in divs for pd in d["poolDividends"]))
        for d in divs:
            self.assertEqual(set(d), {"wageringProduct", "poolStatusCode", "poolDividends"})
            for pd in d["poolDividends"]:
                self.assertIsInstance(pd["amount"], float)
        for d in sim:  # Place has one pool dividend per placed runner
            if d["raceStatus"] == "Paying" and d["numberOfPlaces"]:
                place = [x for x in d["dividends"] if x["wageringProduct"] == "Place"][0]
                placed = [n for i, g in enumerate(d["results"]) for n in g if i < d["numberOfPlaces"]]
                self.assertEqual([pd["selections"] for pd in place["poolDividends"]], [[n] for n in placed])

    def test_next_to_go(self):
        real = fixture("next-to-go")["races"]
        sim = self.doc("/next-to-go/races")["races"]
        self.assertTrue(sim)
        self.assert_like(real, sim, "next-to-go race")
        self.assert_like([r["meeting"] for r in real],
                         [r["meeting"] for r in sim if "venueMnemonic" in r["meeting"]], "ntg meeting")
        starts = [r["raceStartTime"] for r in sim]
        self.assertEqual(starts, sorted(starts))

    def test_meeting_races(self):
        m = [m for m in self.day["meetings"] if not m["fixedOddsOnly"]][0]
        d = self.doc("/dates/%s/meetings/%s/%s/races" % (DATE, m["raceType"], m["venueMnemonic"]))
        self.assertEqual([r["raceNumber"] for r in d["races"]], [r["raceNumber"] for r in m["races"]])
        self.assertEqual(d["races"][0]["meeting"]["venueMnemonic"], m["venueMnemonic"])

    def test_same_venue_two_types(self):
        seen = {}
        for m in self.day["meetings"]:
            if m["venueMnemonic"]:
                seen.setdefault(m["venueMnemonic"], set()).add(m["raceType"])
        self.assertTrue(any(len(t) > 1 for t in seen.values()))


class TestRouting(Base):
    def test_errors(self):
        st, r, body = self.get("/dates/%s/meetings" % DATE, jur=None)
        self.assertEqual(st, 400)
        self.assertEqual(json.loads(body)["error"]["code"], "INVALID_SYNTAX_ERROR")
        self.assertEqual(self.get("/dates/%s/meetings" % DATE, jur="XX")[0], 400)
        for path in ("/nothing", "/dates/%s/meetings/R/NOPE/races/1" % DATE,
                     "/dates/%s/meetings/R/NOPE/races" % DATE, "/dates/2020-01-01/meetings/R/RAN/races/1"):
            st, r, body = self.get(path)
            self.assertEqual(st, 404, path)
            self.assertEqual(json.loads(body)["error"]["code"], "RESOURCE_NOT_FOUND_ERROR")
            self.assertEqual(r.getheader("Content-Type"), "application/json")
        m = [m for m in self.day["meetings"] if not m["fixedOddsOnly"]][0]
        self.assertEqual(self.get("/dates/%s/meetings/%s/%s/races/99" % (
            DATE, m["raceType"], m["venueMnemonic"]))[0], 404)
        self.assertEqual(self.doc("/dates/2020-01-01/meetings"), {"meetings": []})

    def test_fixed_odds_only(self):
        foo = [m for m in self.day["meetings"] if m["fixedOddsOnly"]]
        self.assertTrue(foo)
        lst = {m["meetingName"]: m for m in self.doc("/dates/%s/meetings" % DATE, jur="VIC")["meetings"]}
        for m in foo:
            doc = lst.get(m["meetingName"])
            if doc is None:  # hidden from this jurisdiction
                continue
            self.assertIs(doc["fixedOddsOnly"], True)
            for k in ("venueMnemonic", "sellCode", "prizeMoney", "exoticPools"):
                self.assertNotIn(k, doc)
            nums = [r["raceNumber"] for r in doc["races"]]
            self.assertGreater(len(nums), len(set(nums)), "race numbers repeat")
            self.assertTrue(all("matchName" in r and "meetingDate" in r for r in doc["races"]))
            self.assertGreater(len(set(r["meetingDate"] for r in doc["races"])), 1)
        r = foo[0]["races"][0]
        self.assertIn("fixedOdds=true", r["path"])
        d = self.doc(r["path"])
        self.assertEqual(d["matchName"], r["matchName"])
        self.assertNotIn("venueMnemonic", d["meeting"])
        self.assertFalse(d["hasParimutuel"])
        self.assertTrue(all("parimutuel" not in x for x in d["runners"]))
        self.assertEqual(self.get(r["path"].replace("fixedOdds=true", "fixedOdds=false"))[0], 404)
        ordinary = self.pick(matchName=None)
        self.assertEqual(self.get(ordinary["path"] + "?fixedOdds=true")[0], 404)

    def test_hidden_meetings(self):
        def key(m):
            return m["raceType"], m["meetingName"]
        allm = set(key(m) for m in self.day["meetings"])
        union = set()
        for j in tabsim.JURISDICTIONS:
            names = set(key(m) for m in self.doc("/dates/%s/meetings" % DATE, jur=j)["meetings"])
            hidden = set(key(m) for m in self.day["meetings"] if j in m["hiddenFrom"])
            self.assertEqual(len(hidden), 1)
            self.assertEqual(names, allm - hidden)
            union |= names
        self.assertEqual(union, allm)


class TestClock(Base):
    def test_statuses_advance(self):
        r = self.pick(abandoned=False, deadHeat=False)
        self.assertEqual(self.doc(r["path"])["raceStatus"], "Normal")  # anchor in the future
        for off, want in ((-5, "Normal"), (3, "Closed"), (25, "Interim"), (45, "Paying")):
            d = self.race_at(r, off)
            self.assertEqual(d["raceStatus"], want, off)
            if want in ("Normal", "Closed"):
                self.assertEqual(d.get("results", []), [])
                self.assertNotIn("dividends", d)
            else:
                self.assertEqual(d["results"], r["results"])
            self.assertEqual("dividends" in d, want == "Paying")
        stubs = [x for j in tabsim.JURISDICTIONS
                 for m in self.doc("/dates/%s/meetings" % DATE, jur=j)["meetings"] for x in m["races"]
                 if x["raceStartTime"] == r["raceStartTime"] and x["raceNumber"] == r["raceNumber"]]
        self.assertEqual(stubs[0]["raceStatus"], "Paying")

    def test_abandoned_and_dead_heat(self):
        a = self.pick(abandoned=True)
        self.assertEqual(self.race_at(a, -1)["raceStatus"], "Normal")
        d = self.race_at(a, 100)
        self.assertEqual(d["raceStatus"], "Abandoned")
        self.assertEqual(d["results"], [])
        self.assertNotIn("dividends", d)
        dh = [r for r in self.races if r["deadHeat"]]
        self.assertEqual(len(dh), 2)
        for r in dh:
            d = self.race_at(r, 100)
            groups = d["results"]
            i = [len(g) for g in groups].index(2)
            self.assertEqual(groups[i + 1], [])
            win = [x for x in d["dividends"] if x["wageringProduct"] == "Win"][0]
            self.assertEqual(len(win["poolDividends"]), len(groups[0]))

    def test_late_scratching(self):
        r = [r for r in self.races if r["lateScratchings"]][0]
        ls = r["lateScratchings"][0]
        at = tabsim.parse_iso(ls["at"]) - r["start"]
        before = self.race_at(r, at - 2)
        x = [x for x in before["runners"] if x["runnerNumber"] == ls["runnerNumber"]][0]
        self.assertNotEqual(x["fixedOdds"]["bettingStatus"], "LateScratched")
        self.assertNotIn(ls["runnerNumber"], [s["runnerNumber"] for s in before["scratchings"]])
        after = self.race_at(r, at + 2)
        x = [x for x in after["runners"] if x["runnerNumber"] == ls["runnerNumber"]][0]
        self.assertEqual(x["fixedOdds"]["bettingStatus"], "LateScratched")
        self.assertEqual(x["fixedOdds"]["scratchedTime"], ls["at"])
        self.assertIn({"runnerNumber": ls["runnerNumber"], "runnerName": x["runnerName"],
                       "bettingStatus": "LateScratched"}, after["scratchings"])
        final = self.race_at(r, 100)
        self.assertNotIn(ls["runnerNumber"], [n for g in final["results"] for n in g])

    def test_odds_move(self):
        r = self.pick(hasFixedOdds=True, abandoned=False)
        a = self.doc(r["path"])
        b = self.doc(r["path"])
        pa = [x["fixedOdds"]["returnWin"] for x in a["runners"]]
        pb = [x["fixedOdds"]["returnWin"] for x in b["runners"]]
        self.assertNotEqual(pa, pb)

    def test_move(self):
        r = self.pick(abandoned=False)
        out = self.ctl.move(r["id"], delta=600)
        self.assertEqual(tabsim.parse_iso(out["raceStartTime"]), r["start"] + 600)
        self.ctl.clock(now=tabsim.iso(r["start"] + 100))
        d = self.doc(r["path"])
        self.assertEqual(d["raceStatus"], "Normal")
        self.assertEqual(d["raceStartTime"], out["raceStartTime"])
        self.ctl.move(r["id"], start=r["raceStartTime"])
        self.assertEqual(self.doc(r["path"])["raceStatus"], "Paying")

    def test_deterministic(self):
        p, port, _ = start(self.args, self.tmp)
        q, port2, _ = start(self.args[:3] + ["8"] + self.args[4:], self.tmp)
        try:
            def plan(port):
                d = ctl.Ctl(port).day()
                for m in d["meetings"]:
                    for r in m["races"]:
                        del r["requests"], r["status"]
                del d["now"]
                return d
            self.assertEqual(plan(port), plan(self.port))
            self.assertNotEqual(plan(port2), plan(self.port))
        finally:
            for x in (p, q):
                x.kill()
                x.wait()


class TestFaults(Base):
    """Each kind of the fault table, observed on the wire."""
    tested = set()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()

    def test_zz_every_kind_tested(self):
        self.assertEqual(set(tabsim.FAULTS) - TestFaults.tested, set())

    def fault(self, kind, params=None, path=None, **kw):
        TestFaults.tested.add(kind)
        self.race = self.pick(hasFixedOdds=True, abandoned=False, matchName=None)
        self.ctl.add_fault(kind, path=path or re.escape(self.race["path"]) + r"\?", params=params or {},
                           count=kw.get("count", 1), every=kw.get("every"))
        return self.race["path"]

    def raw(self, path, timeout=10):
        """Send a GET on a raw socket; return (bytes received, exception or None, seconds)."""
        s = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        t0 = time.monotonic()
        s.sendall(("GET %s%s?jurisdiction=NSW HTTP/1.1\r\nHost: x\r\n\r\n" % (BASE, path)).encode())
        data, err = b"", None
        try:
            while True:
                b = s.recv(65536)
                if not b:
                    break
                data += b
        except OSError as e:
            err = e
        s.close()
        return data, err, time.monotonic() - t0

    def test_status(self):
        p = self.fault("status", {"status": 503, "body": "busy", "content_type": "text/plain"})
        st, r, body = self.get(p)
        self.assertEqual((st, body, r.getheader("Content-Type")), (503, b"busy", "text/plain"))
        self.assertEqual(self.get(p)[0], 200, "count 1 applies once")

    def test_429(self):
        p = self.fault("429", {"retry_after": 7})
        st, r, _ = self.get(p)
        self.assertEqual((st, r.getheader("Retry-After")), (429, "7"))
        self.ctl.add_fault("429", path=re.escape(p), count=1, params={"retry_after": 30, "http_date": True})
        st, r, _ = self.get(p)
        when = parsedate_to_datetime(r.getheader("Retry-After")).timestamp()
        self.assertEqual(st, 429)
        self.assertAlmostEqual(when - time.time(), 30, delta=3)

    def test_delay_does_not_block(self):
        p = self.fault("delay", {"seconds": 1.0})
        out = {}
        t = threading.Thread(target=lambda: out.update(r=self.get(p), t=time.monotonic()))
        t0 = time.monotonic()
        t.start()
        time.sleep(0.1)  # let the delayed request reach the server first
        st = self.get("/next-to-go/races")[0]
        t1 = time.monotonic()
        t.join()
        self.assertEqual(st, 200)
        self.assertLess(t1, out["t"], "answered while the delayed request waits")
        self.assertGreaterEqual(self.ctl.stats()["inflight_max"], 2)
        self.assertGreaterEqual(out["t"] - t0, 1.0)
        self.assertEqual(out["r"][0], 200)
        self.ctl.add_fault("delay", path=re.escape(p), count=1,
                           params={"seconds": 0.2, "then": "status", "then_params": {"status": 502}})
        self.assertEqual(self.get(p)[0], 502)

    def test_trickle(self):
        p = self.fault("trickle", {"chunk": 4000, "interval": 0.1})
        t0 = time.monotonic()
        st, r, body = self.get(p)
        self.assertGreaterEqual(time.monotonic() - t0, 0.1 * (len(body) // 4000))
        self.assertEqual(st, 200)
        json.loads(body)

    def test_reset(self):
        p = self.fault("reset", {"bytes": 1000})
        data, err, _ = self.raw(p)
        self.assertIsInstance(err, ConnectionResetError)
        self.assertTrue(data == b"" or data.startswith(b"HTTP/1.1 200"))
        p = self.fault("reset", {"bytes": 1000})
        with self.assertRaises((ConnectionResetError, http.client.IncompleteRead)):
            self.get(p)

    def test_close(self):
        p = self.fault("close")
        data, err, _ = self.raw(p)
        self.assertEqual((data, err), (b"", None))
        p = self.fault("close", {"rst": True})
        data, err, _ = self.raw(p)
        self.assertEqual(data, b"")
        self.assertIsInstance(err, ConnectionResetError)

    def test_truncate(self):
        p = self.fault("truncate", {"fraction": 0.3})
        st, r, body = self.get(p)
        self.assertEqual(int(r.getheader("Content-Length")), len(body))
        with self.assertRaises(ValueError):
            json.loads(body)

    def test_invalid_utf8(self):
        p = self.fault("invalid_utf8")
        st, r, body = self.get(p)
        self.assertEqual(st, 200)
        with self.assertRaises(UnicodeDecodeError):
            body.decode("utf-8")

    def test_wrong_types(self):
        p = self.fault("wrong_types")
        d = json.loads(self.get(p)[2])
        self.assertIsInstance(d["raceNumber"], str)
        self.assertIsInstance(d["runners"], dict)
        self.assertIsInstance(d["raceStartTime"], int)
        self.fault("wrong_types", {"fields": ["meetings"]}, path="/meetings\\?")
        d = json.loads(self.get("/dates/%s/meetings" % DATE)[2])
        self.assertIsInstance(d["meetings"], dict)

    def test_missing_fields(self):
        self.fault("missing_fields", path="/meetings\\?")
        d = json.loads(self.get("/dates/%s/meetings" % DATE)[2])
        for r in d["meetings"][0]["races"]:
            self.assertNotIn("raceStartTime", r)
            self.assertNotIn("raceStatus", r)

    def test_oversize(self):
        for framing in ("length", "chunked", "close"):
            p = self.fault("oversize", {"mb": 2, "framing": framing})
            st, r, body = self.get(p)
            self.assertEqual(len(body), 2 << 20)
            self.assertEqual(r.getheader("Transfer-Encoding"), "chunked" if framing == "chunked" else None)
            self.assertEqual(r.getheader("Content-Length") is not None, framing == "length")
            self.assertEqual(json.loads(body)["meetings"], [])

    def test_gzip(self):
        self.fault("gzip", path="/meetings\\?")
        st, r, body = self.get("/dates/%s/meetings" % DATE)
        self.assertEqual(r.getheader("Content-Encoding"), "gzip")
        self.assertEqual(json.loads(gzip.decompress(body)), self.doc("/dates/%s/meetings" % DATE))

    def test_gzip_bomb(self):
        p = self.fault("gzip_bomb", {"mb": 64})
        st, r, body = self.get(p)
        self.assertEqual(r.getheader("Content-Encoding"), "gzip")
        self.assertLess(len(body), 1 << 20)
        self.assertEqual(len(zlib.decompress(body, 31)), (64 << 20) + len(b'{"meetings":[],"padding":""}'))

    def test_empty200(self):
        p = self.fault("empty200")
        st, r, body = self.get(p)
        self.assertEqual((st, body, r.getheader("Content-Length")), (200, b"", "0"))

    def test_html(self):
        p = self.fault("html")
        st, r, body = self.get(p)
        self.assertEqual(st, 403)
        self.assertTrue(r.getheader("Content-Type").startswith("text/html"))
        self.assertTrue(body.startswith(b"<!DOCTYPE html>"))
        p = self.fault("html", {"status": 200})
        self.assertEqual(self.get(p)[0], 200)

    def test_redirect(self):
        for loc in ("ftp://127.0.0.1/x", "file:///etc/passwd", "http://127.0.0.2:1/"):
            p = self.fault("redirect", {"location": loc, "status": 301})
            st, r, _ = self.get(p)
            self.assertEqual((st, r.getheader("Location")), (301, loc))
        p = self.fault("redirect")
        st, r, _ = self.get(p)
        self.assertEqual(st, 302)
        self.assertEqual(r.getheader("Location"),
                         "http://127.0.0.1:%d%s%s?jurisdiction=NSW" % (self.port, BASE, p))

    def test_deep_nesting(self):
        p = self.fault("deep_nesting", {"levels": 5000})
        body = self.get(p)[2]
        self.assertTrue(body.startswith(b'{"meetings":' + b"[" * 5000 + b"]"))
        self.assertEqual(body.count(b"["), 5000)

    def test_header_drip(self):
        p = self.fault("header_drip", {"interval": 0.05, "seconds": 0.6})
        data, err, secs = self.raw(p)
        self.assertTrue(data.startswith(b"HTTP/1.1 200 OK\r\n"), data[:40])
        self.assertGreater(secs, 0.5, "the headers took their time")
        head, _, body = data.partition(b"\r\n\r\n")
        self.assertGreater(len(head), 4096, "padding headers")
        self.assertEqual(json.loads(body)["raceNumber"], self.race["raceNumber"])

    def test_retype(self):
        p = self.fault("retype", {"path": ["runners", "*", "fixedOdds", "*"]}, count=3)
        doc = json.loads(self.get(p)[2])
        fo = doc["runners"][0]["fixedOdds"]
        self.assertIsInstance(fo["returnWin"], str)
        self.assertIsInstance(fo["bettingStatus"], dict)
        self.assertIsInstance(fo["isFavouriteWin"], str)
        self.assertIsInstance(doc["runners"][0]["runnerNumber"], int, "only the path")
        self.ctl.clear_faults()
        p = self.fault("retype", {"path": ["runners"]})
        self.assertIsInstance(json.loads(self.get(p)[2])["runners"], dict)
        p = self.fault("retype", {"path": []})
        self.assertIsInstance(json.loads(self.get(p)[2]), list)

    def test_nul_escape(self):
        p = self.fault("nul_escape")
        body = self.get(p)[2]
        self.assertIn(b"\\u0000", body)
        self.assertIn("\x00", json.loads(body)["runners"][0]["runnerName"])

    def test_nan(self):
        p = self.fault("nan")
        body = self.get(p)[2]
        for lit in (b"NaN", b"Infinity", b"1e400", b"1" + b"0" * 30):
            self.assertIn(lit, body)

    def test_duplicate_keys(self):
        p = self.fault("duplicate_keys")
        body = self.get(p)[2]
        self.assertTrue(body.startswith(b'{"raceNumber":-1,"raceNumber":'))
        pairs = json.loads(body, object_pairs_hook=lambda kv: kv)
        keys = [k for k, _ in pairs]
        self.assertEqual(keys.count("raceNumber"), 2)

    def test_runners_10000(self):
        p = self.fault("runners_10000")
        d = json.loads(self.get(p)[2])
        self.assertEqual([x["runnerNumber"] for x in d["runners"]], list(range(1, 10001)))

    def test_bad_race_numbers(self):
        self.fault("bad_race_numbers", path="/meetings\\?")
        d = json.loads(self.get("/dates/%s/meetings" % DATE)[2])
        nums = [r["raceNumber"] for r in d["meetings"][0]["races"]]
        self.assertEqual(nums[0], -1)
        self.assertEqual(nums[1], nums[2])
        p = self.fault("bad_race_numbers")
        d = json.loads(self.get(p)[2])
        self.assertEqual(d["raceNumber"], -1)

    def test_bad_dates(self):
        p = self.fault("bad_dates")
        d = json.loads(self.get(p)[2])
        with self.assertRaises(ValueError):
            tabsim.parse_iso(d["raceStartTime"])

    def test_naive_timestamps(self):
        p = self.fault("naive_timestamps")
        d = json.loads(self.get(p)[2])
        self.assertRegex(d["raceStartTime"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}$")
        p = self.fault("naive_timestamps", {"style": "+00:00"})
        d = json.loads(self.get(p)[2])
        self.assertTrue(d["raceStartTime"].endswith(".000+00:00"))

    def test_status_alias(self):
        p = self.fault("status_alias")
        self.assertEqual(json.loads(self.get(p)[2])["raceStatus"], "Open")
        p = self.fault("status_alias", {"map": {"Normal": "Suspended"}})
        self.assertEqual(json.loads(self.get(p)[2])["raceStatus"], "Suspended")

    def test_unknown_keys(self):
        p = self.fault("unknown_keys")
        self.ctl.clock(offset=self.race["start"] + 100 - time.time())  # resulted: dividends
        d = json.loads(self.get(p)[2])
        self.assertIn("zzUnknownKey", d)
        self.assertIn("zzUnknownKey", d["runners"][0]["fixedOdds"])
        self.assertIn("zzUnknownKey", d["dividends"][0])
        d = json.loads(self.get(p)[2])  # the day itself is unchanged
        self.assertNotIn("zzUnknownKey", d["dividends"][0])

    def test_nulls(self):
        p = self.fault("nulls")
        d = json.loads(self.get(p)[2])
        self.assertIsNone(d["results"])
        self.assertIsNone(d["runners"][0]["fixedOdds"])
        self.assertIsNone(d["meeting"]["trackCondition"])

    def test_header_conditions(self):
        """A bot shield: 403 HTML unless the User-Agent looks like a browser."""
        TestFaults.tested.add("html")
        self.ctl.add_fault("html", path="", unless_header={"User-Agent": "^Mozilla/"})
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        for ua, want in (("curl/7.88", 403), ("Mozilla/5.0 (X11)", 200)):
            c.request("GET", BASE + "/next-to-go/races?jurisdiction=NSW", headers={"User-Agent": ua})
            r = c.getresponse()
            r.read()
            self.assertEqual(r.status, want, ua)
        c.close()
        self.ctl.clear_faults()
        self.ctl.add_fault("status", path="", if_header={"Accept-Language": "en-AU"})
        self.assertEqual(self.get("/next-to-go/races")[0], 200)
        seen = self.ctl.requests()[-1]["headers"]
        self.assertNotIn("Accept-Language", seen)

    def test_empty_bearer(self):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        c.request("GET", BASE + "/next-to-go/races?jurisdiction=NSW", headers={"Authorization": "Bearer "})
        r = c.getresponse()
        self.assertEqual((r.status, json.loads(r.read())["error"]["code"]), (401, "UNAUTHORIZED"))
        c.close()

    def test_rules(self):
        with self.assertRaises(RuntimeError):
            self.ctl.add_fault("no_such_fault")
        self.ctl.add_fault("status", glob="*/next-to-go/*", every=2, count=2)
        got = [self.get("/next-to-go/races")[0] for _ in range(5)]
        self.assertEqual(got, [500, 200, 500, 200, 200])
        rules = self.ctl.faults()
        self.assertEqual((rules[0]["hits"], rules[0]["count"]), (2, 0))
        self.ctl.clear_faults()
        self.assertEqual(self.ctl.faults(), [])


class TestStats(Base):
    def settled_get(self, *args, **kwargs):
        """A GET, then wait until the server has counted it: a response can
        reach us before its handler thread records it."""
        result = self.get(*args, **kwargs)
        deadline = time.monotonic() + 5
        while self.ctl.stats()["inflight"] != 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        return result

    def test_counts(self):
        self.ctl.reset_stats()
        r = self.pick(matchName=None)
        for _ in range(3):
            self.settled_get("/dates/%s/meetings" % DATE)
        self.settled_get(r["path"])
        self.settled_get("/nothing")
        self.settled_get("/next-to-go/races", jur=None)
        self.ctl.add_fault("status", path="next-to-go", count=1, params={"status": 503})
        self.settled_get("/next-to-go/races")
        s = self.ctl.stats()
        self.assertEqual(s["total"]["requests"], 7)
        self.assertEqual((s["inflight"], s["inflight_max"]), (0, 1))
        self.assertEqual(s["by_template"]["meetings"]["count"], 3)
        self.assertEqual(s["by_template"]["race"]["count"], 1)
        self.assertEqual(s["by_template"]["next_to_go"]["status"], {"400": 1, "503": 1})
        self.assertEqual(s["by_status"], {"200": 4, "404": 1, "400": 1, "503": 1})
        self.assertEqual(s["by_path"][BASE + r["path"]]["count"], 1)
        self.assertEqual(s["by_fault"], {"status": 1})
        self.assertEqual(s["by_jurisdiction"], {"NSW": 5, "none": 2})
        e = s["by_template"]["meetings"]
        self.assertTrue(0 < e["min_ms"] <= e["max_ms"] <= e["total_ms"])
        self.assertEqual(len(self.ctl.requests()), 7)
        self.ctl.reset_stats()
        self.assertEqual(self.ctl.stats()["total"]["requests"], 0)

    def test_ctl_cli(self):
        out = subprocess.run([sys.executable, os.path.join(HERE, "ctl.py"), "--port", str(self.port),
                              "faults", "add", '{"path": "x-cli", "fault": "empty200"}'],
                             capture_output=True, check=True, text=True).stdout
        self.assertEqual(json.loads(out)["rules"][0]["fault"], "empty200")


class TestTLS(Base):
    def test_https_with_generated_ca(self):
        ca = os.path.join(self.tls_dir, "ca.pem")
        self.assertTrue(os.path.exists(ca))
        for host in ("127.0.0.1", "localhost"):
            ctx = ssl.create_default_context(cafile=ca)
            c = http.client.HTTPSConnection(host, self.tls_port, context=ctx, timeout=10)
            c.request("GET", BASE + "/dates/%s/meetings?jurisdiction=NSW" % DATE)
            r = c.getresponse()
            self.assertEqual(r.status, 200)
            self.assertTrue(json.loads(r.read())["meetings"])
            c.close()
        with self.assertRaises(ssl.SSLError):  # not trusted without the test CA
            c = http.client.HTTPSConnection("127.0.0.1", self.tls_port, timeout=10,
                                            context=ssl.create_default_context())
            c.request("GET", "/")
        # a fault on the TLS listener: reset mid-body
        self.ctl.add_fault("reset", path="/meetings\\?", count=1, params={"bytes": 100})
        c = http.client.HTTPSConnection("127.0.0.1", self.tls_port, timeout=10,
                                        context=ssl.create_default_context(cafile=ca))
        c.request("GET", BASE + "/dates/%s/meetings?jurisdiction=NSW" % DATE)
        with self.assertRaises((ConnectionResetError, http.client.IncompleteRead, ssl.SSLError)):
            c.getresponse().read()
        c.close()


if __name__ == "__main__":
    unittest.main()

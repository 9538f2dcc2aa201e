#!/usr/bin/env python3
"""Client of the TAB simulator's /_control/ API, for tests in any language.

What lives here: the Ctl class (importable from Python tests) and a small CLI that
prints JSON answers, e.g.
    ctl.py --port 18100 faults add '{"path": "/races/", "fault": "status", "count": 2}'
    ctl.py --port-file /tmp/p wait 10 && ctl.py --port-file /tmp/p stats
What does not: the simulator itself (tabsim.py).  Standard library only.
"""

import argparse
import http.client
import json
import socket
import sys
import time


class Ctl:
    def __init__(self, port, host="127.0.0.1", timeout=30):
        self.host, self.port, self.timeout = host, int(port), timeout

    def call(self, method, what, arg=None):
        """One control request; returns the decoded JSON answer, raises on HTTP errors."""
        c = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            body = None if arg is None else json.dumps(arg)
            hdrs = {"Content-Type": "application/json"} if body is not None else {}
            c.request(method, "/_control/" + what, body=body, headers=hdrs)
            r = c.getresponse()
            doc = json.loads(r.read() or b"null")
            if r.status != 200:
                raise RuntimeError("%s /_control/%s: %d %s" % (method, what, r.status, doc))
            return doc
        finally:
            c.close()

    def add_fault(self, fault, path=None, count=None, params=None, glob=None, every=None,
                  if_header=None, unless_header=None):
        rule = {"fault": fault}
        for k, v in (("path", path), ("glob", glob), ("count", count), ("params", params),
                     ("every", every), ("if_header", if_header), ("unless_header", unless_header)):
            if v is not None:
                rule[k] = v
        return self.call("POST", "faults", rule)["rules"]

    def faults(self):
        return self.call("GET", "faults")["rules"]

    def clear_faults(self):
        return self.call("DELETE", "faults")

    def stats(self):
        return self.call("GET", "stats")

    def reset_stats(self):
        return self.call("POST", "stats/reset")

    def day(self):
        return self.call("GET", "day")

    def requests(self):
        return self.call("GET", "requests")["requests"]

    def clock(self, **kw):
        """clock() reads; clock(offset=s), clock(advance=s) or clock(now=iso) sets."""
        return self.call("POST", "clock", kw) if kw else self.call("GET", "clock")

    def move(self, race, delta=None, start=None):
        arg = {"race": race}
        if delta is not None:
            arg["delta"] = delta
        if start is not None:
            arg["start"] = start
        return self.call("POST", "move", arg)

    def shutdown(self):
        return self.call("POST", "shutdown")


def wait_port(port_file, timeout):
    """Wait until the port file exists and the port accepts connections; return the port."""
    end = time.monotonic() + timeout
    while True:
        try:
            with open(port_file) as f:
                port = int(f.read().strip())
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return port
        except (OSError, ValueError):
            if time.monotonic() > end:
                raise SystemExit("tabsim did not come up within %gs" % timeout)
            time.sleep(0.05)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--port", type=int)
    g.add_argument("--port-file")
    ap.add_argument("command", help="faults | stats | day | requests | clock | move | shutdown | wait")
    ap.add_argument("args", nargs="*")
    a = ap.parse_args(argv)
    if a.command == "wait":
        print(wait_port(a.port_file, float(a.args[0]) if a.args else 10))
        return
    port = a.port
    if port is None:
        with open(a.port_file) as f:
            port = int(f.read().strip())
    c = Ctl(port)
    cmd, args = a.command, a.args
    sub = args[0] if args else None
    if cmd == "faults" and sub in (None, "list"):
        out = c.call("GET", "faults")
    elif cmd == "faults" and sub == "add":
        rules = [json.loads(x) for x in args[1:]]
        out = c.call("POST", "faults", rules)
    elif cmd == "faults" and sub == "clear":
        out = c.clear_faults()
    elif cmd == "faults" and sub == "del":
        out = c.call("DELETE", "faults/%d" % int(args[1]))
    elif cmd == "stats" and sub is None:
        out = c.stats()
    elif cmd == "stats" and sub == "reset":
        out = c.reset_stats()
    elif cmd in ("day", "requests") and sub is None:
        out = c.call("GET", cmd)
    elif cmd == "clock":
        out = c.call("POST", "clock", json.loads(sub)) if sub else c.clock()
    elif cmd == "move" and sub:
        out = c.call("POST", "move", json.loads(sub))
    elif cmd == "shutdown":
        out = c.shutdown()
    else:
        ap.error("unknown command: %s %s" % (cmd, " ".join(args)))
    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    try:
        main()
    except (RuntimeError, OSError) as e:
        sys.exit("ctl: %s" % e)

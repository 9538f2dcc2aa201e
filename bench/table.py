#!/usr/bin/env python3
"""The table of `make bench`: reads the summary and the results.tsv copies
that bench/run left in LOGDIR, prints one table (benchmark, measure, ours,
baseline, ratio ours/baseline, unit, baseline name) and writes it, with the
machine's description from BENCH_* environment variables, to RESULTS_MD.
It measures nothing itself.

usage: table.py LOGDIR RESULTS_MD
"""
import os
import sys


def number(text):
    try:
        return float(text)
    except ValueError:
        return None


def ratio(ours, baseline):
    a, b = number(ours), number(baseline)
    if a is None or b is None or b == 0:
        return "-"
    r = a / b
    if abs(r) >= 100:
        return f"{r:.0f}"
    if abs(r) >= 10:
        return f"{r:.1f}"
    if abs(r) >= 1:
        return f"{r:.2f}"
    return f"{r:.2g}"


def read_rows(logdir, summary):
    rows = []
    for name, state, _secs in summary:
        if state not in ("ok", "earlier"):
            rows.append([name, state.upper(), "", "", "", "", ""])
            continue
        label = name + " (earlier)" if state == "earlier" else name
        with open(os.path.join(logdir, name + ".tsv"), encoding="utf-8") as f:
            for line in f:
                fields = line.rstrip("\n").split("\t")
                if len(fields) != 5:
                    continue
                measure, ours, baseline, unit, base_name = fields
                rows.append([label, measure, ours, baseline, ratio(ours, baseline),
                             unit, base_name])
    return rows


HEAD = ["benchmark", "measure", "ours", "baseline", "ratio", "unit", "baseline name"]


def text_table(rows):
    widths = [max(len(r[i]) for r in [HEAD] + rows) for i in range(len(HEAD))]
    right = {2, 3, 4}
    out = []
    for r in [HEAD] + rows:
        cells = [c.rjust(w) if i in right else c.ljust(w)
                 for i, (c, w) in enumerate(zip(r, widths))]
        out.append("  ".join(cells).rstrip())
        if r is HEAD:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def md_table(rows):
    out = ["| " + " | ".join(HEAD) + " |",
           "|---|---|---:|---:|---:|---|---|"]
    for r in rows:
        out.append("| " + " | ".join(c.replace("|", "\\|") for c in r) + " |")
    return "\n".join(out)


def main():
    logdir, results_md = sys.argv[1], sys.argv[2]
    with open(os.path.join(logdir, "summary"), encoding="utf-8") as f:
        summary = [line.rstrip("\n").split("\t") for line in f if line.strip()]
    rows = read_rows(logdir, summary)
    print()
    print(text_table(rows))
    env = os.environ.get
    selected = env("BENCH_SELECTED", "")
    failed = [(n, s) for n, s, _ in summary if s not in ("ok", "earlier")]
    earlier = [n for n, s, _ in summary if s == "earlier"]
    lines = [
        "# Benchmark results",
        "",
        f"Measured {env('BENCH_DATE', '?')} by `make bench`"
        + (f" with `BENCH={selected}`" if selected else "") + ", on:",
        "",
        f"- CPU: {env('BENCH_CPU', '?')}, {env('BENCH_CORES', '?')}",
        f"- RAM: {env('BENCH_RAM', '?')}",
        f"- kernel: {env('BENCH_KERNEL', '?')}",
        f"- Debian {env('BENCH_DEBIAN', '?')}",
        f"- {env('BENCH_PG', '?')}",
        "",
        "Each figure is measured on a temporary cluster by the benchmark named in",
        "the first column; the baseline is measured in the same run, on the same",
        "machine. Ratio is ours / baseline (below 1: ours is smaller). The details",
        "of each figure, and what its baseline is, are in `bench/NAME/RESULTS.md`.",
        "",
        "The machine these figures come from is shared (other builds and tests run",
        "beside the benchmarks), so they are noisy: compare orders of magnitude, and",
        "run again before trusting a difference of a few tens of percent.",
        "",
        md_table(rows),
        "",
    ]
    if earlier:
        lines += ["Rows marked (earlier) were not measured by this run: they are the",
                  "figures of " + ", ".join(f"`bench/{n}/results.tsv`" for n in earlier)
                  + " as found in the tree.", ""]
    if failed:
        lines += ["Failed: " + ", ".join(f"bench/{n} ({s})" for n, s in failed) + ".", ""]
    lines += [
        "Run time: " + ", ".join(f"{n} {int(s) // 60} min {int(s) % 60} s"
                                 for n, st, s in summary if st != "earlier") + ".",
        "",
        "## Reproduce",
        "",
        "    make bench                       # every benchmark, this file",
        "    make bench BENCH=precision,idle  # some of them",
        "    bench/precision/run              # one, alone (writes its RESULTS.md and results.tsv)",
        "",
        "As root or as a user who may `sudo`: the benchmarks install the packages",
        "of `test/packages` and `bench/packages` they miss, build and install the",
        "extension with `PG_CONFIG` (default `pg_config`), and run their clusters",
        "as the `postgres` user. Each `bench/NAME/run` says at its top what it",
        "measures and which environment variables size it.",
        "",
    ]
    with open(results_md, "w", encoding="utf-8") as f:
        f.write("\n".join(lines))


if __name__ == "__main__":
    main()

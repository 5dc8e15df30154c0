#!/usr/bin/env python3
"""Benchmark of provledger_report: one UTC day of a simulator ledger.

  python3 bench/report_day.py [--receipts 5M] [--build build] [--workdir /tmp/provledger-bench-report]
                              [--baseline OTHER_provledger_report]

Loads `--receipts` receipts (seed 7, two regional ledgers, 200 tenants) spread over
exactly one UTC day (the day before yesterday, --hours 24 ending at its midnight) with
provledger_sim into a throwaway PostgreSQL (tests/support/pgtmp, loopback), then runs
`provledger_report coverage` for that day under /usr/bin/time -v `--runs` times (3; the
first run also warms PostgreSQL's cache; all are reported, with the best and median wall
time) and prints one JSON line: wall and CPU seconds, PostgreSQL's CPU seconds during each
run (pg_cpu_s: user + system of the server processes the postmaster reaped meanwhile, i.e.
the report's three backends), peak RSS (KiB), operations and tenants in the report, and the load average (/proc/loadavg) before each run (the machine
is shared: quote it next to every figure). Targets (issue 12): < 30 s wall, and
memory bounded by tenants x kinds plus the coverage window (not by the day's operations):
compare the peak RSS of --receipts 1M and 5M. Not a test: figures go to bench/RESULTS.md.
Every process it starts is stopped by pid; PostgreSQL's directory is removed at exit.
The generation runs at `nice -n 10` (the machine is shared), the report runs at normal
priority; CPU seconds (user + system of provledger_report) are reported beside wall time
because wall time on a loaded machine includes waiting for a core.
With --baseline, that other binary runs on the same data right before each run (its
figures under "baseline"), and the two JSON reports must be byte-identical: the ratio of
the two, measured minutes apart, is what to quote on a shared machine.
"""
import argparse
import datetime
import json
import os
import re
import shutil
import subprocess
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
PGTMP = os.path.join(ROOT, "tests", "support", "pgtmp")


def count(text):
    m = re.fullmatch(r"(\d+)([kKmM]?)", text)
    if not m:
        raise argparse.ArgumentTypeError("a count such as 100000, 500k or 5M")
    return int(m.group(1)) * {"": 1, "k": 1000, "K": 1000, "m": 10**6, "M": 10**6}[m.group(2)]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--receipts", type=count, default=5_000_000)
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--workdir", default="/tmp/provledger-bench-report")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--baseline", help="another provledger_report binary (e.g. a copy of main's) run on the same "
                    "data right before each run of --build's; its figures go under \"baseline\" and its JSON "
                    "report must be byte-identical (the ratio is meaningful on a noisy machine)")
    args = ap.parse_args()
    sim = os.path.join(args.build, "tools", "provledger_sim")
    report = os.path.join(args.build, "src", "report", "provledger_report")
    for exe in (sim, report):
        if not os.access(exe, os.X_OK):
            sys.exit(f"not built: {exe}")
    shutil.rmtree(args.workdir, ignore_errors=True)
    os.makedirs(args.workdir)
    pgdir = os.path.join(args.workdir, "pg")
    os.makedirs(pgdir)
    out = subprocess.run([PGTMP, "start", pgdir], check=True, capture_output=True, text=True).stdout
    port = int(re.search(r"PORT=(\d+)", out).group(1))
    try:
        dsn = lambda db: f"host=127.0.0.1 port={port} dbname={db} user=postgres"  # noqa: E731
        for db in ("ledger_eu", "ledger_us", "traces"):
            subprocess.run(["psql", "-X", "-q", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-d",
                            "postgres", "-c", f"CREATE DATABASE {db}"], check=True)
        subprocess.run([sim, "init", "--ledger-dsn", dsn("ledger_eu"), "--ledger-dsn", dsn("ledger_us"),
                        "--traces-dsn", dsn("traces")], check=True, capture_output=True)
        day = datetime.datetime.now(datetime.timezone.utc).date() - datetime.timedelta(days=2)
        end = int(datetime.datetime(day.year, day.month, day.day, tzinfo=datetime.timezone.utc).timestamp()) + 86400
        t0 = time.monotonic()
        load = subprocess.run(["nice", "-n", "10", sim, "load", "--ledger", "eu-west=" + dsn("ledger_eu"), "--ledger",
                               "us-east=" + dsn("ledger_us"), "--traces-dsn", dsn("traces"),
                               "--receipts", str(args.receipts), "--hours", "24", "--end-ts", str(end),
                               "--seed", "7", "--truncate"], check=True, capture_output=True, text=True)
        load_s = time.monotonic() - t0
        # As autovacuum would have done on a day-old ledger (hint bits, visibility map): so
        # the first run does not pay for it and no autovacuum worker runs during the runs
        # (its CPU would be counted in pg_cpu_s).
        for db in ("ledger_eu", "ledger_us", "traces"):
            subprocess.run(["psql", "-X", "-q", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-d", db,
                            "-c", "VACUUM"], check=True)
        loaded = json.loads(load.stdout.strip().splitlines()[-1])
        config = os.path.join(args.workdir, "provledger.yml")
        with open(config, "w") as f:
            f.write("coverage: {window: 1h, grace: 2m}\nledgers:\n"
                    f"  - {{name: eu, region: eu-west, dsn: \"{dsn('ledger_eu')}\", statement_timeout: 5m}}\n"
                    f"  - {{name: us, region: us-east, dsn: \"{dsn('ledger_us')}\", statement_timeout: 5m}}\n"
                    f"trace_stores:\n  - {{name: traces, kind: postgres, dsn: \"{dsn('traces')}\", statement_timeout: 5m}}\n")
        postmaster = int(open(os.path.join(pgdir, "data", "postmaster.pid")).readline())

        def server_cpu_s():
            # CPU (user + system) of the server's processes that have exited and been
            # reaped by the postmaster: the report's backends end when it disconnects.
            fields = open(f"/proc/{postmaster}/stat").read().rsplit(")", 1)[1].split()
            return (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")   # cutime, cstime

        def run_once(binary, outdir):
            load_avg = " ".join(open("/proc/loadavg").read().split()[:3])
            pg_before = server_cpu_s()
            r = subprocess.run(["/usr/bin/time", "-v", binary, "coverage", f"--config.file={config}",
                                f"--date={day.isoformat()}", f"--output-dir={outdir}", "--progress=never"],
                               capture_output=True, text=True)
            if r.returncode != 0:
                sys.exit(f"provledger_report failed:\n{r.stderr}")
            wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", r.stderr).group(1)
            parts = [float(p) for p in wall.split(":")]
            secs = parts[-1] + 60 * parts[-2] + (3600 * parts[-3] if len(parts) > 2 else 0)
            rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", r.stderr).group(1))
            cpu = float(re.search(r"User time \(seconds\): (\S+)", r.stderr).group(1)) + \
                float(re.search(r"System time \(seconds\): (\S+)", r.stderr).group(1))
            time.sleep(0.5)   # the backends exit after the report closes its connections
            pg_cpu = server_cpu_s() - pg_before
            path = os.path.join(outdir, "coverage-" + day.isoformat().replace("-", "") + ".json")
            raw = open(path, "rb").read()
            rep = json.loads(raw)
            return raw, {"load_avg": load_avg, "wall_s": round(secs, 2), "cpu_s": round(cpu, 2), "pg_cpu_s": round(pg_cpu, 2), "max_rss_kib": rss,
                         "operations": rep["totals"]["operations"], "tenants": rep["totals"]["tenants"]}

        runs, base_runs = [], []
        for i in range(args.runs):
            if args.baseline:
                base_raw, base = run_once(args.baseline, os.path.join(args.workdir, f"base{i}"))
                base_runs.append(base)
            raw, run = run_once(report, os.path.join(args.workdir, f"out{i}"))
            if args.baseline and raw != base_raw:
                sys.exit(f"run {i}: the report differs from the baseline's")
            runs.append(run)

        def summary(rs):
            walls = sorted(r["wall_s"] for r in rs)
            cpus = sorted(r["cpu_s"] for r in rs)
            pg_cpus = sorted(r["pg_cpu_s"] for r in rs)
            return {"best_wall_s": walls[0], "median_wall_s": walls[len(walls) // 2], "best_cpu_s": cpus[0],
                    "median_cpu_s": cpus[len(cpus) // 2], "median_pg_cpu_s": pg_cpus[len(pg_cpus) // 2], "max_rss_kib": max(r["max_rss_kib"] for r in rs), "runs": rs}
        out = {"receipts": args.receipts, "spans": loaded.get("spans"), "date": day.isoformat(),
               "load_s": round(load_s, 1), **summary(runs)}
        if args.baseline:
            out["baseline"] = {"binary": args.baseline, **summary(base_runs)}
        print(json.dumps(out))
    finally:
        subprocess.run([PGTMP, "stop", pgdir], capture_output=True)
        shutil.rmtree(args.workdir, ignore_errors=True)


if __name__ == "__main__":
    main()

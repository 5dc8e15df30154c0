#!/usr/bin/env python3
"""bench/migrate.py: provledger_migrate apply on a simulator ledger while the
exporter polls (issue 10's benchmark). Reports rows/s of the migration and
the exporter's poll duration and /metrics scrape latency before and during
the run. Throwaway PostgreSQL on loopback (tests/support/pgtmp).

  python3 bench/migrate.py [--receipts 1000000] [--build build] [--batch-size 2000]

Prints one JSON object. Figures go to bench/RESULTS.md.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--receipts", type=int, default=1000000)
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--batch-size", type=int, default=2000)
    a = ap.parse_args()
    os.environ["PROVLEDGER_BUILD_ROOT"] = os.path.abspath(a.build)
    from harness import SIM, Exporter, Postgres, ledger_config  # noqa: E402 (needs the env above)
    migrate_bin = os.path.join(os.path.abspath(a.build), "src", "migrate", "provledger_migrate")

    pg = Postgres()
    for db in ("ledger_eu", "traces"):
        pg.psql("postgres", f"CREATE DATABASE {db}")
    ledgers = ["--ledger", f"eu-west={pg.dsn('ledger_eu')}"]
    traces = ["--traces-dsn", pg.dsn("traces")]
    subprocess.run([SIM, "init", *ledgers, *traces], check=True, capture_output=True)
    end = int(time.time()) - 3600
    t = time.monotonic()
    subprocess.run([SIM, "load", *ledgers, *traces, "--receipts", str(a.receipts), "--tenants", "200", "--hours",
                    "24", "--seed", "3", "--end-ts", str(end)], check=True, capture_output=True)
    load_s = time.monotonic() - t
    v1 = int(pg.psql("ledger_eu", "SELECT count(*) FROM receipts WHERE version = 1")[0][0])

    exp = Exporter(ledger_config(pg, [("eu", "eu-west", "ledger_eu")], "traces", window="10m", grace="5s",
                                 poll="1s")).start()
    sim = subprocess.Popen([SIM, "run", *ledgers, *traces, "--rate", "50", "--tenants", "200", "--seed", "4",
                            "--duration", "0"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    samples = {"before": [], "during": []}
    phase = ["before"]
    stop = threading.Event()

    def sampler():
        prev = None
        while not stop.is_set():
            t0 = time.monotonic()
            m = exp.metrics()
            scrape = time.monotonic() - t0
            n = m.sum("provledger_exporter_poll_duration_seconds_count", source="eu")
            s = m.sum("provledger_exporter_poll_duration_seconds_sum", source="eu")
            if prev and n > prev[0]:
                samples[phase[0]].append(("poll", (s - prev[1]) / (n - prev[0])))
            prev = (n, s)
            samples[phase[0]].append(("scrape", scrape))
            time.sleep(1)

    th = threading.Thread(target=sampler, daemon=True)
    time.sleep(5)
    th.start()
    time.sleep(20)
    phase[0] = "during"
    t = time.monotonic()
    r = subprocess.run([migrate_bin, "apply", "--dsn", pg.dsn("ledger_eu"), "--min-age", "30m", "--batch-size",
                        str(a.batch_size), "--progress", "json"], capture_output=True, text=True)
    wall = time.monotonic() - t
    stop.set()
    th.join()
    sim.terminate()
    sim.wait()
    exp.stop()
    if r.returncode != 0:
        sys.exit("apply failed: " + r.stderr)
    done = [json.loads(x) for x in r.stdout.splitlines() if x.startswith('{"event":"apply"')][0]

    def stats(kind, ph):
        xs = sorted(v for k, v in samples[ph] if k == kind)
        if not xs:
            return None
        return {"n": len(xs), "median_ms": round(statistics.median(xs) * 1000, 2),
                "max_ms": round(xs[-1] * 1000, 2)}

    print(json.dumps({"receipts": a.receipts, "v1_rows": v1, "load_s": round(load_s, 1),
                      "converted": done["converted"], "apply_s": done["elapsed_s"],
                      "rows_per_s": done["converted_per_s"], "wall_s": round(wall, 1), "batch_size": a.batch_size,
                      "poll_before": stats("poll", "before"), "poll_during": stats("poll", "during"),
                      "scrape_before": stats("scrape", "before"), "scrape_during": stats("scrape", "during")}))


if __name__ == "__main__":
    main()

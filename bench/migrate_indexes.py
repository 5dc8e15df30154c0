#!/usr/bin/env python3
"""bench/migrate_indexes.py: what each index of `receipts` costs provledger_migrate
apply (issue 10's "what costs per row on the server"). A diagnostic, not a
product option: the tool never changes a ledger's indexes.

  python3 bench/migrate_indexes.py [--receipts 200000] [--build build] [--shared-buffers 1GB]

For each variant a fresh simulator ledger (its own database on one throwaway
PostgreSQL, pgtmp, no exporter, no live traffic) is loaded, changed as the
variant says, and migrated with `apply --jobs 1 --min-age 30m`; printed per
variant: rows converted, apply wall s, the CPU s of the apply's server
backend (sampled from /proc, bench/migrate.py's BackendCpu) and rows per
backend CPU s. Variants: all indexes (config/schema/ledger.sql); without
each secondary index in turn (receipts_created_idx is the apply's keyset and
stays); without all four; and `fillfactor 70` set before the load (room on
every page, so the update can be HOT: no new index entries). One JSON line
per variant.
"""
import argparse
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
sys.path.insert(0, os.path.join(ROOT, "bench"))

SECONDARY = ["receipts_op_idx", "receipts_anchored_idx", "receipts_pending_idx", "receipts_anchor_idx"]
VARIANTS = [("all indexes", [], None)] + [("without " + i, [i], None) for i in SECONDARY] + \
    [("without all four", SECONDARY, None), ("all indexes, fillfactor 70", [], 70)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--receipts", type=int, default=200000)
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--shared-buffers", default="1GB")
    a = ap.parse_args()
    os.environ["PROVLEDGER_BUILD_ROOT"] = os.path.abspath(a.build)
    os.environ["PGTMP_SETTINGS"] = "shared_buffers = " + a.shared_buffers
    from harness import SIM, Postgres  # noqa: E402
    from migrate import BackendCpu  # noqa: E402 (bench/migrate.py)
    migrate_bin = os.path.join(os.path.abspath(a.build), "src", "migrate", "provledger_migrate")
    pg = Postgres()
    end = int(time.time()) - 3600
    for k, (name, drop, fillfactor) in enumerate(VARIANTS):
        db = f"ledger_{k}"
        pg.psql("postgres", f"CREATE DATABASE {db}")
        pg.psql("postgres", f"CREATE DATABASE traces_{k}")
        ledgers = ["--ledger", f"eu-west={pg.dsn(db)}"]
        traces = ["--traces-dsn", pg.dsn(f"traces_{k}")]
        subprocess.run([SIM, "init", *ledgers, *traces], check=True, capture_output=True)
        if fillfactor:
            pg.psql(db, f"ALTER TABLE receipts SET (fillfactor = {fillfactor})")
        subprocess.run([SIM, "load", *ledgers, *traces, "--receipts", str(a.receipts), "--tenants", "200", "--hours",
                        "24", "--seed", "3", "--end-ts", str(end)], check=True, capture_output=True)
        for i in drop:
            pg.psql(db, f"DROP INDEX {i}")
        pg.psql(db, "VACUUM ANALYZE receipts")
        cpu = BackendCpu(pg)
        cpu.start()
        load_before = os.getloadavg()[0]
        t = time.monotonic()
        proc = subprocess.Popen([migrate_bin, "apply", "--dsn", pg.dsn(db), "--min-age", "30m", "--progress",
                                 "json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        cpu.client_pid = proc.pid
        out, err = proc.communicate()
        r = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
        wall = time.monotonic() - t
        cpu.done.set()
        cpu.join()
        if r.returncode != 0:
            sys.exit("apply failed: " + r.stderr)
        done = [json.loads(x) for x in r.stdout.splitlines() if x.startswith('{"event":"apply"')][0]
        backend, _ = cpu.totals()
        print(json.dumps({"variant": name, "receipts": a.receipts, "shared_buffers": a.shared_buffers,
                          "converted": done["converted"], "wall_s": round(wall, 1), "rows_per_s": done["converted_per_s"],
                          "backend_cpu_s": backend, "rows_per_backend_cpu_s": round(done["converted"] / backend)
                          if backend > 0 else None, "load_avg_before": load_before,
                          "load_avg_after": os.getloadavg()[0]}), flush=True)
        pg.psql("postgres", f"DROP DATABASE {db}")
        pg.psql("postgres", f"DROP DATABASE traces_{k}")


if __name__ == "__main__":
    main()

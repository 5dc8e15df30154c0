#!/usr/bin/env python3
"""End to end: provledger_migrate on a real PostgreSQL with simulator data,
while the simulator writes live traffic and the exporter polls.

- errors a user can make: wrong DSN, missing table, no permission, a second
  apply while one holds the advisory lock;
- plan writes nothing and lists the unconvertible rows; apply converts every
  convertible v1 row older than --min-age (in batches, JSON progress lines),
  is idempotent (a second apply converts nothing), archives every original;
- apply --jobs 2 (two connections on disjoint keyset ranges), interrupted by
  SIGINT: one cursor per range is saved; the next apply resumes each range
  exactly where it stopped (an unconvertible row behind the first range's
  cursor is not read again) and converts exactly the rest;
  verify passes; the exporter's decode errors are unchanged and its coverage
  equals that of a fresh exporter started after the migration;
- rollback restores every original body, hash and column byte for byte.
"""
import json
import os
import signal
import subprocess
import time

from harness import BUILD, SIM, Exporter, Postgres, ledger_config, log, run_test, wait_until

MIGRATE = os.environ.get("PROVLEDGER_MIGRATE_BIN") or os.path.join(BUILD, "src", "migrate", "provledger_migrate")


def migrate(*args, check=None):
    r = subprocess.run([MIGRATE, *args], capture_output=True, text=True, timeout=600)
    log("migrate", args[0], "->", r.returncode, r.stderr.strip()[-300:])
    if check is not None:
        assert r.returncode == check, (args, r.returncode, r.stdout[-2000:], r.stderr[-2000:])
    return r


def events(stdout):
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


def snapshot(pg, db):
    """Every receipt's stored state (what rollback must restore)."""
    return pg.psql(db, "SELECT receipt_id, version, content_hash, md5(body::text), region, policy_version, kid "
                       "FROM receipts ORDER BY receipt_id")


def test_migrate():
    pg = Postgres()
    for db in ("ledger_eu", "traces"):
        pg.psql("postgres", f"CREATE DATABASE {db}")
    ledgers = ["--ledger", f"eu-west={pg.dsn('ledger_eu')}"]
    traces = ["--traces-dsn", pg.dsn("traces")]
    subprocess.run([SIM, "init", *ledgers, *traces], check=True, capture_output=True)
    # History ending 20 minutes ago: all of it older than --min-age 15m.
    end = int(time.time()) - 20 * 60
    out = subprocess.run([SIM, "load", *ledgers, *traces, "--receipts", "12000", "--tenants", "12", "--hours", "1",
                          "--seed", "21", "--end-ts", str(end)], check=True, capture_output=True, text=True)
    log("loaded:", out.stdout.strip()[-200:])
    dsn = pg.dsn("ledger_eu")
    # Two v1 receipts that cannot become v2 (their bodies name another
    # tenant): one before all of the history (the first row of the first
    # keyset range: its first batch reads it), one near its end; and a bad
    # row the exporter counts as a decode error (recent: the exporter reads
    # its coverage window; --min-age keeps the migration out of it).
    pg.psql("ledger_eu", "INSERT INTO receipts(receipt_id,tenant_id,op_id,region,policy_version,kid,version,body,"
                         "content_hash,created_at) VALUES "
                         "('zz-unconvertible','tenant-0001','op-u1','eu-west','p','k',1,'{\"tenant\":\"other\"}','h1',"
                         f"to_timestamp({end - 600})),"
                         "('zz-unconvertible-early','tenant-0001','op-u0','eu-west','p','k',1,'{\"tenant\":\"x\"}',"
                         f"'h0',to_timestamp({end - 2 * 3600})),"
                         "('zz-bad','tenant-0001','op-u2','eu-west','p','k',2,'{\"schema\":\"x\"}','h2',"
                         "now() - interval '1 minute')")
    v1_total = int(pg.psql("ledger_eu", "SELECT count(*) FROM receipts WHERE version = 1")[0][0])
    assert v1_total > 2000, v1_total

    # Errors a user can make.
    r = migrate("plan", "--dsn", f"host=127.0.0.1 port={pg.port} dbname=nosuchdb user=postgres", check=3)
    assert "cannot connect" in r.stderr and "nosuchdb" in r.stderr, r.stderr
    r = migrate("plan", "--dsn", dsn, "--table", "nosuch", check=3)
    assert "table nosuch does not exist" in r.stderr, r.stderr
    pg.psql("ledger_eu", "CREATE ROLE reader LOGIN; GRANT SELECT ON receipts TO reader")
    r = migrate("apply", "--dsn", pg.dsn("ledger_eu", user="reader"), check=3)
    assert 'role "reader" may not SELECT and UPDATE table receipts' in r.stderr, r.stderr
    r = migrate("plan", "--dsn", dsn, "--batch-size", "0", check=2)
    assert "--batch-size wants an integer >= 1" in r.stderr, r.stderr

    # plan: counts, lists the unconvertible row, writes nothing.
    before = snapshot(pg, "ledger_eu")
    r = migrate("plan", "--dsn", dsn, "--min-age", "15m", check=0)
    ev = events(r.stdout)
    plan = [e for e in ev if e["event"] == "plan"][0]
    assert plan["v1_rows"] == v1_total, plan
    assert plan["unconvertible"] == 2 and plan["convertible"] == v1_total - 2, plan
    bad = [e for e in ev if e["event"] == "unconvertible"]
    assert [e["receipt_id"] for e in bad] == ["zz-unconvertible-early", "zz-unconvertible"], bad
    assert all(e["code"] == "convert" for e in bad), bad
    assert snapshot(pg, "ledger_eu") == before, "plan wrote something"
    assert pg.psql("ledger_eu", "SELECT to_regclass('receipts_v1_archive') IS NULL")[0][0] == "t"

    # The state table as an apply before --jobs made it (no range_end): apply adds the column.
    pg.psql("ledger_eu", "CREATE TABLE provledger_migrate_state (table_name text PRIMARY KEY, cursor text NOT NULL, "
                         "updated_at timestamptz NOT NULL DEFAULT now())")

    # The exporter polls and the simulator writes live traffic (young rows).
    cfg = ledger_config(pg, [("eu", "eu-west", "ledger_eu")], "traces", window="10m", grace="5s")
    exp = Exporter(cfg).start()
    sim = subprocess.Popen([SIM, "run", *ledgers, *traces, "--rate", "30", "--tenants", "12", "--seed", "22",
                            "--duration", "0"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: exp.metrics().sum("provledger_exporter_source_up") == 2, what="sources up")
        wait_until(lambda: exp.metrics().sum("provledger_exporter_poll_errors_total", kind="decode") >= 1,
                   timeout=60, what="the bad row read")
        time.sleep(3)
        decode_before = exp.metrics().sum("provledger_exporter_poll_errors_total", kind="decode")

        # A second apply while one holds the lock: refused, clearly.
        holder = subprocess.Popen(["psql", "-X", "-q", "-h", "127.0.0.1", "-p", str(pg.port), "-U", "postgres",
                                   "-d", "ledger_eu", "-c",
                                   "SELECT pg_advisory_lock(hashtext('provledger_migrate receipts')), pg_sleep(30)"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_until(lambda: pg.psql("ledger_eu", "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                                                    "AND granted")[0][0] == "1", what="lock holder")
            r = migrate("apply", "--dsn", dsn, check=3)
            assert "another provledger_migrate apply or rollback is running on receipts" in r.stderr, r.stderr
        finally:
            pg.psql("ledger_eu", "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory'")
            holder.wait()
            wait_until(lambda: pg.psql("ledger_eu", "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")
                       [0][0] == "0", what="lock released")

        # apply on 2 connections, stopped by SIGINT after a first batch
        # (throttled so that it is still running): every finished batch is
        # committed with its archive rows and its range's keyset cursor; exit 4.
        p = subprocess.Popen([MIGRATE, "apply", "--dsn", dsn, "--min-age", "15m", "--batch-size", "500",
                              "--rows-per-second", "1000", "--jobs", "2", "--progress", "json"],
                             stdout=subprocess.PIPE, text=True)
        out = ""
        while not out.endswith("\n") or not out.splitlines()[-1].startswith('{"event":"progress"'):
            line = p.stdout.readline()
            assert line, out
            out += line
        p.send_signal(signal.SIGINT)
        out += p.stdout.read()
        p.wait(timeout=120)
        assert p.returncode == 4, (p.returncode, out)
        intr = [e for e in events(out) if e["event"] == "interrupted"][0]
        log("interrupted:", intr)
        assert 0 < intr["converted"] < v1_total - 2, intr
        # The first range's first batch read the early unconvertible row.
        assert [e["receipt_id"] for e in events(out) if e["event"] == "unconvertible"] == \
            ["zz-unconvertible-early"], out
        assert pg.psql("ledger_eu", "SELECT count(*) FROM receipts_v1_archive")[0][0] == str(intr["converted"])
        assert pg.psql("ledger_eu", "SELECT count(*) FROM receipts r JOIN receipts_v1_archive a USING (receipt_id) "
                                    "WHERE r.version = 2")[0][0] == str(intr["converted"])
        state = pg.psql("ledger_eu", "SELECT table_name, cursor <> '', range_end IS NULL FROM "
                                     "provledger_migrate_state ORDER BY table_name")
        # Range 0 ends at the split point, range 1 runs to the last row.
        assert [row[0] for row in state] == ["receipts #0", "receipts #1"] and state[0][2] == "f" and \
            state[1][2] == "t", state
        assert state[0][1] == "t", state   # range 0 has a cursor: its first batch committed

        # apply again: resumes every range at its cursor and converts the rest
        # (commits without waiting for the WAL flush: resumable, so safe).
        r = migrate("apply", "--dsn", dsn, "--min-age", "15m", "--batch-size", "500", "--synchronous-commit", "off",
                    "--jobs", "2", "--progress", "json", check=0)
        ev = events(r.stdout)
        done = [e for e in ev if e["event"] == "apply"][0]
        log("apply:", done)
        assert done["resumed"] is True, done
        assert done["jobs"] == 2 and done["ranges"] == 2, done
        assert intr["converted"] + done["converted"] == v1_total - 2, (intr, done)
        assert pg.psql("ledger_eu", "SELECT count(*) FROM provledger_migrate_state")[0][0] == "0"
        # Only the late unconvertible row: the early one is behind range 0's cursor.
        assert done["unconvertible"] == 1, done
        assert [e["receipt_id"] for e in ev if e["event"] == "unconvertible"] == ["zz-unconvertible"], ev
        assert len({e["total"] for e in ev if e["event"] == "progress"}) == 1, "one progress stream, one total"
        assert any(e["event"] == "progress" for e in ev), "no JSON progress lines"
        # Live rows are young: the legacy share written since is still v1.
        assert done["v1_remaining"] >= 1, done
        archived = int(pg.psql("ledger_eu", "SELECT count(*) FROM receipts_v1_archive")[0][0])
        assert archived == v1_total - 2, archived

        # Idempotent: nothing left to convert in the history.
        r = migrate("apply", "--dsn", dsn, "--min-age", "15m", "--progress", "json", check=0)
        again = [e for e in events(r.stdout) if e["event"] == "apply"][0]
        assert again["converted"] == 0, again

        r = migrate("verify", "--dsn", dsn, "--progress", "json")
        ver = [e for e in events(r.stdout) if e["event"] == "verify"][0]
        # zz-bad (written as a broken v2 row on purpose) is the only problem.
        probs = [e for e in events(r.stdout) if e["event"] == "problem"]
        assert [p["receipt_id"] for p in probs] == ["zz-bad"], probs
        assert ver["migrated"] == v1_total - 2 and r.returncode == 1, (ver, r.returncode)

        time.sleep(3)
        decode_after = exp.metrics().sum("provledger_exporter_poll_errors_total", kind="decode")
        assert decode_after == decode_before, (decode_before, decode_after)
    finally:
        sim.terminate()
        sim.wait()

    # The exporter that polled through the migration and a fresh one agree.
    time.sleep(8)
    fresh = Exporter(cfg).start()
    wait_until(lambda: fresh.metrics().sum("provledger_exporter_source_up") == 2, what="fresh exporter up")
    time.sleep(10)
    a = {tuple(sorted(ls.items())): v for ls, v in exp.metrics().select("attest_coverage_pct")}
    b = {tuple(sorted(ls.items())): v for ls, v in fresh.metrics().select("attest_coverage_pct")}
    assert a and a == b, (a, b)
    assert fresh.metrics().sum("provledger_exporter_poll_errors_total", kind="decode") == decode_before
    fresh.stop()
    exp.stop()

    # rollback restores every original; the live rows were never touched.
    r = migrate("rollback", "--dsn", dsn, "--progress", "json", check=0)
    rb = [e for e in events(r.stdout) if e["event"] == "rollback"][0]
    assert rb["restored"] == v1_total - 2 and rb["kept"] == 0, rb
    after = {row[0]: row for row in snapshot(pg, "ledger_eu")}
    for row in before:
        assert after[row[0]] == row, (row, after.get(row[0]))
    assert pg.psql("ledger_eu", "SELECT count(*) FROM receipts_v1_archive")[0][0] == "0"


if __name__ == "__main__":
    run_test(test_migrate)

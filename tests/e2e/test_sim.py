#!/usr/bin/env python3
"""End to end on simulator data: the built exporter scraped over HTTP while the
simulator writes live traffic. Checks the seed's metric contract (names,
labels, types, buckets), promtool on the exporter-health families, gzip and
headers, bad rows counted not fatal, SIGHUP reload (bad config keeps the old
one, good config applies), the landing page, and a clean SIGTERM.
"""
import gzip
import os
import re
import signal
import subprocess
import time

from harness import SIM, Exporter, Postgres, ledger_config, log, parse_exposition, run_test, wait_until

BUCKETS = ["5", "10", "15", "20", "30", "50", "100", "250", "500", "+Inf"]


def families(text):
    """{family name: [lines]} in exposition order, with its HELP/TYPE lines."""
    out, current = {}, None
    for line in text.splitlines():
        if line.startswith("# HELP ") or line.startswith("# TYPE "):
            current = line.split(" ")[2]
        out.setdefault(current, []).append(line)
    return out


def promtool_check(text):
    r = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True)
    return r.returncode, (r.stdout + r.stderr).strip()


def test_simulated_ledger():
    pg = Postgres()
    for db in ("ledger_eu", "ledger_us", "traces"):
        pg.psql("postgres", f"CREATE DATABASE {db}")
    ledgers = ["--ledger", f"eu-west={pg.dsn('ledger_eu')}", "--ledger", f"us-east={pg.dsn('ledger_us')}"]
    traces = ["--traces-dsn", pg.dsn("traces")]
    subprocess.run([SIM, "init", *ledgers, *traces], check=True, capture_output=True)
    flags = os.path.join(pg.dir + "-flags.spec")
    out = subprocess.run([SIM, "load", *ledgers, *traces, "--receipts", "20000", "--tenants", "20", "--hours", "1",
                          "--seed", "7", "--flags-file", flags], check=True, capture_output=True, text=True)
    log("loaded:", out.stdout.strip()[-300:])

    cfg = ledger_config(pg, [("eu", "eu-west", "ledger_eu"), ("us", "us-east", "ledger_us")], "traces",
                        flags_file=flags, window="10m", grace="5s")
    exp = Exporter(cfg).start()
    control = os.path.join(exp.workdir, "control")
    with open(control, "w") as f:
        f.write("divergence_rate=0.05\nmissing_rate=0.05\n")
    sim = subprocess.Popen([SIM, "run", *ledgers, *traces, "--rate", "40", "--tenants", "20", "--seed", "8",
                            "--duration", "0", "--flags-file", flags, "--control-file", control,
                            "--ramp-interval", "5s"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: exp.metrics().sum("provledger_exporter_source_up") == 4, what="4 sources up")
        wait_until(lambda: len(exp.metrics().select("attest_coverage_pct")) > 0, timeout=60, what="coverage")
        m1 = exp.metrics()
        time.sleep(4)

        # Headers and gzip: both bodies are the same exposition.
        status, headers, body = exp.get("/metrics")
        assert status == 200
        assert headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8", headers
        status, gz_headers, gz_body = exp.get("/metrics", {"Accept-Encoding": "gzip"})
        assert gz_headers.get("Content-Encoding") == "gzip", gz_headers
        assert parse_exposition(gzip.decompress(gz_body).decode()).types == parse_exposition(body.decode()).types
        text = body.decode()
        m2 = parse_exposition(text)

        # The seed's contract: names, types, labels, buckets.
        want_types = {"attest_coverage_pct": "gauge", "attest_divergence_count": "counter",
                      "attest_ops_settled_total": "counter", "ledger_anchor_latency_ms": "histogram",
                      "anchor_queue_depth": "gauge", "proofs_last_ts": "gauge", "flag_ramp_pct": "gauge"}
        for name, typ in want_types.items():
            assert m2.types.get(name) == typ, (name, m2.types.get(name))
        label_sets = {"attest_coverage_pct": {"tenant"}, "attest_divergence_count": {"tenant"},
                      "attest_ops_settled_total": {"tenant", "outcome"}, "ledger_anchor_latency_ms_count":
                      {"region", "tenant"}, "anchor_queue_depth": {"region"}, "proofs_last_ts": {"region"},
                      "flag_ramp_pct": {"tenant", "feature"}}
        for name, labels in label_sets.items():
            samples = m2.select(name)
            assert samples, f"no samples of {name}"
            for ls, _ in samples:
                assert set(ls) == labels, (name, ls)
        for ls, _ in m2.select("attest_coverage_pct"):
            v = m2.get("attest_coverage_pct", **ls)
            assert 0 <= v <= 100, v
        outcomes = {ls["outcome"] for ls, _ in m2.select("attest_ops_settled_total")}
        assert outcomes == {"attested", "missing", "divergent"}, outcomes
        one = m2.select("ledger_anchor_latency_ms_count")[0][0]
        les = [ls["le"] for ls, _ in m2.select("ledger_anchor_latency_ms_bucket", **one)]
        assert sorted(les, key=lambda x: float(x)) == sorted(BUCKETS, key=lambda x: float(x)), les
        inf = m2.get("ledger_anchor_latency_ms_bucket", le="+Inf", **one)
        assert inf == m2.get("ledger_anchor_latency_ms_count", **one)
        regions = {ls["region"] for ls, _ in m2.select("anchor_queue_depth")}
        assert regions == {"eu-west", "us-east"}, regions
        # Numbers move: the simulator keeps writing.
        assert m2.sum("attest_ops_settled_total") > m1.sum("attest_ops_settled_total")
        assert m2.sum("ledger_anchor_latency_ms_count") > m1.sum("ledger_anchor_latency_ms_count")
        assert m2.sum("attest_divergence_count") > 0
        assert m2.get("provledger_exporter_build_info", version=m2.select("provledger_exporter_build_info")[0][0]
                      ["version"], revision=m2.select("provledger_exporter_build_info")[0][0]["revision"]) == 1

        # promtool lints the exporter-health families clean (the seed's business
        # names predate the naming rules: ms units, counter without _total).
        fams = families(text)
        health = "\n".join(line for name, lines in fams.items()
                           if name and (name.startswith("provledger_exporter_") or name.startswith("process_"))
                           for line in lines) + "\n"
        for must in ("provledger_exporter_source_up", "provledger_exporter_poll_duration_seconds",
                     "provledger_exporter_poll_errors_total", "provledger_exporter_rows_read_total",
                     "provledger_exporter_last_poll_success_timestamp_seconds", "provledger_exporter_tenants",
                     "provledger_exporter_tenants_dropped_total", "process_cpu_seconds_total",
                     "process_resident_memory_bytes", "process_open_fds", "process_start_time_seconds"):
            assert must in fams, must
        # The reference schema has the keyset indexes: every stream query checked at
        # connect, none unindexed.
        plans = {(ls["source"], ls["query"]): v for ls, v in m2.select("provledger_exporter_query_plan_unindexed")}
        assert {q for _, q in plans} == {"receipts", "anchored", "spans"}, plans
        assert all(v == 0 for v in plans.values()), plans
        rc, msg = promtool_check(health)
        assert rc == 0 and msg == "", f"promtool check metrics: rc={rc} {msg}"
        rc, _ = promtool_check(text)   # whole exposition parses (lint findings on seed names are expected)
        assert "error while linting" not in _, _

        # Bad rows: counted as decode errors, the exporter keeps going.
        decode_before = exp.metrics().sum("provledger_exporter_poll_errors_total", kind="decode")
        long_tenant = "t" * 10000
        pg.psql("ledger_eu", "INSERT INTO receipts(receipt_id,tenant_id,op_id,region,policy_version,kid,version,body,"
                             "content_hash) VALUES "
                             "('bad-1','acme','op-b1','eu-west','p','k',1,'[1,2]','h'),"
                             "('bad-2','acme','op-b2','eu-west','p','k',2,'{\"schema\":\"provledger.receipt/v2\"}','h'),"
                             f"('bad-3','{long_tenant}','op-b3','eu-west','p','k',1,'{{}}','h')")
        pg.psql("traces", "INSERT INTO spans(trace_id,span_id,tenant_id,op_id,name,start_time,end_time) VALUES "
                          "('bt','bs',NULL,'op-b4','x',now(),now())")
        wait_until(lambda: exp.metrics().sum("provledger_exporter_poll_errors_total", kind="decode")
                   >= decode_before + 4, timeout=20, what="4 decode errors")
        assert exp.proc.poll() is None
        assert long_tenant not in exp.scrape()

        # SIGHUP with a broken config: logged, the old one keeps running.
        good = open(exp.config).read()
        exp.write_config(good + "\nbogus_key: 1\n")
        exp.signal(signal.SIGHUP)
        wait_until(lambda: "previous one keeps running" in exp.log_text(), timeout=10, what="reload refusal")
        assert re.search(r"provledger\.yml:\d+:\d+: ", exp.log_text()), "config error without file:line:column"
        settled = exp.metrics().sum("attest_ops_settled_total")
        wait_until(lambda: exp.metrics().sum("attest_ops_settled_total") > settled, timeout=30,
                   what="still polling after refused reload")
        # SIGHUP changing only a connection setting: the engine and the cursors
        # are kept, so the coverage series never disappear.
        exp.write_config(good.replace("statement_timeout: 5s", "statement_timeout: 6s"))
        exp.signal(signal.SIGHUP)
        wait_until(lambda: exp.log_text().count("configuration reloaded") == 1, timeout=20, what="reload 1")
        assert "cursors_kept=3" in exp.log_text(), "cursors not carried over a connection-only reload"
        assert exp.metrics().select("attest_coverage_pct"), "coverage vanished after a reload"
        # SIGHUP with a valid change to the computation: applied, counters carried over.
        before = exp.metrics()
        exp.write_config(good + "tenants:\n  max: 3\n")
        exp.signal(signal.SIGHUP)
        wait_until(lambda: exp.log_text().count("configuration reloaded") == 2, timeout=20, what="reload 2")
        wait_until(lambda: exp.metrics().get("provledger_exporter_tenants") == 3, timeout=20, what="cap applied")
        after = exp.metrics()
        assert after.get("provledger_exporter_tenants_dropped_total") > 0
        assert after.sum("provledger_exporter_rows_read_total") >= before.sum("provledger_exporter_rows_read_total")

        # Landing page: sources and the coverage table.
        status, _, page = exp.get("/")
        page = page.decode()
        assert status == 200 and "ledger" in page.lower() and "/metrics" in page
        for tenant, _ in after.select("attest_coverage_pct"):
            assert tenant["tenant"] in page
        assert exp.stop() == 0, "exporter did not exit 0 on SIGTERM"
        assert "stopped" in exp.log_text()
    finally:
        sim.send_signal(signal.SIGTERM)
        sim.wait(timeout=20)


if __name__ == "__main__":
    run_test(test_simulated_ledger)

#!/usr/bin/env python3
"""provledger_report end to end on a real PostgreSQL: exact numbers on hand-built
edge cases (day boundaries, receipts later than grace, several spans per operation,
a tenant without receipts, divergent copies across ledgers, anchor latency), the
catalog, drift against a hand-written previous report, recommendations from
flags.spec, determinism, the JSON schema, the git commit, agreement with the
exporter's attest_ops_settled_total on the same rows, and every error path.
Every expected value is computed from the rows this test writes.
"""
import datetime
import json
import os
import subprocess
import tempfile

import jsonschema

from harness import (BUILD, ROOT, Exporter, Postgres, ledger_config, log, run_test, wait_until)

REPORT = os.environ.get("PROVLEDGER_REPORT_BIN") or os.path.join(BUILD, "src", "report", "provledger_report")
SCHEMA_FILE = os.path.join(ROOT, "schema", "coverage-report.schema.json")
S = 1_000_000
DAY = 86400 * S
V2 = ('{{"schema":"provledger.receipt/v2","receipt_id":"{rid}","tenant_id":"{t}","op_id":"{op}",'
      '"policy_version":"p-1","kid":"kid-1","region":"{region}"}}')


def ts(us):
    return f"timestamptz 'epoch' + {us} * interval '1 microsecond'"


class Rows:
    """Writes spans and receipts at exact times."""

    def __init__(self, pg):
        self.pg = pg
        self.n = 0

    def span(self, tenant, op, start, name="checkout.create", attested=None):
        self.n += 1
        h = "NULL" if attested is None else f"'{attested}'"
        self.pg.psql("traces", "INSERT INTO spans(trace_id,span_id,tenant_id,op_id,name,start_time,end_time,"
                               f"attested_hash) VALUES ('t{self.n}','s{self.n}','{tenant}','{op}','{name}',"
                               f"{ts(start)},{ts(start + 20_000)},{h})")

    def receipt(self, tenant, op, created, content, rid=None, ledger="ledger_eu", region="eu-west",
                anchored=None):
        self.n += 1
        rid = rid or f"r{self.n}"
        body = V2.format(rid=rid, t=tenant, op=op, region=region)
        if anchored is not None:
            aid = f"{region}:a{self.n}"
            self.pg.psql(ledger, f"INSERT INTO anchors(anchor_id,region,anchor_hash,receipt_count) "
                                 f"VALUES ('{aid}','{region}','h',1)")
            extra_cols, extra_vals = ",anchor_id,anchored_at", f",'{aid}',{ts(anchored)}"
        else:
            extra_cols, extra_vals = "", ""
        self.pg.psql(ledger, "INSERT INTO receipts(receipt_id,tenant_id,op_id,region,policy_version,kid,version,"
                             f"body,content_hash,created_at{extra_cols}) VALUES ('{rid}','{tenant}','{op}',"
                             f"'{region}','p-1','kid-1',2,'{body}','{content}',{ts(created)}{extra_vals})")

    def op(self, tenant, op, start, outcome, name="checkout.create", delay=S):
        """One operation: a span with attested hash h-op and, unless missing, a receipt `delay` later."""
        self.span(tenant, op, start, name=name, attested=f"h-{op}")
        if outcome != "missing":
            self.receipt(tenant, op, start + delay, f"h-{op}" if outcome == "attested" else f"x-{op}")


def upper_ms(us):
    """The latency sketch's bucket top for a value in µs, in ms (exact below 128 µs)."""
    if us < 128:
        return us / 1000
    shift = us.bit_length() - 8
    return ((((us >> shift) + 1) << shift) - 1) / 1000


def run_report(config, outdir, date, *extra, check=None):
    r = subprocess.run([REPORT, "coverage", f"--config.file={config}", f"--date={date}",
                        f"--output-dir={outdir}", "--progress=never", *extra],
                       capture_output=True, text=True, timeout=300)
    if check is not None and r.returncode != check:
        raise AssertionError(f"exit {r.returncode}, expected {check}\nstdout:{r.stdout}\nstderr:{r.stderr}")
    return r


def load(outdir, date):
    with open(os.path.join(outdir, "coverage-" + date.replace("-", "") + ".json")) as f:
        return json.load(f)


def tenant(report, name):
    for t in report["tenants"]:
        if t["tenant"] == name:
            return t
    raise AssertionError(f"tenant {name} not in report: {[t['tenant'] for t in report['tenants']]}")


def test_report():
    if not os.access(REPORT, os.X_OK):
        raise RuntimeError(f"report binary not built: {REPORT}")
    pg = Postgres()
    for db in ("ledger_eu", "ledger_us"):
        pg.create_ledger(db)
    pg.create_traces("traces")
    rows = Rows(pg)

    today = datetime.datetime.now(datetime.timezone.utc).date()
    d = today - datetime.timedelta(days=2)
    date, prev_date = d.isoformat(), (d - datetime.timedelta(days=1)).isoformat()
    D = int(datetime.datetime(d.year, d.month, d.day, tzinfo=datetime.timezone.utc).timestamp()) * S
    E = D + DAY
    grace = 120 * S

    # acme: the day's first and last microsecond, the microseconds just outside.
    rows.op("acme", "first", D, "attested")
    rows.op("acme", "before", D - 1, "attested")                  # previous day
    rows.op("acme", "last", E - 1, "attested")                    # receipt after midnight, within grace
    rows.op("acme", "after", E, "missing")                        # next day
    # Several spans per operation: earliest start and its kind; one receipt.
    rows.span("acme", "multi", D + 10 * 3600 * S + S // 2, name="db.write", attested="h-multi")
    rows.span("acme", "multi", D + 10 * 3600 * S, name="checkout.create")
    rows.receipt("acme", "multi", D + 10 * 3600 * S + 2 * S, "h-multi")
    # An operation started the day before with a later span inside the day: it belongs to the day before.
    rows.span("acme", "straddle", D - 30 * S, name="checkout.create", attested="h-straddle")
    rows.span("acme", "straddle", D + 10 * S, name="db.write")
    # Divergent: the receipt's content differs from the span's attested hash.
    rows.op("acme", "div1", D + 3600 * S, "divergent")
    rows.op("acme", "pay1", D + 7200 * S, "attested", name="payment.capture")
    # A receipt exactly at start + grace counts; one microsecond later does not.
    rows.op("globex", "ontime", D + 5 * 3600 * S, "attested", delay=grace)
    rows.op("globex", "late", D + 6 * 3600 * S, "attested", delay=grace + 1)
    rows.op("globex", "ok2", D + 7 * 3600 * S, "attested")
    # A tenant without any receipt.
    for i in range(3):
        rows.op("initech", f"nr{i}", D + (8 + i) * 3600 * S, "missing", name="report.export")
    # The same receipt_id in both ledgers with different content, 10 s apart (within grace).
    rows.receipt("acme", "xop", D + 12 * 3600 * S, "A", rid="dup-1")
    rows.receipt("acme", "xop", D + 12 * 3600 * S + 10 * S, "B", rid="dup-1", ledger="ledger_us", region="us-east")
    # Anchor latency: receipts anchored in the day (10, 20, 30, 40 ms) and one anchored after it.
    for k, ms in enumerate((10, 20, 30, 40)):
        rows.receipt("acme", f"an{k}", D + (13 + k) * 3600 * S, f"h-an{k}", anchored=D + (13 + k) * 3600 * S + ms * 1000)
    rows.receipt("acme", "an-late", E - 5 * S, "h-an-late", anchored=E + 5 * S)
    # The previous day: one globex operation (for agreement across days).
    rows.op("globex", "y1", D - 3 * 3600 * S, "missing")

    work = tempfile.mkdtemp(prefix="provledger-report-e2e-")
    flags = os.path.join(work, "flags.spec")
    with open(flags, "w") as f:
        f.write("acme: {new_checkout: 50, fast_anchor: 100}\nglobex: {new_checkout: 10}\ndormant: {beta: 10}\n")
    cfg_text = ledger_config(pg, [("eu", "eu-west", "ledger_eu"), ("us", "us-east", "ledger_us")], "traces",
                             window="1h", grace="2m", flags_file=flags)
    config = os.path.join(work, "provledger.yml")
    with open(config, "w") as f:
        f.write(cfg_text + "recommend: {min_operations: 1}\n")
    out = os.path.join(work, "coverage")

    # --- exact numbers -----------------------------------------------------------------
    r = run_report(config, out, date, check=0)
    rep = load(out, date)
    jsonschema.validate(rep, json.load(open(SCHEMA_FILE)))
    assert rep["date"] == date and rep["day"]["start"] == f"{date}T00:00:00Z", rep["day"]
    acme = tenant(rep, "acme")
    # first, last, multi, pay1 attested; div1 divergent.
    assert (acme["operations"], acme["attested"], acme["divergent"], acme["missing"]) == (5, 4, 1, 0), acme
    assert acme["coverage_pct"] == 100.0
    assert acme["cross_ledger_divergence"] == 1 and acme["divergence"] == 2, acme
    kinds = {k["kind"]: (k["operations"], k["attested"], k["divergent"], k["missing"]) for k in acme["kinds"]}
    assert kinds == {"checkout.create": (4, 3, 1, 0), "payment.capture": (1, 1, 0, 0)}, kinds
    lat = acme["anchor_latency_ms"]
    assert lat["anchored"] == 4, lat
    # Nearest rank over 10, 20, 30, 40 ms, reported as the top of the value's bucket (docs/report.md).
    assert (lat["p50"], lat["p95"], lat["p99"]) == (upper_ms(20_000), upper_ms(40_000), upper_ms(40_000)), lat
    globex = tenant(rep, "globex")
    assert (globex["operations"], globex["attested"], globex["missing"]) == (3, 2, 1), globex
    assert globex["coverage_pct"] == round(200 / 3, 3), globex
    initech = tenant(rep, "initech")
    assert (initech["operations"], initech["missing"], initech["coverage_pct"]) == (3, 3, 0.0), initech
    dormant = tenant(rep, "dormant")
    assert dormant["operations"] == 0 and dormant["coverage_pct"] is None
    assert rep["totals"]["operations"] == 11 and rep["totals"]["divergence"] == 2, rep["totals"]
    assert rep["previous"] is None
    # Recommendations: acme has divergence (no previous: appeared) -> rollback; globex 66.7 % -> rollback
    # from 10 to 0; dormant no data -> hold.
    recs = {(t["tenant"], x["feature"]): (x["decision"], x["to_pct"]) for t in rep["tenants"]
            for x in t["recommendations"]}
    assert recs == {("acme", "fast_anchor"): ("rollback", 50), ("acme", "new_checkout"): ("rollback", 10),
                    ("globex", "new_checkout"): ("rollback", 0), ("dormant", "beta"): ("hold", 10)}, recs
    md = open(os.path.join(out, "coverage-" + date.replace("-", "") + ".md")).read()
    assert md.startswith(f"# Coverage report {date}\n"), md[:200]

    # --- determinism: a second run writes identical bytes ------------------------------
    out2 = os.path.join(work, "again")
    run_report(config, out2, date, check=0)
    for name in os.listdir(out):
        assert open(os.path.join(out, name), "rb").read() == open(os.path.join(out2, name), "rb").read(), name

    # --- drift against a hand-written previous report, and a catalog --------------------
    out3 = os.path.join(work, "drift")
    os.makedirs(out3)
    prev = {"schema": "provledger.coverage-report/v1", "date": prev_date,
            "tenants": [{"tenant": "acme", "coverage_pct": 100.0, "divergence": 2},
                        {"tenant": "globex", "coverage_pct": 90.0, "divergence": 0},
                        {"tenant": "gone", "coverage_pct": 99.0, "divergence": 0}]}
    with open(os.path.join(out3, "coverage-" + prev_date.replace("-", "") + ".json"), "w") as f:
        json.dump(prev, f)
    with open(os.path.join(out3, "coverage-19990101.json"), "w") as f:
        f.write("older reports are not read")
    catalog = os.path.join(work, "catalog.yml")
    with open(catalog, "w") as f:
        f.write("kinds: [checkout.create, refund.issue]\ntenants:\n  initech: [report.export]\n")
    run_report(config, out3, date, f"--catalog={catalog}", check=0)
    rep3 = load(out3, date)
    jsonschema.validate(rep3, json.load(open(SCHEMA_FILE)))
    assert rep3["previous"] == {"file": "coverage-" + prev_date.replace("-", "") + ".json", "date": prev_date}
    acme3, globex3 = tenant(rep3, "acme"), tenant(rep3, "globex")
    assert acme3["drift"] == {"in_previous": True, "previous_coverage_pct": 100.0, "coverage_change_points": 0.0,
                              "previous_divergence": 2}, acme3["drift"]
    assert globex3["drift"]["coverage_change_points"] == round(round(200 / 3, 3) - 90.0, 3), globex3["drift"]
    assert rep3["drift"]["appeared"] == ["dormant", "initech"], rep3["drift"]
    assert rep3["drift"]["disappeared"] == ["gone"], rep3["drift"]
    assert rep3["drift"]["headline"] == (f"coverage {date}: 60% overall, largest drop globex -23.333 points "
                                         f"(90% -> 66.667%)"), rep3["drift"]["headline"]
    # Catalog: payment.capture is unmapped for acme (not counted), refund.issue idle.
    assert acme3["operations"] == 4 and acme3["unmapped_kinds"] == ["payment.capture"], acme3
    assert acme3["idle_kinds"] == ["refund.issue"], acme3
    assert acme3["settled_all_kinds"]["operations"] == 5
    assert tenant(rep3, "initech")["idle_kinds"] == ["checkout.create", "refund.issue"]
    assert rep3["catalog"] == {"file": catalog, "kinds": 3}
    # acme's divergence persists (2 before, 2 now): hold, not rollback.
    recs3 = {(t["tenant"], x["feature"]): x["decision"] for t in rep3["tenants"] for x in t["recommendations"]}
    assert recs3[("acme", "new_checkout")] == "hold", recs3

    # --- the git commit -----------------------------------------------------------------
    repo = os.path.join(work, "repo")
    subprocess.run(["git", "init", "-q", "-b", "main", repo], check=True)
    subprocess.run(["git", "-C", repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q",
                    "--allow-empty", "-m", "init"], check=True)
    r = run_report(config, os.path.join(repo, "coverage"), date, f"--git-dir={repo}", "--git-branch=reports/daily",
                   check=0)
    msg = subprocess.run(["git", "-C", repo, "log", "-1", "--format=%B", "reports/daily"], check=True,
                         capture_output=True, text=True).stdout
    assert msg.startswith(rep["drift"]["headline"] + "\n"), msg
    files = subprocess.run(["git", "-C", repo, "ls-tree", "-r", "--name-only", "reports/daily"], check=True,
                           capture_output=True, text=True).stdout.split()
    base = "coverage/coverage-" + date.replace("-", "")
    assert files == [base + ".json", base + ".md"], files
    shown = subprocess.run(["git", "-C", repo, "show", f"reports/daily:{base}.json"], check=True,
                           capture_output=True).stdout
    assert shown == open(os.path.join(repo, base + ".json"), "rb").read()
    head = subprocess.run(["git", "-C", repo, "rev-parse", "--abbrev-ref", "HEAD"], check=True, capture_output=True,
                          text=True).stdout.strip()
    assert head == "main", head   # the checkout's HEAD is untouched
    parents = subprocess.run(["git", "-C", repo, "log", "--format=%s", "reports/daily"], check=True,
                             capture_output=True, text=True).stdout.splitlines()
    assert parents[-1] == "init" and len(parents) == 2, parents
    assert "committed " in r.stdout

    # --- agreement with the exporter: the sum over the days equals attest_ops_settled_total
    prev_out = os.path.join(work, "agree")
    run_report(config, prev_out, prev_date, check=0)
    run_report(config, prev_out, date, check=0)
    per_day = [load(prev_out, prev_date), load(prev_out, date)]
    expected = {}
    for rp in per_day:
        for t in rp["tenants"]:
            for outcome in ("attested", "divergent", "missing"):
                if t["settled_all_kinds"][outcome]:
                    expected[(t["tenant"], outcome)] = expected.get((t["tenant"], outcome), 0) + \
                        t["settled_all_kinds"][outcome]
    # acme "after" (E, missing) belongs to the next day; the exporter counts it too.
    expected[("acme", "missing")] = expected.get(("acme", "missing"), 0) + 1
    exp_cfg = ledger_config(pg, [("eu", "eu-west", "ledger_eu"), ("us", "us-east", "ledger_us")], "traces",
                            window="5d", grace="2m")
    exporter = Exporter(exp_cfg).start()

    def settled():
        m = exporter.metrics()
        got = {}
        for labels, v in m.select("attest_ops_settled_total"):
            if v:
                got[(labels["tenant"], labels["outcome"])] = int(v)
        return got if got == expected else None
    try:
        wait_until(settled, timeout=60, what=f"exporter counters {expected}")
    finally:
        exporter.stop()
    log("agreement:", expected)

    # --- error paths: exit 1 (or 2), a clear message, nothing written ------------------
    def fails(code, fragment, *args, cfg=config, out_dir=None):
        o = out_dir or tempfile.mkdtemp(prefix="provledger-report-fail-")
        r = run_report(cfg, o, date, *args, check=code)
        assert fragment in r.stderr, (fragment, r.stderr)
        if code == 1:
            assert "no report written for " + date in r.stderr, r.stderr
        assert not [n for n in os.listdir(o) if n.endswith(".json") or n.endswith(".md")] if os.path.isdir(o) else True
        return r

    fails(2, "is not over yet", "--date=" + today.isoformat())
    r = subprocess.run([REPORT, "coverage"], capture_output=True, text=True)
    assert r.returncode == 2 and "--config.file is required" in r.stderr, r.stderr
    bad_cfg = os.path.join(work, "bad.yml")
    with open(bad_cfg, "w") as f:
        f.write(cfg_text + "recommend: {steps: [50, 10]}\n")
    fails(1, "bad.yml:", cfg=bad_cfg)
    bad_cat = os.path.join(work, "bad-catalog.yml")
    with open(bad_cat, "w") as f:
        f.write("kinds: [a, a]\n")
    fails(1, "bad-catalog.yml:1:12: kinds[1]: duplicate kind", f"--catalog={bad_cat}")
    corrupt = tempfile.mkdtemp(prefix="provledger-report-corrupt-")
    with open(os.path.join(corrupt, "coverage-" + prev_date.replace("-", "") + ".json"), "w") as f:
        f.write("{not json")
    r = run_report(config, corrupt, date, check=1)
    assert "is unusable" in r.stderr and not os.path.exists(os.path.join(corrupt, "coverage-" + date.replace("-", "") + ".json"))
    fails(1, "not a git repository", f"--git-dir={work}")
    # A statement cut by statement_timeout.
    slow = cfg_text.replace("    kind: postgres\n", "    kind: postgres\n    statement_timeout: 200ms\n    queries:\n"
                            "      spans: \"SELECT trace_id, span_id, tenant_id, op_id, (extract(epoch FROM start_time)"
                            " * 1000000)::bigint, attested_hash, name FROM spans, pg_sleep(1) WHERE op_id IS NOT NULL"
                            " AND (start_time, span_id) > (timestamptz 'epoch' + $1::bigint * interval '1 microsecond',"
                            " $2::text) AND start_time <= timestamptz 'epoch' + $3::bigint * interval '1 microsecond'"
                            " ORDER BY start_time, span_id LIMIT $4::bigint\"\n", 1)
    slow_cfg = os.path.join(work, "slow.yml")
    with open(slow_cfg, "w") as f:
        f.write(slow)
    fails(1, "statement timeout", cfg=slow_cfg)
    # The day is not complete yet for a store whose out-of-order bound reaches past it.
    incomplete = os.path.join(work, "incomplete.yml")
    with open(incomplete, "w") as f:
        f.write(ledger_config(pg, [("eu", "eu-west", "ledger_eu")], "traces", window="1h", grace="2m",
                              trace_out_of_order="3d"))
    fails(1, "trace store traces is not complete for the day yet", cfg=incomplete)
    # An OpenTelemetry file store has no time position to start a day from: refused, by name.
    otlp_cfg = os.path.join(work, "otlp.yml")
    with open(otlp_cfg, "w") as f:
        head, stores = cfg_text.split("trace_stores:\n", 1)
        stores = stores.replace("    kind: postgres\n", "    kind: otlp_file\n    path: " +
                                os.path.join(work, "spans.jsonl") + "\n", 1)
        stores = stores.replace(f'    dsn: "{pg.dsn("traces")}"\n', "", 1).replace("    connect_timeout: 2s\n", "", 1)
        f.write(head + "trace_stores:\n" + stores)
    fails(1, "trace store traces is an otlp_file store; the report reads postgres trace stores only", cfg=otlp_cfg)
    # Database down.
    pg.stop()
    fails(1, "source traces (traces): ")
    log("report e2e: all checks passed")


if __name__ == "__main__":
    run_test(test_report)

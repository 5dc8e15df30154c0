#!/usr/bin/env python3
"""End to end, the otlp_file trace store: the built exporter reads a file that
a test helper writes as the OpenTelemetry Collector's file exporter does (one
OTLP/JSON ExportTraceServiceRequest per line, rotation by renaming the live
file to <stem>-<timestamp>.json and starting a new one), while a second
exporter reads the same spans from a PostgreSQL trace store. Both share the
ledgers. Every expected number is computed from what the test writes, and the
two exporters must agree on every business metric: through partial lines,
rotations, a malformed line, and a restart (state file) with rotations while
the exporter was down.
"""
import json
import os
import time

import subprocess

from harness import SIM, Exporter, Postgres, ledger_config, log, run_test, wait_until

V2 = ('{{"schema":"provledger.receipt/v2","receipt_id":"{rid}","tenant_id":"{t}","op_id":"{op}",'
      '"policy_version":"p-1","kid":"kid-1","region":"{region}"}}')

BUSINESS = ("attest_ops_settled_total", "attest_divergence_count", "attest_coverage_pct")


def now_us():
    return int(time.time() * 1e6)


class Collector:
    """Writes spans as the Collector's file exporter (format: json) does."""

    def __init__(self, path):
        self.path = path
        self.rotations = 0
        open(path, "a").close()

    @staticmethod
    def request(spans, resource_tenant=None):
        res_attrs = []
        if resource_tenant is not None:
            res_attrs.append({"key": "provledger.tenant", "value": {"stringValue": resource_tenant}})
        res_attrs.append({"key": "service.name", "value": {"stringValue": "attest-api"}})
        return {"resourceSpans": [{
            "resource": {"attributes": res_attrs},
            "scopeSpans": [{"scope": {"name": "provledger-api", "version": "1.0.0"}, "spans": spans}],
            "schemaUrl": "https://opentelemetry.io/schemas/1.21.0"}]}

    def write_line(self, request, split_at=None, pause=0.0):
        line = json.dumps(request, separators=(",", ":")) + "\n"
        with open(self.path, "a") as f:
            if split_at is None:
                f.write(line)
            else:
                # A line written in two pieces: the reader must wait for the newline.
                f.write(line[:split_at])
                f.flush()
                time.sleep(pause)
                f.write(line[split_at:])

    def write_raw(self, text):
        with open(self.path, "a") as f:
            f.write(text)

    def rotate(self):
        """The exporter's rotation: the live file renamed with a timestamp, a new live file."""
        self.rotations += 1
        stem, ext = os.path.splitext(self.path)
        stamp = time.strftime("%Y-%m-%dT%H-%M-%S", time.gmtime()) + f".{self.rotations:03d}"
        os.rename(self.path, f"{stem}-{stamp}{ext}")
        open(self.path, "a").close()


class World:
    """Writes operations to both trace stores and the ledgers; keeps the expected counters."""

    def __init__(self, pg, collector):
        self.pg, self.collector = pg, collector
        self.n = 0
        self.expected = {}
        self.divergence = {}

    def ops(self, tenant, attested=0, missing=0, divergent=0, ledger="ledger_eu", region="eu-west",
            resource_tenant=False, split_at=None, pause=0.0):
        rows, receipts, spans = [], [], []
        start = now_us() - 1000000
        for outcome, k in (("attested", attested), ("missing", missing), ("divergent", divergent)):
            for _ in range(k):
                self.n += 1
                op, rid, h = f"op-{self.n}", f"r-{self.n}", f"hash-{self.n}"
                trace = f"{self.n:032x}"
                span = f"{self.n:016x}"
                st = start + self.n   # distinct µs per span
                rows.append(f"('{trace}','{span}','{tenant}','{op}','POST /op',"
                            f"timestamptz 'epoch' + {st} * interval '1 microsecond', now(), '{h}')")
                attrs = [{"key": "provledger.op_id", "value": {"stringValue": op}},
                         {"key": "provledger.attested_hash", "value": {"stringValue": h}},
                         {"key": "http.status_code", "value": {"intValue": "200"}}]
                if not resource_tenant:
                    attrs.insert(0, {"key": "provledger.tenant", "value": {"stringValue": tenant}})
                spans.append({"traceId": trace, "spanId": span, "parentSpanId": "", "name": "POST /op", "kind": 2,
                              "startTimeUnixNano": str(st * 1000), "endTimeUnixNano": str((st + 20000) * 1000),
                              "attributes": attrs, "status": {}})
                if outcome != "missing":
                    content = h if outcome == "attested" else h + "-other"
                    body = V2.format(rid=rid, t=tenant, op=op, region=region)
                    receipts.append(f"('{rid}','{tenant}','{op}','{region}','p-1','kid-1',2,'{body}','{content}')")
                self.expected[(tenant, outcome)] = self.expected.get((tenant, outcome), 0) + 1
                if outcome == "divergent":
                    self.divergence[tenant] = self.divergence.get(tenant, 0) + 1
        # A span without an op id (not an operation) rides along in every line.
        spans.append({"traceId": "f" * 32, "spanId": "e" * 16, "name": "GET /health",
                      "startTimeUnixNano": str(start * 1000), "endTimeUnixNano": str(start * 1000 + 1000)})
        if receipts:
            self.pg.psql(ledger, "INSERT INTO receipts(receipt_id,tenant_id,op_id,region,policy_version,kid,version,"
                                 "body,content_hash) VALUES " + ",".join(receipts))
        if rows:
            self.pg.psql("traces", "INSERT INTO spans(trace_id,span_id,tenant_id,op_id,name,start_time,end_time,"
                                   "attested_hash) VALUES " + ",".join(rows))
        self.collector.write_line(Collector.request(spans, tenant if resource_tenant else None), split_at, pause)

    def want_settled(self):
        return sum(self.expected.values())


def business(m):
    out = {}
    for name in BUSINESS:
        for labels, v in m.select(name):
            out[(name, tuple(sorted(labels.items())))] = v
    return out


def check(exp, world, what):
    want = world.want_settled()
    wait_until(lambda: exp.metrics().sum("attest_ops_settled_total") >= want, timeout=60,
               what=f"{what}: {want} settled operations")
    time.sleep(1.5)   # more publish cycles: nothing may be counted twice
    m = exp.metrics()
    for (tenant, outcome), n in world.expected.items():
        got = m.get("attest_ops_settled_total", tenant=tenant, outcome=outcome)
        assert got == n, f"{what}: settled {tenant}/{outcome}: got {got}, want {n}"
    assert m.sum("attest_ops_settled_total") == want, f"{what}: total {m.sum('attest_ops_settled_total')} != {want}"
    for tenant, n in world.divergence.items():
        got = m.get("attest_divergence_count", tenant=tenant)
        assert got == n, f"{what}: divergence {tenant}: got {got}, want {n}"
    return m


def test_otlp_file_store():
    pg = Postgres()
    pg.create_ledger("ledger_eu")
    pg.create_ledger("ledger_us")
    pg.create_traces("traces")
    ledgers = [("eu", "eu-west", "ledger_eu"), ("us", "us-east", "ledger_us")]

    cfg_pg = ledger_config(pg, ledgers, "traces", trace_out_of_order="2s")
    exp_pg = Exporter(cfg_pg).start()

    base = ledger_config(pg, ledgers, "traces")
    otlp_dir = os.path.join(exp_pg.workdir, "otel")
    os.makedirs(otlp_dir)
    live = os.path.join(otlp_dir, "spans.json")
    collector = Collector(live)
    state = os.path.join(otlp_dir, "..", "otlp-state.json")
    head, _, _ = base.partition("trace_stores:")
    cfg_file = (head.replace("coverage:", f"state_file: {state}\ncoverage:", 1) +
                "trace_stores:\n  - name: traces\n    kind: otlp_file\n"
                f"    path: {live}\n    out_of_order: 2s\n    batch_size: 2\n")
    exp_file = Exporter(cfg_file).start()
    for e in (exp_pg, exp_file):
        wait_until(lambda e=e: e.metrics().sum("provledger_exporter_source_up") == 3, what="3 sources up")

    world = World(pg, collector)
    world.ops("acme", attested=5, missing=2, divergent=1)
    world.ops("globex", attested=3, ledger="ledger_us", region="us-east", resource_tenant=True)
    collector.rotate()
    world.ops("initech", missing=1, attested=1, split_at=57, pause=1.2)   # polled while half written
    world.ops("acme", attested=2)
    collector.rotate()
    world.ops("globex", divergent=1, ledger="ledger_us", region="us-east")
    m_file = check(exp_file, world, "file store")
    m_pg = check(exp_pg, world, "postgres store")
    assert business(m_file) == business(m_pg), f"stores disagree:\n{business(m_file)}\n{business(m_pg)}"
    assert m_file.get("attest_coverage_pct", tenant="acme") == 100.0 * 8 / 10
    assert m_file.get("provledger_exporter_poll_errors_total", source="traces", kind="decode") in (0, None)
    log("phase 1 ok: rotations and a partial line, both stores agree", dict(world.expected))

    # A malformed line: one decode error, counted once; reading goes on.
    collector.write_raw('{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":\n')
    world.ops("acme", missing=1)
    check(exp_file, world, "after a malformed line")
    wait_until(lambda: exp_file.metrics().get("provledger_exporter_poll_errors_total", source="traces",
                                              kind="decode") == 1, what="one decode error")
    check(exp_pg, world, "postgres store")

    # Restart with the state file, spans and rotations written while it was down.
    assert exp_file.stop() == 0
    with open(state) as f:
        saved = json.load(f)
    assert "traces" in saved["file_cursors"], saved.keys()
    world.ops("initech", attested=2)
    collector.rotate()
    world.ops("acme", divergent=1, attested=1)
    collector.rotate()
    world.ops("globex", attested=1, ledger="ledger_us", region="us-east")
    exp_file2 = Exporter(cfg_file, workdir=exp_file.workdir)
    exp_file2.start()
    m_file = check(exp_file2, world, "file store after restart")
    m_pg = check(exp_pg, world, "postgres store")
    assert business(m_file) == business(m_pg), f"stores disagree:\n{business(m_file)}\n{business(m_pg)}"
    log("phase 2 ok: restart with rotations while down; nothing lost or doubled")
    exp_file2.stop()
    exp_pg.stop()


def otlp_config(base, live, state=None):
    """`base` (ledger_config) with its trace store replaced by an otlp_file store on `live`."""
    head, _, _ = base.partition("trace_stores:")
    if state:
        head = head.replace("coverage:", f"state_file: {state}\ncoverage:", 1)
    return (head + "trace_stores:\n  - name: traces\n    kind: otlp_file\n"
            f"    path: {live}\n    out_of_order: 2s\n    batch_size: 500\n")


def test_simulator_traffic_both_stores():
    """provledger_sim run --otlp-file: the same traffic into the PostgreSQL
    trace store and an OTLP file; both exporters settle every span the
    simulator wrote and agree on every business metric."""
    pg = Postgres()
    for db in ("ledger_eu", "ledger_us", "traces"):
        pg.psql("postgres", f"CREATE DATABASE {db}")
    ledgers = ["--ledger", f"eu-west={pg.dsn('ledger_eu')}", "--ledger", f"us-east={pg.dsn('ledger_us')}"]
    traces = ["--traces-dsn", pg.dsn("traces")]
    subprocess.run([SIM, "init", *ledgers, *traces], check=True, capture_output=True)
    base = ledger_config(pg, [("eu", "eu-west", "ledger_eu"), ("us", "us-east", "ledger_us")], "traces",
                         trace_out_of_order="2s")
    exp_pg = Exporter(base).start()
    live = os.path.join(exp_pg.workdir, "sim-spans.json")
    open(live, "a").close()
    exp_file = Exporter(otlp_config(base, live)).start()
    for e in (exp_pg, exp_file):
        wait_until(lambda e=e: e.metrics().sum("provledger_exporter_source_up") == 3, what="3 sources up")
    control = os.path.join(exp_pg.workdir, "control")
    with open(control, "w") as f:
        f.write("divergence_rate=0.1\nmissing_rate=0.1\n")
    out = subprocess.run([SIM, "run", *ledgers, *traces, "--rate", "40", "--tenants", "12", "--seed", "3",
                          "--duration", "10s", "--control-file", control, "--otlp-file", live, "--stats-interval", "0"],
                         check=True, capture_output=True, text=True, timeout=120)
    summary = json.loads(out.stdout.strip().splitlines()[-1])
    spans = summary["spans"]
    assert spans > 100, summary
    with open(live) as f:
        in_file = sum(len(json.loads(line)["resourceSpans"][0]["scopeSpans"][0]["spans"]) for line in f)
    assert in_file == spans, f"file holds {in_file} spans, simulator wrote {spans}"
    for e, what in ((exp_pg, "postgres store"), (exp_file, "file store")):
        wait_until(lambda e=e: e.metrics().sum("attest_ops_settled_total") >= spans, timeout=90,
                   what=f"{what}: {spans} settled")
    time.sleep(1.5)
    m_pg, m_file = exp_pg.metrics(), exp_file.metrics()
    assert m_pg.sum("attest_ops_settled_total") == spans
    assert business(m_file) == business(m_pg), f"stores disagree:\n{business(m_file)}\n{business(m_pg)}"
    assert m_file.sum("attest_ops_settled_total", outcome="missing") > 0
    log("simulator traffic: both stores agree", {k: v for k, v in business(m_file).items() if "settled" in k[0]})
    exp_file.stop()
    exp_pg.stop()


def main():
    test_otlp_file_store()
    test_simulator_traffic_both_stores()


if __name__ == "__main__":
    run_test(main)

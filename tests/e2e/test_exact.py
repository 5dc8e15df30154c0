#!/usr/bin/env python3
"""End to end, exact numbers: the built exporter against a real PostgreSQL with
rows whose outcomes we know, through a database outage and a restart with the
state file. Every expected value is computed from the rows this test writes.
"""
import json
import os
import signal
import time

from harness import (Exporter, Postgres, ledger_config, log, run_test, wait_until)

V2 = ('{{"schema":"provledger.receipt/v2","receipt_id":"{rid}","tenant_id":"{t}","op_id":"{op}",'
      '"policy_version":"p-1","kid":"kid-1","region":"{region}"}}')


class World:
    """Writes operations and keeps the expected counters."""

    def __init__(self, pg):
        self.pg = pg
        self.n = 0
        self.expected = {}     # (tenant, outcome) -> count
        self.divergence = {}   # tenant -> count
        self.latencies = []    # (region, tenant, ms)

    def _count(self, tenant, outcome):
        self.expected[(tenant, outcome)] = self.expected.get((tenant, outcome), 0) + 1
        if outcome == "divergent":
            self.divergence[tenant] = self.divergence.get(tenant, 0) + 1

    def ops(self, tenant, attested=0, missing=0, divergent=0, ledger="ledger_eu", region="eu-west"):
        spans, receipts = [], []
        for outcome, k in (("attested", attested), ("missing", missing), ("divergent", divergent)):
            for _ in range(k):
                self.n += 1
                op, rid, h = f"op-{self.n}", f"r-{self.n}", f"hash-{self.n}"
                spans.append(f"('tr{self.n}','sp{self.n}','{tenant}','{op}','POST /op',"
                             f"now() - interval '1 second', now(), '{h}')")
                if outcome != "missing":
                    content = h if outcome == "attested" else h + "-other"
                    body = V2.format(rid=rid, t=tenant, op=op, region=region)
                    receipts.append(f"('{rid}','{tenant}','{op}','{region}','p-1','kid-1',2,'{body}','{content}')")
                self._count(tenant, outcome)
        if spans:
            self.pg.psql("traces", "INSERT INTO spans(trace_id,span_id,tenant_id,op_id,name,start_time,end_time,"
                                   "attested_hash) VALUES " + ",".join(spans))
        if receipts:
            self.pg.psql(ledger, "INSERT INTO receipts(receipt_id,tenant_id,op_id,region,policy_version,kid,version,"
                                 "body,content_hash) VALUES " + ",".join(receipts))

    def cross_ledger_divergence(self, tenant):
        """The same receipt_id in both ledgers with different content (no span)."""
        self.n += 1
        rid, op = f"r-x{self.n}", f"op-x{self.n}"
        for db, region, h in (("ledger_eu", "eu-west", "A"), ("ledger_us", "us-east", "B")):
            body = V2.format(rid=rid, t=tenant, op=op, region=region)
            self.pg.psql(db, "INSERT INTO receipts(receipt_id,tenant_id,op_id,region,policy_version,kid,version,body,"
                             f"content_hash) VALUES ('{rid}','{tenant}','{op}','{region}','p-1','kid-1',2,'{body}','{h}')")
        self.divergence[tenant] = self.divergence.get(tenant, 0) + 1

    def anchor(self, ledger, region, latencies_ms, tenant="acme"):
        """Writes receipts that are anchored in the same transaction, one per latency.

        created_at = now() - latency and anchored_at = now(): the transaction's
        clock, so the latency is exact and both timestamps are within the
        out-of-order bound of the commit, as with a real anchorer.
        """
        self.n += 1
        aid = f"{region}:anchor-{self.n}"
        values = []
        for k, ms in enumerate(latencies_ms):
            rid, op = f"r-a{self.n}-{k}", f"op-a{self.n}-{k}"
            body = V2.format(rid=rid, t=tenant, op=op, region=region)
            values.append(f"('{rid}','{tenant}','{op}','{region}','p-1','kid-1',2,'{body}','h-{rid}',"
                          f"now() - interval '{ms} milliseconds', '{aid}', now())")
            self.latencies.append((region, tenant, ms))
        self.pg.psql(ledger, f"BEGIN; INSERT INTO anchors(anchor_id,region,anchor_hash,receipt_count) "
                             f"VALUES ('{aid}','{region}','h',{len(values)}); "
                             "INSERT INTO receipts(receipt_id,tenant_id,op_id,region,policy_version,kid,version,body,"
                             "content_hash,created_at,anchor_id,anchored_at) VALUES " + ",".join(values) + "; "
                             f"INSERT INTO notary_proofs(anchor_id,notary,proved_at) VALUES ('{aid}','n1',now()); "
                             "COMMIT")


def settled_total(m):
    return m.sum("attest_ops_settled_total")


def check_counters(exp, world):
    m = exp.metrics()
    for (tenant, outcome), want in world.expected.items():
        got = m.get("attest_ops_settled_total", tenant=tenant, outcome=outcome)
        assert got == want, f"settled {tenant}/{outcome}: got {got}, want {want}"
    assert settled_total(m) == sum(world.expected.values())
    for tenant, want in world.divergence.items():
        got = m.get("attest_divergence_count", tenant=tenant)
        assert got == want, f"divergence {tenant}: got {got}, want {want}"
    # Histogram: count and buckets from the latencies we wrote.
    bounds = [5, 10, 15, 20, 30, 50, 100, 250, 500]
    keys = {(r, t) for r, t, _ in world.latencies}
    for region, tenant in keys:
        values = [ms for r, t, ms in world.latencies if (r, t) == (region, tenant)]
        got = m.get("ledger_anchor_latency_ms_count", region=region, tenant=tenant)
        assert got == len(values), (f"latency count {region}/{tenant}: got {got}, want {len(values)}; exported: "
                                    f"{m.select('ledger_anchor_latency_ms_count')}; written: {world.latencies}")
        for b in bounds:
            got = m.get("ledger_anchor_latency_ms_bucket", region=region, tenant=tenant, le=f"{b:g}")
            if got is None:
                got = m.get("ledger_anchor_latency_ms_bucket", region=region, tenant=tenant, le=f"{float(b)}")
            want = sum(1 for v in values if v <= b)
            assert got == want, f"bucket le={b} {region}/{tenant}: got {got}, want {want}"
    return m


def wait_settled(exp, world, timeout=40):
    want = sum(world.expected.values())
    wait_until(lambda: settled_total(exp.metrics()) >= want, timeout=timeout, what=f"{want} settled operations")
    # Two more publish cycles: nothing may be counted twice.
    time.sleep(1.5)
    return check_counters(exp, world)


def test_exact_outage_restart():
    pg = Postgres()
    for db in ("ledger_eu", "ledger_us"):
        pg.create_ledger(db)
    pg.create_traces("traces")
    state = os.path.join(pg.dir, "..", os.path.basename(pg.dir) + "-state.json")
    cfg = ledger_config(pg, [("eu", "eu-west", "ledger_eu"), ("us", "us-east", "ledger_us")], "traces",
                        state_file=state, out_of_order="3s")
    exp = Exporter(cfg).start()
    wait_until(lambda: exp.metrics().sum("provledger_exporter_source_up") == 3, what="3 sources up")

    world = World(pg)
    world.ops("acme", attested=5, missing=2, divergent=1)
    world.ops("globex", attested=3, ledger="ledger_us", region="us-east")
    world.ops("initech", missing=1)
    world.cross_ledger_divergence("acme")
    world.anchor("ledger_eu", "eu-west", [3, 5, 7, 12, 480])
    world.anchor("ledger_us", "us-east", [20, 600], tenant="globex")
    m = wait_settled(exp, world)
    assert m.get("attest_coverage_pct", tenant="acme") == 100.0 * 6 / 8
    assert m.get("attest_coverage_pct", tenant="globex") == 100.0
    assert m.get("attest_coverage_pct", tenant="initech") == 0.0
    depth_eu = int(pg.psql("ledger_eu", "SELECT count(*) FROM receipts WHERE anchor_id IS NULL")[0][0])
    wait_until(lambda: exp.metrics().get("anchor_queue_depth", region="eu-west") == depth_eu, what="queue depth")
    proved = float(pg.psql("ledger_eu", "SELECT extract(epoch FROM max(proved_at)) FROM notary_proofs")[0][0])
    assert abs(exp.metrics().get("proofs_last_ts", region="eu-west") - proved) < 1e-3
    log("phase 1 ok: exact counters", dict(world.expected))

    # Outage: the database goes away. Scrapes keep working, sources report down,
    # the last good business numbers stay.
    before = exp.metrics()
    pg.stop()
    wait_until(lambda: exp.metrics().sum("provledger_exporter_source_up") == 0, timeout=30, what="sources down")
    status, _, _ = exp.get("/-/ready")
    assert status == 200
    during = exp.metrics()
    assert settled_total(during) == settled_total(before)
    assert during.get("attest_coverage_pct", tenant="acme") == before.get("attest_coverage_pct", tenant="acme")
    assert during.sum("provledger_exporter_poll_errors_total", kind="connect") > 0
    time.sleep(2)
    pg.start()
    wait_until(lambda: exp.metrics().sum("provledger_exporter_source_up") == 3, timeout=60, what="sources back up")
    world.ops("acme", attested=2, divergent=1)
    world.ops("globex", missing=1, ledger="ledger_us", region="us-east")
    world.anchor("ledger_eu", "eu-west", [9])
    wait_settled(exp, world)
    log("phase 2 ok: nothing lost or doubled across the outage")

    # Restart with the state file: nothing recounted, nothing skipped.
    assert exp.stop() == 0
    with open(state) as f:
        saved = json.load(f)
    assert saved["version"] == 1 and saved["settled"]["acme"]["attested"] == 7
    exp2 = Exporter(cfg, workdir=exp.workdir)
    exp2.port = exp.port
    exp2.start()
    wait_until(lambda: exp2.metrics().sum("provledger_exporter_source_up") == 3, what="sources up after restart")
    time.sleep(3)
    check_counters(exp2, world)
    # Operations written while it was down for a moment, and after: counted once.
    world.ops("initech", attested=2)
    world.anchor("ledger_us", "us-east", [1], tenant="globex")
    wait_settled(exp2, world)
    m = exp2.metrics()
    assert m.get("attest_coverage_pct", tenant="acme") is not None
    log("phase 3 ok: restart with state file")

    # A corrupt state file is reported and the exporter starts from the window.
    exp2.stop()
    with open(state, "w") as f:
        f.write("{broken")
    exp3 = Exporter(cfg, workdir=exp.workdir)
    exp3.start()
    wait_until(lambda: "state file unusable" in exp3.log_text(), timeout=10, what="corrupt state reported")
    wait_until(lambda: exp3.metrics().sum("provledger_exporter_source_up") == 3, what="up after corrupt state")
    exp3.stop()


if __name__ == "__main__":
    run_test(test_exact_outage_restart)

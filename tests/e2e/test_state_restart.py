#!/usr/bin/env python3
"""End to end, the state file across restarts (issue 9 items 6, 8 and 13).

1. Restored counters are published before the first poll: after a restart
   with the state file, while every source is still stuck in its first
   connect (a loopback port that accepts and never answers), each scrape
   already has every counter the state restored, none lower than before.
2. An implausible state file (window_end_us = INT64_MAX) is set aside as
   <state_file>.unusable, logged, and the exporter starts from the window,
   polls, and writes a sane state file again.
3. A state file that cannot be written counts in
   provledger_exporter_state_write_errors_total.
"""
import json
import os
import socket
import threading
import time

from harness import Exporter, Postgres, ledger_config, log, run_test, wait_until
from test_exact import World, settled_total

class Blackhole:
    """A loopback TCP port that accepts connections and never answers."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.held = []
        self.accepted = 0
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(c)
            self.accepted += 1


def test_state_restart():
    pg = Postgres()
    pg.create_ledger("ledger_eu")
    pg.create_ledger("ledger_us")
    pg.create_traces("traces")
    workdir_state = os.path.join(pg.dir, "..", os.path.basename(pg.dir) + "-state")
    os.makedirs(workdir_state, exist_ok=True)
    state = os.path.join(workdir_state, "state.json")
    ledgers = [("eu", "eu-west", "ledger_eu"), ("us", "us-east", "ledger_us")]
    cfg = ledger_config(pg, ledgers, "traces", state_file=state, extra="tenants: {max: 2}\n")
    exp = Exporter(cfg).start()
    wait_until(lambda: exp.metrics().sum("provledger_exporter_source_up") == 3, what="3 sources up")
    world = World(pg)
    world.ops("acme", attested=3, missing=1, divergent=1)
    world.ops("globex", attested=2, ledger="ledger_us", region="us-east")
    world.ops("initech", attested=4)      # the third tenant: refused by tenants.max = 2
    world.anchor("ledger_eu", "eu-west", [3, 40])
    want = sum(n for (t, _), n in world.expected.items() if t != "initech")
    wait_until(lambda: settled_total(exp.metrics()) >= want, timeout=40, what=f"{want} settled")
    wait_until(lambda: exp.metrics().get("provledger_exporter_tenants_dropped_total") == 1, what="1 tenant dropped")
    wait_until(lambda: exp.metrics().sum("ledger_anchor_latency_ms_count") == 2, what="2 anchor latencies")
    assert exp.stop() == 0
    with open(state) as f:
        saved = json.load(f)
    assert saved["tenants_dropped"] == 1, saved["tenants_dropped"]
    log("phase 0 ok: state written", {k: saved[k] for k in ("window_end_us", "tenants_dropped")})

    # 1. Restart against databases that never answer: the first poll of every
    # source hangs in connect for connect_timeout (30 s).
    hole = Blackhole()
    stuck = cfg.replace(f"port={pg.port}", f"port={hole.port}").replace("connect_timeout: 2s", "connect_timeout: 30s")
    assert stuck != cfg
    exp2 = Exporter(stuck, workdir=exp.workdir)
    log_from = len(exp.log_text())   # the same log file: look only at what exp2 writes
    exp2.start()
    with open(state) as f:
        again = json.load(f)
    expect = {("attest_ops_settled_total", t, o): n for t, counts in again["settled"].items()
              for o, n in counts.items() if n > 0}
    scrapes = 0
    for _ in range(5):
        m = exp2.metrics()
        # Still before the end of the first poll: no source has succeeded or failed yet.
        assert m.select("provledger_exporter_last_poll_success_timestamp_seconds") == []
        since = exp2.log_text()[log_from:]
        assert "state file loaded" in since
        assert "poll ok" not in since and "source down" not in since, since
        for (name, tenant, outcome), n in expect.items():
            got = m.get(name, tenant=tenant, outcome=outcome)
            assert got is not None and got >= n, f"{name}{{{tenant},{outcome}}}: {got} < {n} before the first poll"
        assert m.get("provledger_exporter_tenants_dropped_total") == 1, m.get("provledger_exporter_tenants_dropped_total")
        assert m.sum("attest_divergence_count") >= sum(again["divergence"].values())
        assert m.sum("ledger_anchor_latency_ms_count") == 2
        scrapes += 1
        time.sleep(0.3)
    assert hole.accepted > 0, "the sources never reached the blackhole"
    log(f"phase 1 ok: {scrapes} scrapes before the first poll show every restored counter")
    exp2.kill()

    # 2. An implausible (well-formed) state file: set aside, logged, started from the window.
    bad = dict(again)
    bad["window_end_us"] = 9223372036854775807
    with open(state, "w") as f:
        json.dump(bad, f)
    exp3 = Exporter(cfg, workdir=exp.workdir)
    exp3.start()
    wait_until(lambda: "state file unusable" in exp3.log_text(), timeout=10, what="implausible state reported")
    assert "implausible value: window_end_us 9223372036854775807" in exp3.log_text()
    assert os.path.exists(state + ".unusable")
    with open(state + ".unusable") as f:
        assert json.load(f)["window_end_us"] == 9223372036854775807
    wait_until(lambda: exp3.metrics().sum("provledger_exporter_source_up") == 3, what="up after implausible state")
    wait_until(lambda: exp3.metrics().get("provledger_exporter_coverage_window_end_timestamp_seconds") is not None,
               what="window end known")

    def sane_state():
        with open(state) as f:
            w = json.load(f)["window_end_us"]
        return w < (time.time() + 86400) * 1e6
    wait_until(sane_state, timeout=20, what="a sane state file written again")
    assert exp3.metrics().sum("provledger_exporter_poll_errors_total") == 0
    assert exp3.metrics().get("provledger_exporter_state_write_errors_total") == 0
    exp3.stop()
    log("phase 2 ok: implausible state set aside, exporter polls")

    # 3. A state file that cannot be written is counted.
    unwritable = cfg.replace(f"state_file: {state}", f"state_file: {workdir_state}/missing-dir/state.json")
    assert unwritable != cfg
    exp4 = Exporter(unwritable, workdir=exp.workdir)
    exp4.start()
    wait_until(lambda: (exp4.metrics().get("provledger_exporter_state_write_errors_total") or 0) >= 1,
               what="state write error counted")
    assert "cannot write state file" in exp4.log_text() or "cannot create" in exp4.log_text()
    exp4.stop()
    log("phase 3 ok: failed state writes counted")


if __name__ == "__main__":
    run_test(test_state_restart)

#!/usr/bin/env python3
"""End to end, tenant sharding through a real Prometheus (issue 15).

Three replicas with tenants.shard 0/3, 1/3, 2/3 and one unsharded replica read
the same two ledgers, trace store and flags file (simulator history, then live
simulator traffic with divergence and missing receipts). Debian's Prometheus
scrapes the three with the shipped scrape configuration
(packaging/prometheus/sharded-scrape.yml, targets replaced by the loopback
ports, its `shard` labels kept) and the unsharded one as a second job, and
evaluates the shipped recording rules (packaging/prometheus/shards.rules.yml).
In the middle of the traffic shard 1 is stopped and started again with its
state file. When the traffic has stopped and every replica has settled past
it, for every business family the recording rule over the three shards equals
the unsharded replica exactly, series by series:

  sum:  attest_coverage_pct, attest_divergence_count, attest_ops_settled_total,
        ledger_anchor_latency_ms (_bucket, _count, _sum), flag_ramp_pct,
        provledger_exporter_tenants
  max:  anchor_queue_depth, proofs_last_ts (per region: every shard reports the
        whole region; each shard equals the unsharded replica)

Also: the shards' tenant sets are disjoint, non-empty, and their union is the
unsharded replica's; the restarted shard loaded its state file.

With --region-latency every replica has histogram.anchor_latency_per_tenant:
false: the region histogram is then split across the shards (each holds its
tenants' receipts) and only a sum gives the unsharded histogram back. Its
buckets and count add up exactly; its _sum is a float sum of the same
observations added in another order, equal to 1e-12 relative (not bit-exact).
"""
import json
import os
import sys
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request

import yaml

from harness import ROOT, SIM, Exporter, Postgres, free_port, ledger_config, log, run_test, wait_until

SHIPPED_SCRAPE = os.path.join(ROOT, "packaging", "prometheus", "sharded-scrape.yml")
SHIPPED_RULES = os.path.join(ROOT, "packaging", "prometheus", "shards.rules.yml")
SUMMED = ["attest_coverage_pct", "attest_divergence_count", "attest_ops_settled_total",
          "ledger_anchor_latency_ms_bucket", "ledger_anchor_latency_ms_count", "ledger_anchor_latency_ms_sum",
          "flag_ramp_pct", "provledger_exporter_tenants"]
MAXED = ["anchor_queue_depth", "proofs_last_ts"]
BUSINESS = ["attest_coverage_pct", "attest_divergence_count", "attest_ops_settled_total",
            "ledger_anchor_latency_ms_bucket", "ledger_anchor_latency_ms_count", "ledger_anchor_latency_ms_sum",
            "flag_ramp_pct", "anchor_queue_depth", "proofs_last_ts"]
UNSHARDED_JOB = "provledger_unsharded"
REGION_LATENCY = "--region-latency" in sys.argv[1:]


class Prometheus:
    def __init__(self, workdir, config_text):
        self.dir = workdir
        self.config = os.path.join(workdir, "prometheus.yml")
        with open(self.config, "w") as f:
            f.write(config_text)
        r = subprocess.run(["promtool", "check", "config", self.config], capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"promtool check config: {r.stdout}{r.stderr}")
        self.port = free_port()
        data = os.path.join(workdir, "data")
        os.makedirs(data)
        self.logfile = os.path.join(workdir, "prometheus.log")
        self.proc = subprocess.Popen([shutil.which("prometheus") or "/usr/bin/prometheus",
                                      f"--config.file={self.config}", f"--storage.tsdb.path={data}",
                                      f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn"],
                                     stdout=open(self.logfile, "wb"), stderr=subprocess.STDOUT)
        wait_until(lambda: self.ready(), timeout=60, what="prometheus ready")

    def ready(self):
        if self.proc.poll() is not None:
            raise RuntimeError("prometheus exited:\n" + open(self.logfile).read()[-3000:])
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/-/ready", timeout=5) as r:
            return r.status == 200

    def query(self, expr):
        q = urllib.parse.urlencode({"query": expr})
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/api/v1/query?{q}", timeout=10) as r:
            body = json.load(r)
        if body.get("status") != "success":
            raise RuntimeError(f"query {expr!r}: {body}")
        return body["data"]["result"]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def series(result, drop=("job", "instance", "shard", "__name__")):
    """Prometheus vector -> {frozenset(labels without drop): value string}."""
    out = {}
    for s in result:
        key = frozenset((k, v) for k, v in s["metric"].items() if k not in drop)
        assert key not in out, f"duplicate series {dict(key)}"
        out[key] = s["value"][1]
    return out


def business(m):
    """The business families of one direct scrape, for the stability check."""
    return {k: v for k, v in m.samples.items() if k[0] in BUSINESS or k[0] == "provledger_exporter_tenants"}


def test_shards():
    pg = Postgres()
    for db in ("ledger_eu", "ledger_us", "traces"):
        pg.psql("postgres", f"CREATE DATABASE {db}")
    sim_ledgers = ["--ledger", f"eu-west={pg.dsn('ledger_eu')}", "--ledger", f"us-east={pg.dsn('ledger_us')}"]
    sim_traces = ["--traces-dsn", pg.dsn("traces")]
    subprocess.run([SIM, "init", *sim_ledgers, *sim_traces], check=True, capture_output=True)
    work = tempfile.mkdtemp(prefix="provledger-e2e-shards-")
    flags = os.path.join(work, "flags.spec")
    out = subprocess.run([SIM, "load", *sim_ledgers, *sim_traces, "--receipts", "20000", "--tenants", "30",
                          "--hours", "1", "--seed", "11", "--flags-file", flags],
                         check=True, capture_output=True, text=True)
    log("loaded:", out.stdout.strip()[-300:])

    ledgers = [("eu", "eu-west", "ledger_eu"), ("us", "us-east", "ledger_us")]

    def config(name, shard):
        state = os.path.join(work, f"{name}.state.json")
        extra = f"tenants:\n  shard:\n    index: {shard}\n    total: 3\n" if shard is not None else ""
        if REGION_LATENCY:
            extra += "histogram:\n  anchor_latency_per_tenant: false\n"
        # A window longer than the history and the test: nothing leaves the
        # coverage window while the replicas are compared.
        cfg = ledger_config(pg, ledgers, "traces", flags_file=flags, window="3h", grace="3s", out_of_order="2s",
                            trace_out_of_order="1s", state_file=state, extra=extra)
        # Queue depth every poll, so all replicas converge on the same value.
        cfg = cfg.replace("    out_of_order: 2s\n", "    out_of_order: 2s\n    queue_depth_interval: 0s\n")
        assert cfg.count("queue_depth_interval") == 2, cfg
        return cfg

    replicas = {}
    for name, shard in (("shard0", 0), ("shard1", 1), ("shard2", 2), ("unsharded", None)):
        d = os.path.join(work, name)
        os.makedirs(d)
        replicas[name] = Exporter(config(name, shard), workdir=d).start()

    # Prometheus: the shipped scrape config with loopback targets, plus the
    # unsharded replica as its own job; the shipped recording rules.
    with open(SHIPPED_SCRAPE) as f:
        prom_cfg = yaml.safe_load(f)
    job = prom_cfg["scrape_configs"][0]
    assert job["job_name"] == "provledger_exporter"
    statics = job["static_configs"]
    assert [s["labels"]["shard"] for s in statics] == ["0", "1", "2"], statics
    for s in statics:
        s["targets"] = [f"127.0.0.1:{replicas['shard' + s['labels']['shard']].port}"]
    prom_cfg["global"] = {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"}
    prom_cfg["rule_files"] = [SHIPPED_RULES]
    prom_cfg["scrape_configs"].append({"job_name": UNSHARDED_JOB, "static_configs":
                                       [{"targets": [f"127.0.0.1:{replicas['unsharded'].port}"]}]})
    r = subprocess.run(["promtool", "check", "rules", SHIPPED_RULES], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    prom_dir = os.path.join(work, "prometheus")
    os.makedirs(prom_dir)
    prom = Prometheus(prom_dir, yaml.safe_dump(prom_cfg))

    control = os.path.join(work, "control")
    with open(control, "w") as f:
        f.write("divergence_rate=0.05\nmissing_rate=0.05\n")
    sim = subprocess.Popen([SIM, "run", *sim_ledgers, *sim_traces, "--rate", "30", "--tenants", "30", "--seed", "12",
                            "--duration", "0", "--flags-file", flags, "--control-file", control,
                            "--ramp-interval", "3s"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ok = False
    try:
        wait_until(lambda: prom.query('provledger_shards:up:sum') and
                   prom.query('provledger_shards:up:sum')[0]["value"][1] == "3", timeout=60, what="3 shards up")
        wait_until(lambda: prom.query(f'up{{job="{UNSHARDED_JOB}"}}')[0]["value"][1] == "1", timeout=60,
                   what="unsharded replica up")
        for name, exp in replicas.items():
            wait_until(lambda exp=exp: exp.metrics().sum("provledger_exporter_source_up") == 4, timeout=60,
                       what=f"{name}: 4 sources up")
        wait_until(lambda: replicas["unsharded"].metrics().sum("attest_ops_settled_total") > 0, timeout=60,
                   what="settled operations")
        time.sleep(5)

        # Restart shard 1 in the middle of the traffic, with its state file.
        old = replicas["shard1"]
        before = old.metrics().sum("attest_ops_settled_total")
        assert old.stop() == 0
        time.sleep(3)
        again = Exporter(open(old.config).read(), workdir=old.workdir)
        again.port = old.port           # the target Prometheus scrapes
        again.start()
        replicas["shard1"] = again
        assert "state file loaded" in again.log_text(), again.log_text()[-2000:]
        wait_until(lambda: again.metrics().sum("provledger_exporter_source_up") == 4, timeout=60,
                   what="restarted shard: 4 sources up")
        assert again.metrics().sum("attest_ops_settled_total") >= before
        log(f"shard1 restarted with its state file ({before:.0f} settled before the stop)")
        time.sleep(8)

        sim.send_signal(signal.SIGTERM)
        sim.wait(timeout=30)
        stopped = time.time()
        log("simulator stopped")

        # Every replica settles past the end of the traffic and stops changing.
        for name, exp in replicas.items():
            wait_until(lambda exp=exp: (exp.metrics().get(
                "provledger_exporter_coverage_window_end_timestamp_seconds") or 0) > stopped + 1,
                timeout=60, what=f"{name}: window end past the traffic")

        def stable():
            a = {n: business(e.metrics()) for n, e in replicas.items()}
            time.sleep(2)
            b = {n: business(e.metrics()) for n, e in replicas.items()}
            return a == b
        wait_until(stable, timeout=60, interval=0.5, what="business families stable on every replica")
        quiet = time.time()

        # Direct scrapes: tenants disjoint across shards, union = unsharded.
        tenant_sets = {}
        for name, exp in replicas.items():
            tenant_sets[name] = {ls["tenant"] for ls, _ in exp.metrics().select("attest_ops_settled_total")}
        shards = [tenant_sets[f"shard{i}"] for i in range(3)]
        assert all(shards), f"a shard without tenants: {[len(s) for s in shards]}"
        assert not (shards[0] & shards[1] or shards[0] & shards[2] or shards[1] & shards[2]), "tenants overlap"
        assert shards[0] | shards[1] | shards[2] == tenant_sets["unsharded"], "union of shards != unsharded"
        log("tenants per shard:", [len(s) for s in shards], "unsharded:", len(tenant_sets["unsharded"]))

        # Prometheus: wait for scrapes and rule evaluations after the quiet point.
        time.sleep(4)

        def compare():
            problems = []
            for fam in SUMMED + MAXED:
                agg = "sum" if fam in SUMMED else "max"
                rule = f"provledger_shards:{fam}:{agg}"
                got = series(prom.query(rule))
                want = series(prom.query(f'{agg} without (instance) ({fam}{{job="{UNSHARDED_JOB}"}})'))
                if not want:
                    problems.append(f"{fam}: no series from the unsharded replica")
                elif fam == "ledger_anchor_latency_ms_sum" and REGION_LATENCY and got.keys() == want.keys():
                    # A float sum of one region's observations, added in a
                    # different order on the shards: equal to 1e-12 relative.
                    for k, v in want.items():
                        if abs(float(got[k]) - float(v)) > 1e-12 * abs(float(v)):
                            problems.append(f"{fam}{dict(k)}: {got[k]} over the shards vs {v} unsharded")
                elif got != want:
                    diff = sorted(set(got.items()) ^ set(want.items()), key=str)[:6]
                    problems.append(f"{fam}: {len(got)} series over the shards vs {len(want)} unsharded; "
                                    f"differences (first 6): {diff}")
            for fam in MAXED:
                # Region-level: every shard reports the unsharded replica's value.
                want = series(prom.query(f'{fam}{{job="{UNSHARDED_JOB}"}}'))
                for i in range(3):
                    got = series(prom.query(f'{fam}{{job="provledger_exporter",shard="{i}"}}'))
                    if got != want:
                        problems.append(f"{fam}: shard {i} {got} != unsharded {want}")
            return problems

        problems = compare()
        if problems:   # one more round of scrapes and evaluations, then it must hold
            time.sleep(5)
            problems = compare()
        assert not problems, "sharded != unsharded:\n  " + "\n  ".join(problems)
        counts = {fam: len(series(prom.query(f'{fam}{{job="{UNSHARDED_JOB}"}}'))) for fam in SUMMED + MAXED}
        settled = prom.query(f'sum(attest_ops_settled_total{{job="{UNSHARDED_JOB}"}})')[0]["value"][1]
        lat = series(prom.query(f'ledger_anchor_latency_ms_count{{job="{UNSHARDED_JOB}"}}'))
        assert all(("tenant" in dict(k)) != REGION_LATENCY for k in lat), lat
        if REGION_LATENCY:   # the region histograms really are split across the shards
            for region in ("eu-west", "us-east"):
                parts = [float(v) for v in series(prom.query(
                    f'ledger_anchor_latency_ms_count{{job="provledger_exporter",region="{region}"}}'),
                    drop=("job", "instance", "__name__")).values()]
                assert len(parts) == 3 and sum(1 for p in parts if p > 0) >= 2, (region, parts)
        log(f"ok (region_latency={REGION_LATENCY}): every business family over 3 shards == unsharded; series per family {counts}; "
            f"{settled} operations settled")
        ok = True
    finally:
        if sim.poll() is None:
            sim.send_signal(signal.SIGTERM)
            sim.wait(timeout=30)
        prom.stop()
        for exp in replicas.values():
            exp.kill()
        if ok:
            shutil.rmtree(work, ignore_errors=True)
        else:
            log(f"work dir kept: {work}")


if __name__ == "__main__":
    run_test(test_shards)

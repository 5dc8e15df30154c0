#!/usr/bin/env python3
"""End to end with a real Prometheus (suite 'rules').

Starts (tests/rules/live_env.py) PostgreSQL, the simulator and the built exporter, then
Debian's prometheus on 127.0.0.1:<free port> with a temp storage dir, scrape and
evaluation interval 1s, scraping the exporter as job "provledger_exporter" and loading
the shipped rules. Through Prometheus's HTTP API it asserts:

1. the target is up;
2. with clean traffic (divergence_rate=0, missing_rate=0) neither DivergenceDetected
   nor CoverageBelow100 is pending or firing once coverage data exists;
3. DivergenceDetected fires when the simulator injects divergence, and resolves
   after it stops;
4. CoverageBelow100 fires when the simulator withholds receipts, and resolves
   after it stops;
5. every dashboard query (targets and template queries, variables substituted,
   $__range = the time the test has run) returns at least one finite sample.

Timing. The shipped rules' `for:` (1m-15m) and windows (5m-1h) are right for
production and far too long for a test. Prometheus gets a COPY of alerts/rules.yml in
which only these are rewritten: every `for: <N>m` -> `for: 3s`, and range windows
[5m] -> [20s], [10m]/[30m] -> [30s], [1h] -> [60s]. Expressions, thresholds, labels and
aggregation are the shipped ones (rules_test.yml pins the real `for` and windows). The
recording rule names still say rate5m/rate30m; in the copy they hold the short windows.
Every other literal is left alone; the copy is made by alerts/gen-rules (`scale`), which
refuses to leave a minute window or `for` behind.
"""

import math
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import provtest as t  # noqa: E402
import live_env  # noqa: E402

WINDOWS = {"5m": "20s", "10m": "30s", "15m": "30s", "30m": "30s", "1h": "60s"}
FOR_SHORT = "3s"
ALERT_TIMEOUT = 150  # s; fire: data delay (grace 12s, polls 1s) + 30s window + for 3s
RESOLVE_TIMEOUT = 180


def short_rules(text, selector=None):
    """The test copy: alerts/gen-rules' substitutions (short windows and `for`; optionally
    another job selector)."""
    gen = t.gen_rules()
    try:
        return gen.generate(text, "alerts/rules.yml", selector=selector, windows=WINDOWS, for_=FOR_SHORT)
    except gen.InputError as e:
        t.fail(f"the test copy of the rules: {e}")


def alerts(prom, name):
    return [a for a in prom.api("alerts")["alerts"] if a["labels"].get("alertname") == name]


def firing(prom, name):
    return [a for a in alerts(prom, name) if a["state"] == "firing"]


def finite_samples(result):
    vals = []
    for s in result.get("result", []):
        v = s.get("value")
        if v:
            try:
                f = float(v[1])
            except ValueError:
                continue
            if not math.isnan(f) and not math.isinf(f):
                vals.append(f)
    return vals


def main():
    promtool = t.find_tool("promtool")
    with open(t.RULES_FILE) as f:
        rules_copy = short_rules(f.read())
    started = time.time()
    with live_env.LiveEnv("rules-e2e-") as env:
        rules_path = os.path.join(env.work, "rules.short.yml")
        with open(rules_path, "w") as f:
            f.write(rules_copy)
        t.run([promtool, "check", "rules", rules_path])
        prom = t.Prometheus(env.work, [rules_path], scrape_targets=[env.exporter_target()],
                            scrape_interval="1s", evaluation_interval="1s")
        env.procs.append(prom.proc)
        prom.wait_ready()
        step = "start"
        try:
            step = "target up"
            t.wait_until("target up", lambda: any(
                s["value"][1] == "1" for s in prom.query(f'up{{job="{t.JOB}"}}')["result"]), 60)
            print("ok: Prometheus scrapes the exporter (up == 1)")

            step = "coverage data"
            t.wait_until("coverage ratio recorded for some tenant", lambda: env.check_alive() or finite_samples(
                prom.query('job_tenant:attest_ops_receipted_per_settled:ratio_rate30m')), 120)
            # Clean traffic: neither alert may even be pending for a while.
            step = "quiet baseline"
            quiet_until = time.monotonic() + 20
            while time.monotonic() < quiet_until:
                for name in ("DivergenceDetected", "CoverageBelow100"):
                    active = alerts(prom, name)
                    if active:
                        t.fail(f"{name} is {active[0]['state']} on clean traffic: {active}")
                env.check_alive()
                time.sleep(1)
            print("ok: no DivergenceDetected/CoverageBelow100 on clean traffic (20s)")

            step = "DivergenceDetected fires"
            env.write_control(divergence_rate="0.3")
            t.wait_until("DivergenceDetected firing", lambda: env.check_alive() or firing(prom, "DivergenceDetected"),
                         ALERT_TIMEOUT, interval=1)
            fired = firing(prom, "DivergenceDetected")
            print(f"ok: DivergenceDetected fires for {sorted(a['labels'].get('tenant') for a in fired)}")
            step = "DivergenceDetected resolves"
            env.write_control(divergence_rate="0")
            t.wait_until("DivergenceDetected resolved", lambda: env.check_alive() or not alerts(prom, "DivergenceDetected"),
                         RESOLVE_TIMEOUT, interval=1)
            print("ok: DivergenceDetected resolves after divergence stops")

            step = "CoverageBelow100 fires"
            env.write_control(missing_rate="0.4")
            t.wait_until("CoverageBelow100 firing", lambda: env.check_alive() or firing(prom, "CoverageBelow100"),
                         ALERT_TIMEOUT, interval=1)
            fired = firing(prom, "CoverageBelow100")
            print(f"ok: CoverageBelow100 fires for {sorted(a['labels'].get('tenant') for a in fired)}")
            step = "CoverageBelow100 resolves"
            env.write_control(missing_rate="0")
            t.wait_until("CoverageBelow100 resolved", lambda: env.check_alive() or not alerts(prom, "CoverageBelow100"),
                         RESOLVE_TIMEOUT, interval=1)
            print("ok: CoverageBelow100 resolves after receipts flow again")

            step = "dashboard queries"
            ran = max(60, int(time.time() - started))
            # $settlement_lag 1s: the daily panels read the counters now (with the default lag
            # they read the future); rules-e2e-report-day checks them against the report.
            subst = {"__rate_interval": "20s", "__interval": "1s", "__range": f"{ran}s",
                     "__range_s": str(ran), "__range_ms": str(ran * 1000), "settlement_lag": "1s"}
            empty = []
            n = 0
            for fn, d in t.load_dashboards():
                for where, expr in t.dashboard_queries(fn, d):
                    n += 1
                    q = t.substitute(expr, subst)
                    if not finite_samples(prom.query(q)):
                        empty.append(f"{where}: {q}")
            if empty:
                t.fail("dashboard queries without data:\n  " + "\n  ".join(empty))
            print(f"ok: all {n} dashboard queries return data")
        except t.TestFailure as e:
            raise t.TestFailure(f"[{step}] {e}\n{env.logs()}\n--- prometheus\n{prom.proc.tail(20)}")


if __name__ == "__main__":
    t.main_wrapper(main)

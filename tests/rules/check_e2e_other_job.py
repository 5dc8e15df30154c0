#!/usr/bin/env python3
"""Rules generated for another job name fire in a real Prometheus (suite 'rules').

The shipped rules select job="provledger_exporter"; a user whose scrape job has another
name generates them with `alerts/gen-rules --job NAME`. This test starts the live setup
(tests/rules/live_env.py: PostgreSQL, simulator, the built exporter) and Debian's
prometheus scraping the exporter as job "monitoring/ledger-eu" (what a PodMonitor names a
job without relabelling), with the rules that gen-rules generates for that job (and the
same short windows and `for` as rules-e2e-prometheus, also gen-rules': see that test's
header). It asserts:

1. the recording rules produce the coverage ratio for that job (the rules see the data);
2. with clean traffic no governance alert is active;
3. after injecting divergence, withheld receipts, slow anchoring and a paused notary at
   once, all four governance alerts (AnchorLatencySLO, CoverageBelow100,
   DivergenceDetected, NotaryLag) fire, each labelled with that job.

4. the runbook's statement on the seed's ledger.json (docs/runbook.md, "The seed's
   dashboards"): label_values over the bare histogram name `ledger_anchor_latency_ms`
   (Grafana asks /api/v1/label/region/values?match[]=...) returns no region, while the
   working queries over `anchor_queue_depth` and `ledger_anchor_latency_ms_bucket` return
   both regions of the live setup.

Control (must be able to fail): the same Prometheus also loads the shipped rules' short
copy under renamed groups and alert names ("Shipped..."); none of those may fire, which
shows that the shipped selector really does not match this job.
"""

import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import provtest as t  # noqa: E402
import live_env  # noqa: E402
from check_e2e_prometheus import ALERT_TIMEOUT, alerts, finite_samples, firing, short_rules  # noqa: E402

OTHER_JOB = "monitoring/ledger-eu"
GOVERNANCE = ("AnchorLatencySLO", "CoverageBelow100", "DivergenceDetected", "NotaryLag")


def shipped_control(text):
    """The shipped rules' short copy with its group, record and alert names prefixed, so
    it can run beside the generated copy without clashing."""
    out = re.sub(r"^(\s*- name: )provledger_exporter\.", r"\1shipped_control.", text, flags=re.M)
    out = re.sub(r"^(\s*- alert: )", r"\1Shipped", out, flags=re.M)
    return out


def main():
    promtool = t.find_tool("promtool")
    with open(t.RULES_FILE) as f:
        shipped = f.read()
    gen = t.gen_rules()
    rules = short_rules(shipped, selector=gen.job_selector(OTHER_JOB))
    if 'job="provledger_exporter"' in rules:
        t.fail("the generated copy still selects the shipped job")
    control = shipped_control(short_rules(shipped))
    with live_env.LiveEnv("rules-e2e-job-") as env:
        rules_path = os.path.join(env.work, "rules.other-job.yml")
        control_path = os.path.join(env.work, "rules.shipped-control.yml")
        with open(rules_path, "w") as f:
            f.write(rules)
        with open(control_path, "w") as f:
            f.write(control)
        t.run([promtool, "check", "rules", rules_path, control_path])
        prom = t.Prometheus(env.work, [rules_path, control_path], scrape_targets=[env.exporter_target()],
                            scrape_interval="1s", evaluation_interval="1s", job=OTHER_JOB)
        env.procs.append(prom.proc)
        prom.wait_ready()
        step = "start"
        try:
            step = "target up"
            t.wait_until(f"target up as job {OTHER_JOB}", lambda: any(
                s["value"][1] == "1" for s in prom.query(f'up{{job="{OTHER_JOB}"}}')["result"]), 60)
            print(f"ok: Prometheus scrapes the exporter as job {OTHER_JOB}")

            step = "recording rules see the job"
            t.wait_until("coverage ratio recorded for the other job", lambda: env.check_alive() or finite_samples(
                prom.query(f'job_tenant:attest_ops_receipted_per_settled:ratio_rate30m{{job="{OTHER_JOB}"}}')), 120)
            print("ok: the generated recording rules produce the coverage ratio for that job")

            step = "quiet baseline"
            for _ in range(10):
                active = [a for a in prom.api("alerts")["alerts"] if a["labels"].get("alertname") in GOVERNANCE]
                if active:
                    t.fail(f"governance alert active on clean traffic: {active}")
                env.check_alive()
                time.sleep(1)
            print("ok: no governance alert on clean traffic")

            step = "all four fire"
            env.write_control(divergence_rate="0.3", missing_rate="0.4", latency_scale="5", notary_pause="1")

            def all_firing():
                env.check_alive()
                return all(firing(prom, name) for name in GOVERNANCE)
            t.wait_until("all four governance alerts firing", all_firing, ALERT_TIMEOUT + 60, interval=1)
            for name in GOVERNANCE:
                jobs = {a["labels"].get("job") for a in firing(prom, name)}
                if jobs != {OTHER_JOB}:
                    t.fail(f"{name} fires with job labels {jobs}, want {{{OTHER_JOB!r}}}")
                print(f"ok: {name} fires for job {OTHER_JOB} "
                      f"({len(firing(prom, name))} alert(s))")

            step = "control"
            shipped_active = [a["labels"]["alertname"] for a in prom.api("alerts")["alerts"]
                              if a["labels"].get("alertname", "").startswith("Shipped")
                              and a["labels"]["alertname"][len("Shipped"):] in GOVERNANCE]
            if shipped_active:
                t.fail(f"control: the shipped rules' alerts are active for job {OTHER_JOB}: {shipped_active}")
            if not alerts(prom, "ShippedProvledgerExporterAbsent"):
                t.fail("control: the shipped ProvledgerExporterAbsent is not even pending; "
                       "is the control copy loaded?")
            print("ok: control: the shipped selector sees nothing (only its absent-exporter alert is active)")

            step = "seed's region dropdown"

            def regions(metric):
                return sorted(prom.api("label/region/values", **{"match[]": metric}))
            want = ["eu-west", "us-east"]
            got = {m: regions(m) for m in ("ledger_anchor_latency_ms", "anchor_queue_depth",
                                           "ledger_anchor_latency_ms_bucket")}
            if got["ledger_anchor_latency_ms"] or got["anchor_queue_depth"] != want \
                    or got["ledger_anchor_latency_ms_bucket"] != want:
                t.fail(f"label_values(<metric>, region) per metric: {got}; want none for the bare "
                       f"histogram name and {want} for the other two (docs/runbook.md)")
            print("ok: label_values(ledger_anchor_latency_ms, region) is empty; over anchor_queue_depth "
                  f"and ledger_anchor_latency_ms_bucket it gives {want}")
        except t.TestFailure as e:
            raise t.TestFailure(f"[{step}] {e}\n{env.logs()}\n--- prometheus\n{prom.proc.tail(20)}")


if __name__ == "__main__":
    t.main_wrapper(main)

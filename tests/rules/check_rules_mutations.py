#!/usr/bin/env python3
"""Proves tests/rules/rules_test.yml pins every alert's threshold and `for` (suite 'rules').

For each mutant of alerts/rules.yml - every alert's `for` one minute shorter and one
minute longer, each threshold nudged to include the boundary value or to exclude the
"just over" value, aggregation and selector changes back towards the seed - the
unchanged rules_test.yml must FAIL under `promtool test rules`. The unmutated copy
must pass (control). A mutant that survives means a boundary is not tested.
"""

import concurrent.futures
import os
import re
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import provtest as t  # noqa: E402

# (alert or record name whose block is edited, old text, new text, why it must be caught)
MUTATIONS = [
    ("AnchorLatencySLO", "> 30", ">= 30", "p95 exactly 30 ms must not fire"),
    ("AnchorLatencySLO", "> 30", "> 30.5", "p95 30.39 ms must fire"),
    ("job_region:ledger_anchor_latency_ms_bucket:rate5m", "sum by (job, region, le)", "sum by (job, le)",
     "latency aggregated over all regions (seed) hides the slow region"),
    ("CoverageBelow100", "< 1", "<= 1", "full coverage (ratio exactly 1) must not fire"),
    ("CoverageBelow100", "< 1", "< 0.999", "ratio 0.9995 (one missing of 2001) must fire"),
    ("job_tenant:attest_ops_receipted_per_settled:ratio_rate30m", 'outcome=~"attested|divergent"',
     'outcome="attested"', "divergent operations have a receipt: covered"),
    ("job_tenant:attest_ops_receipted_per_settled:ratio_rate30m",
     '\n            or\n              0 * sum by (job, tenant) (job_tenant_outcome:attest_ops_settled:rate30m{job="provledger_exporter"})',
     "", "a tenant with only missing operations must fire"),
    ("job_tenant_outcome:attest_ops_settled:rate30m", "[30m]", "[20m]",
     "the missing receipt must stay in the 30m window until 40m"),
    ("DivergenceDetected", "> 0", ">= 0", "no new divergence must not fire"),
    ("DivergenceDetected", "[10m]", "[11m]", "must resolve 10m after the divergence"),
    ("DivergenceDetected", "sum by (job, tenant) (increase(", "sum by (job, tenant) (delta(",
     "a counter reset is not a divergence"),
    ("NotaryLag", "> 60", ">= 60", "lag exactly 60 s must not fire"),
    ("NotaryLag", "> 60", "> 61", "lag 61 s must fire"),
    ("NotaryLag", "> 0) > 60", ") > 60", "a zero timestamp (no proof yet) must be ignored"),
    ("NotaryLag", "max by (job, region)", "max by (job)", "max over regions (seed) hides a lagging region"),
    ("ProvledgerExporterDown", "== 0", "< 2", "a target that is up must not fire"),
    ("ProvledgerExporterDown", 'up{job="provledger_exporter"}', "up", "other jobs must not fire"),
    ("ProvledgerExporterSourceDown", "== 0", "< 2", "a source that is up must not fire"),
    ("ProvledgerExporterPollErrors", "> 0", ">= 0", "a flat error counter must not fire"),
    ("ProvledgerExporterPollErrors", 'kind=~"connect|query|timeout"', 'kind=~"connect|query|timeout|decode"',
     "decode errors have their own alert"),
    ("ProvledgerExporterPollErrors", "sum by (job, instance, source, kind)", "sum by (job, instance, source)",
     "the alert must name the error kind"),
    ("ProvledgerExporterPollStale", "> 300", ">= 300", "stale exactly 300 s must not fire"),
    ("ProvledgerExporterPollStale", "> 300", "> 301", "stale 301 s must fire"),
    ("ProvledgerExporterDecodeErrors", "> 0", ">= 0", "an old, flat decode count must not fire"),
    ("ProvledgerExporterDecodeErrors", "[30m]", "[31m]", "must resolve 30m after the bad rows"),
    ("ProvledgerExporterTenantsDropped", "> 0", ">= 0", "no new refusal must not fire"),
    ("ProvledgerExporterTenantsDropped", "[1h]", "[61m]", "must resolve an hour after the refusal"),
    ("ProvledgerExporterStateWriteErrors", "> 0", ">= 0", "an old, flat error count must not fire"),
    ("ProvledgerExporterStateWriteErrors", "[15m]", "[16m]", "must resolve 15m after the last failure"),
    ("ProvledgerExporterQueryUnindexed", "== 1", ">= 0", "an indexed query (0) must not fire"),
    ("ProvledgerExporterQueryUnindexed", 'provledger_exporter_query_plan_unindexed{job="provledger_exporter"}',
     "provledger_exporter_query_plan_unindexed", "other jobs must not fire"),
    ("ProvledgerExporterCoverageStalled", "> 600", ">= 600", "lag exactly 600 s must not fire"),
    ("ProvledgerExporterCoverageStalled", "> 600", "> 601", "lag 601 s must fire"),
]


def blocks(text):
    """name -> (start, end) character span of each rule's block in the rules text."""
    starts = [(m.start(), m.group(2)) for m in re.finditer(r"^\s*- (alert|record): (\S+)\s*$", text, re.M)]
    out = {}
    for i, (pos, name) in enumerate(starts):
        end = starts[i + 1][0] if i + 1 < len(starts) else len(text)
        out.setdefault(name, []).append((pos, end))
    return out


def mutate(text, name, old, new):
    spans = blocks(text).get(name)
    if not spans:
        t.fail(f"no rule named {name} in alerts/rules.yml")
    for start, end in spans:
        block = text[start:end]
        if old in block:
            return text[:start] + block.replace(old, new, 1) + text[end:]
    t.fail(f"mutation target {old!r} not found in rule {name}")


def for_mutations(text):
    out = []
    for name, spans in blocks(text).items():
        for start, end in spans:
            m = re.search(r"^(\s*for: )(\d+)m\s*$", text[start:end], re.M)
            if not m:
                continue
            minutes = int(m.group(2))
            for delta in (-1, 1):
                out.append((name, f"{m.group(1)}{minutes}m\n", f"{m.group(1)}{minutes + delta}m\n",
                            f"for: {minutes}m boundary ({minutes + delta}m must be caught)"))
    return out


def run_tests(work, rules_text):
    os.makedirs(os.path.join(work, "alerts"), exist_ok=True)
    os.makedirs(os.path.join(work, "tests", "rules"), exist_ok=True)
    with open(os.path.join(work, "alerts", "rules.yml"), "w") as f:
        f.write(rules_text)
    shutil.copy(t.RULES_TEST_FILE, os.path.join(work, "tests", "rules", "rules_test.yml"))
    return t.run([t.find_tool("promtool"), "test", "rules", os.path.join(work, "tests", "rules", "rules_test.yml")],
                 check=False, timeout=120)


def main():
    with open(t.RULES_FILE) as f:
        original = f.read()
    work = t.temp_workdir("rules-mutations-")
    try:
        control = run_tests(os.path.join(work, "control"), original)
        if control.returncode != 0:
            t.fail(f"unmutated rules fail their tests:\n{control.stdout}")
        mutants = for_mutations(original) + MUTATIONS
        alerts_with_for = {m[0] for m in for_mutations(original)}
        missing_for = [r.get("alert") for _, r in t.all_rules() if "alert" in r and r.get("for")
                       and r.get("alert") not in alerts_with_for]
        if missing_for:
            t.fail(f"could not generate for-mutations for {missing_for} (use whole minutes)")
        texts = [mutate(original, name, old, new) for name, old, new, _ in mutants]

        def one(i):
            return run_tests(os.path.join(work, f"m{i}"), texts[i])

        # promtool takes ~2 s per run; two at a time (the machine has 2 cores).
        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            results = list(pool.map(one, range(len(mutants))))
        survived = []
        for (name, old, new, why), p in zip(mutants, results):
            status = "killed" if p.returncode != 0 else "SURVIVED"
            print(f"{status}: {name}: {old.strip()!r} -> {new.strip()!r} ({why})")
            if p.returncode == 0:
                survived.append(f"{name}: {old.strip()!r} -> {new.strip()!r}: {why}")
        if survived:
            t.fail("rules_test.yml does not catch these changes:\n  " + "\n  ".join(survived))
        print(f"ok: {len(mutants)} mutants, all killed")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    t.main_wrapper(main)

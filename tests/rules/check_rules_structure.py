#!/usr/bin/env python3
"""Structure of alerts/rules.yml, its tests and its runbook (suite 'rules').

Checks, each with the reason it matters:
- Prometheus 2.42 itself loads the file (a real Prometheus on loopback, temp dir) and
  its /api/v1/rules view matches what this script reads (so the checks below read
  the file the way Prometheus does).
- Groups: recording, governance, exporter, in that order; the seed's four alert names.
- Every alert: CamelCase name, severity in critical|warning|info, a summary that is a
  sentence ending in '.', a templated description, runbook_url = documented base +
  '#<lowercased name>', and docs/runbook.md has that heading.
- Recording rules are named level:metric:operations, the level starts with job,
  `_total` is stripped when rate/increase is applied, and every name used is defined.
- Every selector in every rule carries exactly job="provledger_exporter" (the one
  documented parameter).
- tests/rules/rules_test.yml: every alert has a firing and a not-firing case; every
  alert with a `for` has a case pending one evaluation before it fires (the `for`
  boundary); every recording rule appears in a promql_expr_test.
"""

import os
import re
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import provtest as t  # noqa: E402

SEVERITIES = {"critical", "warning", "info"}
GROUPS = ["provledger_exporter.recording", "provledger_exporter.governance",
          "provledger_exporter.exporter"]


def duration_seconds(d):
    if d in (None, "", "0", "0s"):
        return 0
    total = 0
    for num, unit in re.findall(r"(\d+)(ms|s|m|h|d|w|y)", d):
        total += int(num) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400,
                             "w": 604800, "y": 31536000}[unit]
    if not re.fullmatch(r"(\d+(ms|s|m|h|d|w|y))+", d):
        t.fail(f"bad duration {d!r}")
    return total


def github_slugs(markdown):
    slugs = set()
    for line in markdown.splitlines():
        m = re.match(r"^(#{1,6})\s+(.*?)\s*#*\s*$", line)
        if m:
            s = m.group(2).strip().lower()
            s = re.sub(r"[^\w\- ]", "", s)
            slugs.add(s.replace(" ", "-"))
    return slugs


def check_structure(errors):
    groups = t.rules_groups()
    names = [g.get("name") for g in groups]
    if names != GROUPS:
        errors.append(f"rule groups are {names}, want {GROUPS}")
    with open(t.RUNBOOK, encoding="utf-8") as f:
        slugs = github_slugs(f.read())
    defined_records = set()
    alerts = {}
    for g in groups:
        for r in g.get("rules", []):
            expr = r.get("expr")
            if not isinstance(expr, str) or not expr.strip():
                errors.append(f"{g['name']}: rule without expr: {r}")
                continue
            where = r.get("alert") or r.get("record")
            # the job selector
            for sel in t.promql_selectors(expr):
                if sel.name is None:
                    errors.append(f"{where}: selector without metric name")
                jobs = [m for m in sel.matchers if m[0] == "job"]
                if jobs != [t.JOB_MATCHER]:
                    errors.append(f"{where}: selector {sel.name} has job matchers {jobs}, "
                                  f"want exactly job=\"{t.JOB}\"")
                if ":" in (sel.name or "") and sel.name not in defined_records:
                    errors.append(f"{where}: uses recording rule {sel.name} before (or without) defining it")
            if "record" in r:
                if g["name"] != GROUPS[0]:
                    errors.append(f"recording rule {r['record']} outside {GROUPS[0]}")
                name = r["record"]
                m = re.fullmatch(r"([a-z0-9_]+):([a-z0-9_]+):([a-z0-9_]+)", name)
                if not m:
                    errors.append(f"recording rule {name} is not level:metric:operations")
                else:
                    level, metric, ops = m.groups()
                    if not level.startswith("job"):
                        errors.append(f"recording rule {name}: level must aggregate by job first")
                    if re.search(r"(rate|increase)", ops) and metric.endswith("_total"):
                        errors.append(f"recording rule {name}: strip _total after rate()")
                    if "ratio" in ops and "_per_" not in metric:
                        errors.append(f"recording rule {name}: a ratio's metric part needs _per_")
                defined_records.add(name)
                continue
            name = r.get("alert")
            if g["name"] == GROUPS[0]:
                errors.append(f"alert {name} in the recording group")
            if not re.fullmatch(r"[A-Z][A-Za-z0-9]+", name or ""):
                errors.append(f"alert name {name!r} is not CamelCase")
            if name in alerts:
                errors.append(f"alert {name} defined twice (allowed by Prometheus, not used here)")
            alerts[name] = r
            sev = (r.get("labels") or {}).get("severity")
            if sev not in SEVERITIES:
                errors.append(f"{name}: severity {sev!r} not in {sorted(SEVERITIES)}")
            ann = r.get("annotations") or {}
            summary = ann.get("summary", "")
            if not (summary[:1].isupper() or summary[:1].islower()) or not summary.endswith("."):
                errors.append(f"{name}: summary {summary!r} is not a sentence ending in '.'")
            desc = ann.get("description", "")
            if "{{" not in desc or not re.search(r"\$labels\.|\$value", desc):
                errors.append(f"{name}: description is not templated with $labels/$value")
            want = f"{t.RUNBOOK_BASE}#{name.lower()}"
            if ann.get("runbook_url") != want:
                errors.append(f"{name}: runbook_url {ann.get('runbook_url')!r}, want {want!r}")
            if name.lower() not in slugs:
                errors.append(f"{name}: docs/runbook.md has no heading with anchor #{name.lower()}")
            if duration_seconds(r.get("for")) and duration_seconds(r.get("for")) < 60:
                errors.append(f"{name}: for: {r.get('for')} is shorter than a few scrape intervals")
    for a in t.SEED_ALERTS:
        if a not in alerts:
            errors.append(f"seed alert {a} is missing")
        elif a not in [r.get("alert") for r in groups[1].get("rules", [])]:
            errors.append(f"seed alert {a} is not in {GROUPS[1]}")
    if "Parameters" not in slugs and "parameters" not in slugs:
        errors.append("docs/runbook.md has no 'Parameters' section")
    return groups, alerts, defined_records


def check_tests(errors, alerts, records):
    doc = t.load_yaml(t.RULES_TEST_FILE)
    files = doc.get("rule_files") or []
    if [os.path.normpath(os.path.join(os.path.dirname(t.RULES_TEST_FILE), f)) for f in files] != [t.RULES_FILE]:
        errors.append(f"rules_test.yml rule_files {files} does not point at alerts/rules.yml")
    eval_interval = duration_seconds(doc.get("evaluation_interval", "1m"))
    firing, quiet, pending_boundary = set(), set(), set()
    exprs = []
    for case in doc.get("tests") or []:
        by_alert = {}
        for a in case.get("alert_rule_test") or []:
            name = a.get("alertname")
            if name not in alerts:
                errors.append(f"test {case.get('name')!r} checks unknown alert {name}")
                continue
            exp = a.get("exp_alerts") or []
            (firing if exp else quiet).add(name)
            by_alert.setdefault(name, []).append((duration_seconds(a.get("eval_time")), bool(exp)))
        for name, evals in by_alert.items():
            evals = dict(evals)
            for ts, fired in evals.items():
                if fired and evals.get(ts - eval_interval) is False:
                    pending_boundary.add(name)
        for e in case.get("promql_expr_test") or []:
            exprs.append(e.get("expr", ""))
    for name, r in alerts.items():
        if name not in firing:
            errors.append(f"{name}: no test case where it fires")
        if name not in quiet:
            errors.append(f"{name}: no test case where it does not fire")
        if duration_seconds(r.get("for")) > 0 and name not in pending_boundary:
            errors.append(f"{name}: no test showing it not firing one evaluation before it fires "
                          f"(the `for: {r.get('for')}` boundary)")
    used = set()
    for e in exprs:
        used |= {s.name for s in t.promql_selectors(e)}
    for rec in records:
        if rec not in used:
            errors.append(f"recording rule {rec} has no promql_expr_test")


def check_against_prometheus(errors, groups):
    work = t.temp_workdir("rules-structure-")
    try:
        prom = t.Prometheus(work, [t.RULES_FILE])
        try:
            prom.wait_ready()
            data = prom.api("rules")
        finally:
            prom.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    # The API lists groups sorted by name, rules in file order.
    got = {g["name"]: g for g in data.get("groups", [])}
    if sorted(got) != sorted(g["name"] for g in groups):
        errors.append(f"Prometheus loaded groups {sorted(got)}, "
                      f"this script read {sorted(g['name'] for g in groups)}")
        return
    for yg in groups:
        pg = got[yg["name"]]
        if len(pg["rules"]) != len(yg["rules"]):
            errors.append(f"group {pg['name']}: Prometheus has {len(pg['rules'])} rules, read {len(yg['rules'])}")
            continue
        for pr, yr in zip(pg["rules"], yg["rules"]):
            name = yr.get("alert") or yr.get("record")
            if pr["name"] != name:
                errors.append(f"rule order/name differs: Prometheus {pr['name']}, read {name}")
            if (pr.get("labels") or {}) != (yr.get("labels") or {}):
                errors.append(f"{name}: labels differ: Prometheus {pr.get('labels')}, read {yr.get('labels')}")
            if pr["type"] == "alerting":
                if pr.get("annotations") != yr.get("annotations"):
                    errors.append(f"{name}: annotations differ: Prometheus {pr.get('annotations')}, "
                                  f"read {yr.get('annotations')}")
                if pr.get("duration", 0) != duration_seconds(yr.get("for")):
                    errors.append(f"{name}: for differs: Prometheus {pr.get('duration')}s, read {yr.get('for')}")
            # The same selectors, as Prometheus re-prints the parsed expression.
            if sorted(map(repr, t.promql_selectors(pr["query"]))) != sorted(map(repr, t.promql_selectors(yr["expr"]))):
                errors.append(f"{name}: selectors differ between Prometheus's parse and ours:\n"
                              f"  {pr['query']}\n  {yr['expr']}")


def main():
    errors = []
    groups, alerts, records = check_structure(errors)
    check_tests(errors, alerts, records)
    check_against_prometheus(errors, groups)
    if errors:
        t.fail("rules structure:\n  " + "\n  ".join(errors))
    print(f"ok: {len(alerts)} alerts, {len(records)} recording rule names, all checks passed")


if __name__ == "__main__":
    t.main_wrapper(main)

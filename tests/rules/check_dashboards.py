#!/usr/bin/env python3
"""Dashboards: structure per docs/reference conventions and every PromQL expression
validated by promtool (suite 'rules').

Structure (each dashboards/*.json):
- stable uid (8-40 chars of [A-Za-z0-9_-], unique), unique title, "id": null, tags
  including "provledger", integer schemaVersion of an older Grafana (36-39);
- no "__inputs" and no "${DS_...}" anywhere (both break file provisioning);
- first variable `datasource` (type datasource, query prometheus, label "Data source");
  `job` and `instance` query variables on ${datasource}, multi, include All with
  allValue ".+", refresh on time change (2), labels "Job"/"Instance"; plus the
  dashboard's own variable (tenant | region | source) built the same way;
- every panel (rows excepted): unique id, title, description, a unit in
  fieldConfig.defaults.unit, datasource ${datasource}, at least one target, a valid
  gridPos;
- every query: each selector has job=~"$job"; raw series also instance=~"$instance"
  (recording-rule series and ALERTS have no instance label); range selectors use
  [$__rate_interval] or [$__range] only; counters and histogram series only inside a
  range (rate/increase); recording rules used exist in alerts/rules.yml; only
  variables the dashboard defines (or Grafana's built-ins) are used.

Provisioning: packaging/grafana/dashboards.yml is a file provider whose path is the
installed dashboards directory.

PromQL: promtool 2.42 has no "check expression", so every expression (targets and
PromQL template queries; label_values(sel, label) reduced to sel; variables replaced
by concrete values) is written as a recording rule into a temporary rules file and
`promtool check rules` must accept it. A deliberately broken copy must be rejected,
so the check cannot pass vacuously.
"""

import os
import re
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import provtest as t  # noqa: E402

DS_REF = {"type": "prometheus", "uid": "${datasource}"}
OWN_VARIABLE = {"provledger-tenants": "tenant", "provledger-ledger": "region",
                "provledger-exporter": "source"}
BUILTINS = {"__rate_interval", "__interval", "__interval_ms", "__range", "__range_s", "__range_ms"}
COUNTER_LIKE = re.compile(r"(_total|_bucket|_sum|_count)$|^attest_divergence_count$")


def check_variable(errors, fn, v, name, label):
    where = f"{fn}: variable ${name}"
    if v.get("type") != "query":
        errors.append(f"{where}: type {v.get('type')!r}, want query")
    if v.get("datasource") != DS_REF:
        errors.append(f"{where}: datasource {v.get('datasource')}, want {DS_REF}")
    if not v.get("multi") or not v.get("includeAll") or v.get("allValue") != ".+":
        errors.append(f"{where}: want multi, includeAll and allValue '.+'")
    if v.get("refresh") != 2:
        errors.append(f"{where}: refresh {v.get('refresh')}, want 2 (on time range change)")
    if v.get("label") != label:
        errors.append(f"{where}: label {v.get('label')!r}, want {label!r}")
    q = t.template_promql(v)
    if not q:
        errors.append(f"{where}: not a PromQL-backed query")
    elif name != "job":
        sels = t.promql_selectors(q)
        if not all(("job", "=~", "$job") in s.matchers for s in sels):
            errors.append(f"{where}: query {q!r} is not filtered by job=~\"$job\"")


def check_structure(errors, dashboards, records):
    uids, titles = set(), set()
    for fn, d in dashboards:
        text = open(os.path.join(t.DASHBOARD_DIR, fn), encoding="utf-8").read()
        if "__inputs" in d or "__inputs" in text:
            errors.append(f"{fn}: has __inputs")
        if "${DS_" in text:
            errors.append(f"{fn}: references ${{DS_...}} (export-for-sharing form)")
        uid = d.get("uid")
        if not isinstance(uid, str) or not re.fullmatch(r"[A-Za-z0-9_-]{8,40}", uid):
            errors.append(f"{fn}: uid {uid!r} missing or not 8-40 chars of [A-Za-z0-9_-]")
        elif uid in uids:
            errors.append(f"{fn}: uid {uid} reused")
        uids.add(uid)
        if d.get("title") in titles or not d.get("title"):
            errors.append(f"{fn}: title {d.get('title')!r} empty or reused")
        titles.add(d.get("title"))
        if "id" not in d or d["id"] is not None:
            errors.append(f"{fn}: want \"id\": null")
        sv = d.get("schemaVersion")
        if not isinstance(sv, int) or not 36 <= sv <= 39:
            errors.append(f"{fn}: schemaVersion {sv!r}, want an integer 36-39 (older Grafana)")
        if "provledger" not in (d.get("tags") or []):
            errors.append(f"{fn}: tags {d.get('tags')} lack 'provledger'")
        if not d.get("description"):
            errors.append(f"{fn}: no dashboard description")

        variables = d.get("templating", {}).get("list", [])
        names = [v.get("name") for v in variables]
        if not variables or variables[0].get("name") != "datasource":
            errors.append(f"{fn}: first variable must be 'datasource'")
        else:
            ds = variables[0]
            if ds.get("type") != "datasource" or ds.get("query") != "prometheus" or ds.get("label") != "Data source":
                errors.append(f"{fn}: datasource variable must be type datasource, query prometheus, "
                              f"label 'Data source'")
        by_name = {v.get("name"): v for v in variables}
        want = [("job", "Job"), ("instance", "Instance")]
        own = OWN_VARIABLE.get(uid)
        if own:
            want.append((own, own.capitalize()))
        else:
            errors.append(f"{fn}: unknown uid {uid}: add it to OWN_VARIABLE")
        for name, label in want:
            if name not in by_name:
                errors.append(f"{fn}: no ${name} variable")
            else:
                check_variable(errors, fn, by_name[name], name, label)
        defined = set(names) | BUILTINS

        ids = set()
        for p in t.iter_panels(d):
            pid = p.get("id")
            where = f"{fn}: panel {pid} {p.get('title')!r}"
            if pid in ids or not isinstance(pid, int):
                errors.append(f"{where}: id missing or reused")
            ids.add(pid)
            gp = p.get("gridPos") or {}
            if not all(isinstance(gp.get(k), int) for k in "xywh") or not (1 <= gp["w"] <= 24) or gp["x"] + gp["w"] > 24:
                errors.append(f"{where}: bad gridPos {gp}")
            if p.get("type") == "row":
                continue
            if not p.get("title"):
                errors.append(f"{where}: no title")
            if not (p.get("description") or "").strip():
                errors.append(f"{where}: no description")
            if not ((p.get("fieldConfig") or {}).get("defaults") or {}).get("unit"):
                errors.append(f"{where}: no unit in fieldConfig.defaults.unit")
            if p.get("datasource") != DS_REF:
                errors.append(f"{where}: datasource {p.get('datasource')}, want {DS_REF}")
            targets = p.get("targets") or []
            if not targets:
                errors.append(f"{where}: no targets")
            for tg in targets:
                if tg.get("datasource", DS_REF) != DS_REF:
                    errors.append(f"{where}: target datasource {tg.get('datasource')}")
                check_expr(errors, f"{where} ref {tg.get('refId')}", tg.get("expr", ""), defined, records)
    return uids


def exact_difference_selectors(expr):
    """(name, matchers) of the selectors read `offset 1d` in expr: with the same selector
    read without offset, the daily panels' exact difference of two counter readings
    (increase() would extrapolate to a fraction). A raw counter is accepted only in this form."""
    toks = t.promql_tokens(expr)
    out = set()
    for i, (kind, text) in enumerate(toks):
        if kind == "ident" and i + 1 < len(toks) and toks[i + 1] == ("op", "{"):
            matchers, j = t._matchers(toks, i + 1, expr)
            if j + 1 < len(toks) and toks[j] == ("ident", "offset") and toks[j + 1] == ("number", "1d"):
                out.add((text, tuple(matchers)))
    return out


def check_expr(errors, where, expr, defined, records):
    for var in re.findall(r"\$\{?([a-zA-Z_][a-zA-Z0-9_]*)", expr):
        if var not in defined:
            errors.append(f"{where}: uses undefined variable ${var}")
    sels = t.promql_selectors(expr)
    offset_readings = exact_difference_selectors(expr)
    if not sels:
        errors.append(f"{where}: no selector in {expr!r}")
    for s in sels:
        if s.name is None:
            errors.append(f"{where}: selector without metric name")
            continue
        if ("job", "=~", "$job") not in s.matchers:
            errors.append(f"{where}: {s.name} lacks job=~\"$job\"")
        # ALERTS is Prometheus' own series of active alerts: labelled like its rule's
        # output (aggregated alerts have no instance), so it is treated like a recording rule.
        synthetic = s.name == "ALERTS"
        recorded = ":" in s.name or synthetic
        if recorded:
            if not synthetic and s.name not in records:
                errors.append(f"{where}: recording rule {s.name} is not defined in alerts/rules.yml")
            if any(m[0] == "instance" for m in s.matchers):
                errors.append(f"{where}: {s.name} is aggregated over instances; drop the instance matcher")
        elif ("instance", "=~", "$instance") not in s.matchers:
            errors.append(f"{where}: {s.name} lacks instance=~\"$instance\"")
        if s.range is not None and s.range not in ("$__rate_interval", "$__range"):
            errors.append(f"{where}: {s.name}[{s.range}]: use [$__rate_interval] (or [$__range])")
        if not recorded and COUNTER_LIKE.search(s.name) and s.range is None and \
                (s.name, tuple(s.matchers)) not in offset_readings:
            errors.append(f"{where}: counter/histogram series {s.name} used without rate()/increase() "
                          f"(or as an exact difference with the same selector's reading `offset 1d`)")


def promtool_check(queries, broken=False):
    work = t.temp_workdir("dashboards-promql-")
    try:
        groups = {}
        for i, (where, expr, dash) in enumerate(queries):
            rec = f"dashboard_check:{re.sub(r'[^a-zA-Z0-9_]', '_', dash)}:q{i}"
            groups.setdefault(dash, []).append((rec, t.substitute(expr)))
        if broken:
            first = next(iter(groups))
            groups[first].append(("dashboard_check:broken:q", "sum(rate(up[5m])"))
        path = os.path.join(work, "dashboard_exprs.rules.json")
        t.write_rules_json(path, list(groups.items()))
        p = t.run([t.find_tool("promtool"), "check", "rules", "--lint=none", path], check=False)
        return p, sum(len(v) for v in groups.values())
    finally:
        shutil.rmtree(work, ignore_errors=True)


def check_provisioning(errors):
    """packaging/grafana/dashboards.yml: a file provider loading the installed dashboards."""
    path = os.path.join(t.REPO, "packaging", "grafana", "dashboards.yml")
    doc = t.load_yaml(path)
    if str(doc.get("apiVersion")) != "1":
        errors.append(f"{path}: apiVersion {doc.get('apiVersion')!r}, want 1")
    providers = doc.get("providers") or []
    if len(providers) != 1:
        errors.append(f"{path}: want exactly one provider, got {len(providers)}")
        return
    p = providers[0]
    if not p.get("name") or p.get("type") != "file":
        errors.append(f"{path}: provider needs a name and type: file")
    opts = p.get("options") or {}
    if opts.get("path") != "/usr/share/provledger_exporter/dashboards":
        errors.append(f"{path}: options.path {opts.get('path')!r}, want the install dir "
                      f"/usr/share/provledger_exporter/dashboards")
    if str(opts.get("foldersFromFilesStructure")).lower() == "true" and (p.get("folder") or p.get("folderUid")):
        errors.append(f"{path}: folder/folderUid must be empty with foldersFromFilesStructure")
    # The install layout puts dashboards/ under <datadir>/provledger_exporter/.
    meson = open(os.path.join(t.REPO, "packaging", "meson.build"), encoding="utf-8").read()
    if "'dashboards'" not in meson:
        errors.append("packaging/meson.build no longer installs dashboards/; update options.path")


def main():
    errors = []
    check_provisioning(errors)
    dashboards = t.load_dashboards()
    names = sorted(fn for fn, _ in dashboards)
    if names != ["exporter.json", "ledger.json", "tenants.json"]:
        errors.append(f"dashboards/ holds {names}, want exporter.json, ledger.json, tenants.json")
    records = t.recording_rule_names()
    check_structure(errors, dashboards, records)

    queries = []
    for fn, d in dashboards:
        for where, expr in t.dashboard_queries(fn, d):
            queries.append((where, expr, d.get("uid") or fn))
    p, n = promtool_check(queries)
    if p.returncode != 0:
        errors.append(f"promtool rejects dashboard PromQL:\n{p.stdout}")
    elif f"SUCCESS: {n} rules found" not in p.stdout:
        errors.append(f"promtool did not check all {n} expressions:\n{p.stdout}")
    bp, _ = promtool_check(queries, broken=True)
    if bp.returncode == 0:
        errors.append("promtool accepted a deliberately broken expression: the check is vacuous")

    if errors:
        t.fail("dashboards:\n  " + "\n  ".join(errors))
    panels = sum(1 for _, d in dashboards for p in t.iter_panels(d) if p.get("type") != "row")
    print(f"ok: {len(dashboards)} dashboards, {panels} panels, {n} PromQL expressions accepted by promtool")


if __name__ == "__main__":
    t.main_wrapper(main)

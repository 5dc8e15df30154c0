#!/usr/bin/env python3
"""Every metric a dashboard or rule references is exported by the built binary (suite 'rules').

Not a hand-written list: the names come from parsing every expression in
alerts/rules.yml and dashboards/*.json (targets and template queries), and are
compared with the sample names of a LIVE scrape of provledger_exporter fed by the
simulator (tests/rules/live_env.py: PostgreSQL, provledger_sim, exporter, all on
loopback in a temp dir). Recording-rule names (level:metric:ops) must be defined in
alerts/rules.yml instead; `up` is added by Prometheus itself.

Some families only appear once the data exists (the first settled operation, the
first notary proof), so the test scrapes until every referenced name is present or
90 s pass, then fails naming what is missing.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import provtest as t  # noqa: E402
import live_env  # noqa: E402


def referenced_names():
    refs = {}
    for group, r in t.all_rules():
        for n in t.metric_names(r["expr"]):
            refs.setdefault(n, set()).add(f"rule {r.get('alert') or r.get('record')}")
    for fn, d in t.load_dashboards():
        for where, expr in t.dashboard_queries(fn, d):
            for n in t.metric_names(expr):
                refs.setdefault(n, set()).add(where)
    return refs


def main():
    refs = referenced_names()
    records = t.recording_rule_names()
    undefined = sorted(n for n in refs if ":" in n and n not in records)
    if undefined:
        t.fail(f"recording rules referenced but not defined: {undefined}")
    want = {n for n in refs if ":" not in n and n not in t.PROMETHEUS_SYNTHETIC}
    with live_env.LiveEnv("rules-live-metrics-") as env:
        deadline = time.monotonic() + 90
        missing = want
        exported = set()
        while time.monotonic() < deadline:
            exported = live_env.parse_exposition(env.scrape())
            missing = want - exported
            if not missing:
                break
            time.sleep(2)
        if missing:
            lines = [f"{n}  (used by {', '.join(sorted(refs[n])[:3])})" for n in sorted(missing)]
            t.fail("referenced but not in a live scrape after 90s:\n  " + "\n  ".join(lines) +
                   "\n" + env.logs())
    families = {n for n in exported}
    unused = sorted(n for n in families if n not in refs and not n.endswith(("_sum", "_count", "_bucket")))
    print(f"ok: {len(want)} referenced metric names all exported by the live binary "
          f"({len(records)} recording rules defined; {len(exported)} sample names scraped)")
    if unused:
        print(f"info: exported but referenced by no dashboard or rule: {', '.join(unused)}")


if __name__ == "__main__":
    t.main_wrapper(main)

#!/usr/bin/env python3
"""Dashboards against Grafana's own dashboard schema (suite 'rules').

Every dashboard the repository ships (dashboards/*.json, installed as is by
packaging/meson.build into share/provledger_exporter/dashboards, and any other
dashboard JSON under packaging/) is type-checked by TypeScript against the
`Dashboard` type of Grafana's published schema package `@grafana/schema`
(the classic JSON model: dist/types/raw/dashboard/x/types.gen.d.ts), with the
versions pinned in tests/rules/grafana_schema/package-lock.json.

How: each dashboard becomes `export const dashboard = (<the JSON>) satisfies
DashboardJson;` where DashboardJson is the schema's Dashboard with its string
enums (ThresholdsMode, MappingType, FieldColorModeId, ...) mapped to their
literal values, since JSON holds the strings. `satisfies` on an object literal
makes tsc (strict) reject unknown properties (a misspelt key), wrong types,
missing required properties and values outside an enum.

The pinned packages are installed by scripts/test with
tests/rules/grafana_schema/install.sh into <build dir>/grafana-schema (git-ignored);
set PROVLEDGER_GRAFANA_SCHEMA_DIR to use another install. A missing install is a
failure, not a skip.

Self-check: deliberately broken copies of a dashboard (a panel's gridPos width
as a string, a misspelt panel key, a threshold mode outside the enum, a missing
schemaVersion) must each be rejected with an error in that copy, so the check
cannot pass vacuously.
"""

import copy
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import provtest as t  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
LOCK = os.path.join(HERE, "grafana_schema", "package-lock.json")

SCHEMA_TS = """\
import type { Dashboard } from '@grafana/schema';
// JSON holds an enum's string value, not the TypeScript enum member.
export type Json<T> =
  T extends string ? `${T}` :
  T extends number | boolean | null | undefined ? T :
  T extends ReadonlyArray<infer U> ? Array<Json<U>> :
  T extends object ? { [K in keyof T]: Json<T[K]> } :
  T;
export type DashboardJson = Json<Dashboard>;
"""


def install_dir():
    d = os.environ.get("PROVLEDGER_GRAFANA_SCHEMA_DIR")
    if not d:
        if len(sys.argv) < 2:
            t.fail("usage: check_grafana_schema.py BUILD_DIR (or set PROVLEDGER_GRAFANA_SCHEMA_DIR)")
        d = os.path.join(sys.argv[1], "grafana-schema")
    return os.path.abspath(d)


def check_install(d):
    hint = f"install it: tests/rules/grafana_schema/install.sh {d} (scripts/test does)"
    tsc = os.path.join(d, "node_modules", ".bin", "tsc")
    if not os.access(tsc, os.X_OK):
        t.fail(f"no TypeScript compiler at {tsc}; {hint}")
    with open(LOCK, encoding="utf-8") as f:
        lock = json.load(f)["packages"]
    for pkg in ("@grafana/schema", "typescript"):
        want = lock[f"node_modules/{pkg}"]["version"]
        pj = os.path.join(d, "node_modules", pkg, "package.json")
        try:
            with open(pj, encoding="utf-8") as f:
                have = json.load(f)["version"]
        except OSError as e:
            t.fail(f"{pkg} not installed ({e}); {hint}")
        if have != want:
            t.fail(f"{pkg} {have} installed in {d}, package-lock.json pins {want}; {hint}")
    return tsc, lock["node_modules/@grafana/schema"]["version"]


def shipped_dashboards():
    """(relative path, parsed JSON) of every dashboard JSON the repository ships."""
    out = [(os.path.join("dashboards", fn), d) for fn, d in t.load_dashboards()]
    for top, _, files in os.walk(os.path.join(t.REPO, "packaging")):
        for fn in sorted(files):
            if fn.endswith(".json"):
                p = os.path.join(top, fn)
                with open(p, encoding="utf-8") as f:
                    d = json.load(f)
                if isinstance(d, dict) and "panels" in d:
                    out.append((os.path.relpath(p, t.REPO), d))
    return out


def ts_module(d):
    return ("import type { DashboardJson } from './schema';\n"
            "export const dashboard = (" + json.dumps(d, indent=2, ensure_ascii=False)
            + ") satisfies DashboardJson;\n")


def first_panel(d):
    for p in t.iter_panels(d):
        if p.get("type") != "row" and "gridPos" in p and "fieldConfig" in p:
            return p
    t.fail("no panel with gridPos and fieldConfig to mutate")


def mutants(d):
    """name -> a deliberately broken copy of dashboard d."""
    out = {}
    m = copy.deepcopy(d)
    first_panel(m)["gridPos"]["w"] = str(first_panel(m)["gridPos"]["w"])
    out["gridpos_w_string"] = m
    m = copy.deepcopy(d)
    p = first_panel(m)
    p["fieldconfig"] = p.pop("fieldConfig")
    out["misspelt_fieldconfig"] = m
    m = copy.deepcopy(d)
    first_panel(m)["fieldConfig"]["defaults"]["thresholds"] = {"mode": "absolut", "steps": []}
    out["threshold_mode"] = m
    m = copy.deepcopy(d)
    del m["schemaVersion"]
    out["no_schema_version"] = m
    return out


def run_tsc(tsc, node_modules, modules):
    """Type-checks {name: ts source}; returns (returncode, output)."""
    with tempfile.TemporaryDirectory(prefix="grafana-schema-") as work:
        os.symlink(node_modules, os.path.join(work, "node_modules"))
        files = ["schema.ts"]
        with open(os.path.join(work, "schema.ts"), "w", encoding="utf-8") as f:
            f.write(SCHEMA_TS)
        for name, src in modules.items():
            files.append(name + ".ts")
            with open(os.path.join(work, name + ".ts"), "w", encoding="utf-8") as f:
                f.write(src)
        tsconfig = {"compilerOptions": {"strict": True, "noEmit": True, "target": "es2022",
                                        "module": "esnext", "moduleResolution": "bundler",
                                        "skipLibCheck": True, "types": [],
                                        "noErrorTruncation": False},
                    "files": files}
        with open(os.path.join(work, "tsconfig.json"), "w", encoding="utf-8") as f:
            json.dump(tsconfig, f)
        p = subprocess.run([tsc, "-p", "tsconfig.json", "--pretty", "false"], cwd=work,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           timeout=300)
        return p.returncode, p.stdout


def main():
    d = install_dir()
    tsc, version = check_install(d)
    node_modules = os.path.join(d, "node_modules")
    dashboards = shipped_dashboards()
    names = {}
    for rel, dash in dashboards:
        names[rel.replace("/", "__").removesuffix(".json")] = dash
    rc, out = run_tsc(tsc, node_modules, {n: ts_module(v) for n, v in names.items()})
    if rc != 0 or out.strip():
        t.fail(f"dashboards do not satisfy @grafana/schema {version} Dashboard (tsc exit {rc}):\n"
               + out[:20000])

    base = dashboards[0][1]
    muts = mutants(base)
    rc, out = run_tsc(tsc, node_modules, {"mutant_" + k: ts_module(v) for k, v in muts.items()})
    missed = [k for k in muts if f"mutant_{k}.ts(" not in out]
    if rc == 0 or missed:
        t.fail(f"tsc accepted deliberately broken dashboards {missed or list(muts)}: the check is vacuous\n"
               + out[:5000])
    panels = sum(1 for _, dash in dashboards for p in t.iter_panels(dash))
    print(f"ok: {len(dashboards)} dashboards ({panels} panels) satisfy @grafana/schema {version} "
          f"Dashboard; {len(muts)} broken copies rejected")


if __name__ == "__main__":
    t.main_wrapper(main)

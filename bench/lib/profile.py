#!/usr/bin/env python3
"""Profiles provledger_exporter's hot paths with valgrind's callgrind (instruction
counts: repeatable, unlike wall time on a shared 2-core machine).

Called by bench/profile. Loads a ledger with provledger_sim (default 100k
receipts) into a throwaway PostgreSQL, then runs bench/tools/poll_bench:

  poll    one cold poll over the whole history (25h window): fetch, decode,
          compute (Engine::Apply*, Advance) — everything on the client side
  render  RenderExposition of the default per-tenant snapshot, N times
          (--toggle-collect on RenderExposition only)
  nobody  the poll again with a receipts query that does not fetch the body
          (version 1, body '{}'), to price the body's transfer + validation

and writes callgrind_annotate summaries (self and inclusive) plus timings to
--out (default $BENCH_WORKDIR/profile).
"""
import argparse
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402

NO_BODY_QUERY = (
    "SELECT receipt_id, tenant_id, op_id, region, policy_version, kid, 1, '{}', content_hash, "
    "(extract(epoch FROM created_at) * 1000000)::bigint FROM receipts "
    "WHERE (created_at, receipt_id) > (timestamptz 'epoch' + $1::bigint * interval '1 microsecond', $2::text) "
    "AND created_at <= timestamptz 'epoch' + $3::bigint * interval '1 microsecond' "
    "ORDER BY created_at, receipt_id LIMIT $4::bigint")


def config(pg, wd, name, window, per_tenant, receipts_query=None):
    lines = ["poll_interval: 5s", "coverage:", f"  window: {window}", "  grace: 2m", "histogram:",
             f"  anchor_latency_per_tenant: {'true' if per_tenant else 'false'}", "ledgers:"]
    for n, region, db in bench.REGIONS:
        lines += [f"  - name: {n}", f"    region: {region}", f'    dsn: "{pg.dsn(db)}"']
        if receipts_query:
            lines += ["    queries:", f"      receipts: \"{receipts_query}\""]
    lines += ["trace_stores:", "  - name: traces", "    kind: postgres", f'    dsn: "{pg.dsn("traces")}"',
              "flags:", f"  file: {os.path.join(wd, 'flags.spec')}"]
    path = os.path.join(wd, name + ".yml")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def annotate(cg_out, txt, top):
    res = {}
    with open(txt, "w") as f:
        for inclusive in ("no", "yes"):
            out = subprocess.run(["callgrind_annotate", f"--inclusive={inclusive}", cg_out], capture_output=True,
                                 text=True).stdout
            f.write(f"==== inclusive={inclusive}\n{out}\n")
            rows = []
            started = False
            for line in out.splitlines():
                if line.startswith("Ir") and "file:function" in line:
                    started = True
                    continue
                if started and line.strip() and not line.startswith("-"):
                    rows.append(line.strip()[:220])
                if len(rows) >= top:
                    break
            res["inclusive" if inclusive == "yes" else "self"] = rows
            tot = [ln for ln in out.splitlines() if "PROGRAM TOTALS" in ln]
            res["total_ir"] = tot[0].split()[0] if tot else None
    return res


def run(cmd, **kw):
    t = time.monotonic()
    p = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if p.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed: {p.stderr[-2000:]}")
    return p, time.monotonic() - t


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", default="100k")
    ap.add_argument("--build", default=os.path.join(bench.ROOT, "build-bench"))
    ap.add_argument("--workdir", default=os.environ.get("BENCH_WORKDIR", "/tmp/provledger-bench") + "-profile")
    ap.add_argument("--render-reps", type=int, default=20)
    ap.add_argument("--top", type=int, default=25)
    args = ap.parse_args()
    pb = os.path.join(args.build, "bench", "poll_bench")
    args.sim = os.path.join(args.build, "tools", "provledger_sim")
    args.seed = 7
    out_dir = os.path.join(args.workdir, "out")
    os.makedirs(out_dir, exist_ok=True)
    os.chmod(args.workdir, 0o755)
    import atexit
    atexit.register(bench.cleanup)
    pg = bench.PG(args.workdir)
    try:
        wd = os.path.join(args.workdir, "data")
        os.makedirs(wd, exist_ok=True)
        os.chmod(wd, 0o755)
        data = bench.load_data(pg, args, bench.parse_size(args.size), wd)
        summary = {"size": args.size, "data": data["summary"]}
        cfg_poll = config(pg, wd, "poll", "25h", False)
        cfg_render = config(pg, wd, "render", "1h", True)
        cfg_nobody = config(pg, wd, "nobody", "25h", False, NO_BODY_QUERY)
        # Native timings first (three runs each, best), then callgrind.
        for name, cfg in (("poll", cfg_poll), ("nobody", cfg_nobody)):
            best = None
            for _ in range(3):
                p, _ = run([pb, "--config", cfg, "--cycles", "1", "--only", "poll"])
                first = json.loads(p.stdout.splitlines()[0])
                if best is None or first["poll_s"] < best["poll_s"]:
                    best = first
            ledger_s = sum(s["poll_s"] + s["apply_s"] for s in best["sources"] if s["receipts"])
            summary[f"native_{name}"] = {"poll_s": best["poll_s"], "apply_s": best["apply_s"],
                                         "advance_s": best["advance_s"], "receipts": best["receipts"],
                                         "rows": sum(s["rows"] for s in best["sources"]),
                                         "receipts_per_s_ledger_path": best["receipts"] / ledger_s}
            bench.log(f"native {name}: {summary[f'native_{name}']}")
        for name, cmd in (
                ("poll", [pb, "--config", cfg_poll, "--cycles", "1", "--only", "poll"]),
                ("nobody", [pb, "--config", cfg_nobody, "--cycles", "1", "--only", "poll"]),
                ("render", [pb, "--config", cfg_render, "--only", "render", "--render-reps", str(args.render_reps)])):
            cg = os.path.join(out_dir, f"callgrind.{name}.out")
            vg = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={cg}"]
            if name == "render":
                vg.append("--toggle-collect=provledger::render::RenderExposition*")
            p, secs = run(vg + cmd)
            summary[name] = annotate(cg, os.path.join(out_dir, f"callgrind.{name}.txt"), args.top)
            summary[name]["stdout"] = p.stdout.splitlines()
            bench.log(f"callgrind {name}: {summary[name]['total_ir']} Ir ({secs:.0f} s under valgrind)")
        with open(os.path.join(out_dir, "profile.json"), "w") as f:
            json.dump(summary, f, indent=1)
        for name in ("poll", "nobody", "render"):
            print(f"## {name}: {summary[name]['total_ir']} Ir")
            print("self:")
            for r in summary[name]["self"]:
                print("  " + r)
            print("inclusive:")
            for r in summary[name]["inclusive"][:15]:
                print("  " + r)
        print(json.dumps({k: v for k, v in summary.items() if k.startswith("native")}, indent=1))
    finally:
        bench.cleanup()
        subprocess.run([bench.PGTMP, "destroy", pg.dir], capture_output=True)


if __name__ == "__main__":
    main()

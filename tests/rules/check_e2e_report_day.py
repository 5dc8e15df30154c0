#!/usr/bin/env python3
"""The tenants dashboard's daily panels agree with provledger_report, through a real
Prometheus (suite 'rules', test rules-e2e-report-day; issue 12).

What is compared. dashboards/tenants.json has two panels over "yesterday, UTC day":
"Daily coverage" (coverage ratio per tenant) and "Daily operations by outcome" (per
tenant and outcome, and per tenant in total). Their queries read attest_ops_settled_total
at the day's end plus $settlement_lag and subtract the reading one day earlier (docs/report.md,
"The dashboard panels"). Grafana runs them as instant queries at the end of the shifted
range, i.e. at the day's end (00:00 UTC). This test takes the panels' expressions from the
shipped JSON, substitutes the variables as Grafana would ($job, $instance, $tenant = All,
$settlement_lag = the test config's lag), asks Prometheus for them at the day's end, and
compares per tenant with `provledger_report coverage --date=<that day>` on the same
database: operations, attested, divergent, missing (settled_all_kinds; no catalog) and
coverage_pct (3 decimals).

Why a fake clock. A real UTC day cannot be waited for. The honest equivalent used here is
a real midnight on a shifted clock: the simulator, the exporter and the report run under
libfaketime (LD_PRELOAD, a fixed whole-second offset, monotonic clock untouched) so that
their wall clock reads a few seconds before a past UTC midnight M when traffic starts; the
databases' clock queries (queries.clock in the config) add the same offset to PostgreSQL's
clock. Prometheus runs on the real clock and scrapes every second; the query's evaluation
time is M on the real clock (M − offset). Everything else is the product: the real
exporter, the real report binary with --date, the real simulator writing to PostgreSQL.

The day. The database holds nothing before the traffic starts (about 25 s before M), so
"the day" is those seconds. The counters do not start at 0: the exporter starts from a
state file (written by a first run of the exporter, then given earlier days' counts for
four tenants, attested and missing only), as a production exporter restarted during the
day would. Its readings one day before M + lag are the counters as it publishes them
before any traffic (scraped from it), written into Prometheus' storage at that time with
`promtool tsdb create-blocks-from openmetrics` (the readings "a day ago", which a test
cannot wait for). So both branches of the panels' query are exercised: the difference of
two readings (tenants with earlier counts) and the `or` branch from 0 (tenants and
outcomes that appear during the day, e.g. every divergent series). Traffic carries on after M (operations of the next day,
which neither side may count: checked). The exactness condition of the panels (no
operation started within poll + scrape interval before midnight) is made true by pausing
the simulator from M − 10 s to M (control file), and is checked: the exporter's window end
E (provledger_exporter_coverage_window_end_timestamp_seconds), read through Prometheus at
M + lag, must lie in that quiet gap. A negative control evaluates the same queries with
$settlement_lag = 1s (the operations of the last lag before midnight are not settled yet):
they must disagree, so the comparison cannot pass vacuously.

Needs libfaketime (Debian package libfaketime), prometheus, PostgreSQL (pgtmp) and the
built exporter, simulator and report binaries. Anything that cannot start is a failure.
About 90 s.
"""

import datetime
import glob
import json
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import provtest as t  # noqa: E402
import live_env  # noqa: E402

# Debian's libfaketime, in the multiarch directory of this machine.
FAKETIME_LIB = next(iter(sorted(glob.glob("/usr/lib/*/faketime/libfaketime.so.1"))),
                    "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1")
GRACE_S = 12          # coverage.grace
LEDGER_OOO_S = 3      # ledgers' out_of_order
TRACE_OOO_S = 4       # the trace store's out_of_order
LAG_S = max(GRACE_S + LEDGER_OOO_S, TRACE_OOO_S)   # the exporter's settlement lag: E = now - 15 s
PRE_S = 25            # traffic before midnight
PRE_MIN_S = 16        # ... at least (else the setup was too slow: fail)
GAP_S = 10            # no new operation in [M - GAP_S, M)
POST_S = 8            # traffic after midnight (the next day's operations)
SETUP_S = 40          # time allowed for the exporter runs, backfill and Prometheus after the offset is fixed
EARLIER = {"tenant-001": (500, 7), "tenant-002": (120, 0), "tenant-004": (33, 1), "tenant-007": (1000, 40)}
RATE = "40"
DAILY_TITLES = ("Daily coverage (yesterday, UTC day)", "Daily operations by outcome (yesterday, UTC day)")


def report_binary():
    return live_env._find_binary("PROVLEDGER_REPORT_BIN", os.path.join("src", "report", "provledger_report"))


def daily_queries():
    """{(panel title, refId): expr} of the tenants dashboard's daily panels."""
    dash = dict(t.load_dashboards())["tenants.json"]
    out = {}
    for p in t.iter_panels(dash):
        if p.get("title") in DAILY_TITLES:
            if p.get("timeFrom") != "1d" or p.get("timeShift") != "1d/d":
                t.fail(f"panel {p['title']!r}: want timeFrom 1d and timeShift 1d/d (yesterday), "
                       f"got {p.get('timeFrom')!r} / {p.get('timeShift')!r}")
            for tg in p["targets"]:
                if not tg.get("instant"):
                    t.fail(f"panel {p['title']!r} ref {tg['refId']}: not an instant query")
                out[(p["title"], tg["refId"])] = tg["expr"]
    if sorted({k[0] for k in out}) != sorted(DAILY_TITLES) or len(out) != 3:
        t.fail(f"tenants.json: want the daily panels {DAILY_TITLES} with 3 targets, found {sorted(out)}")
    return out


def fake_env(offset_s):
    env = dict(os.environ)
    env.update({"LD_PRELOAD": FAKETIME_LIB, "FAKETIME": f"{offset_s:+d}", "FAKETIME_DONT_FAKE_MONOTONIC": "1",
                "FAKETIME_DONT_RESET": "1"})
    return env


def main():
    if not os.access(FAKETIME_LIB, os.R_OK):
        t.fail(f"{FAKETIME_LIB} missing: install the Debian package libfaketime (scripts/test does)")
    exporter, sim, report = live_env.exporter_binary(), live_env.sim_binary(), report_binary()
    queries = daily_queries()
    work = t.temp_workdir("rules-report-day-")
    os.chmod(work, 0o755)
    pgtmp = os.path.join(t.REPO, "tests", "support", "pgtmp")
    pg_dir = os.path.join(work, "pg")
    os.makedirs(pg_dir)
    procs = []
    pg_started = False
    step = "start"
    try:
        out = t.run([pgtmp, "start", pg_dir], timeout=120).stdout
        pg_started = True
        port = [ln.split("=", 1)[1] for ln in out.splitlines() if ln.startswith("PORT=")][0]

        def dsn(db):
            return f"host=127.0.0.1 port={port} user=postgres dbname={db}"
        psql = "/usr/lib/postgresql/15/bin/psql"
        for db in ("ledger_eu", "ledger_us", "traces"):
            t.run([psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", dsn("postgres"), "-c", f"CREATE DATABASE {db}"])
        t.run([sim, "init", "--ledger-dsn", dsn("ledger_eu"), "--ledger-dsn", dsn("ledger_us"),
               "--traces-dsn", dsn("traces")])

        exporter_port = t.free_port()
        # The fake clock: real + offset (whole seconds); midnight M is a past UTC midnight.
        step = "fake clock"
        now = time.time()
        midnight = (int(now) // 86400) * 86400
        offset = int(midnight - PRE_S - SETUP_S - now)
        real_midnight = midnight - offset          # M on Prometheus' (real) clock
        day = datetime.datetime.fromtimestamp(midnight - 86400, datetime.timezone.utc).date().isoformat()
        env = fake_env(offset)
        probe = subprocess.run(["date", "+%s"], env=env, capture_output=True, text=True, check=True).stdout
        if abs(int(probe) - (time.time() + offset)) > 2:
            t.fail(f"libfaketime did not shift the clock: date says {probe.strip()}, want about {int(time.time() + offset)}")
        clock = f"SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::bigint + {offset}::bigint * 1000000"
        cfg = os.path.join(work, "provledger.yml")
        with open(cfg, "w") as f:
            f.write(f"""# written by tests/rules/check_e2e_report_day.py
web:
  listen_address: "127.0.0.1:{exporter_port}"
poll_interval: 1s
coverage:
  window: 1m
  grace: {GRACE_S}s
ledgers:
  - name: ledger_eu
    region: eu-west
    dsn: "{dsn('ledger_eu')}"
    out_of_order: {LEDGER_OOO_S}s
    queries: {{clock: "{clock}"}}
  - name: ledger_us
    region: us-east
    dsn: "{dsn('ledger_us')}"
    out_of_order: {LEDGER_OOO_S}s
    queries: {{clock: "{clock}"}}
trace_stores:
  - name: traces
    kind: postgres
    dsn: "{dsn('traces')}"
    out_of_order: {TRACE_OOO_S}s
    queries: {{clock: "{clock}"}}
""")
        state = os.path.join(work, "state.json")
        with open(cfg, "a") as f:
            f.write(f"state_file: {state}\n")

        def start_exporter(log):
            exp = t.Proc("exporter", [exporter, f"--config.file={cfg}", "--log.level=info"],
                         os.path.join(work, log), env=env)
            procs.append(exp)

            def ready():
                if not exp.alive():
                    t.fail(f"exporter exited:\n{exp.tail()}")
                return t.http_get(f"http://127.0.0.1:{exporter_port}/-/ready", timeout=2)[0] == 200
            t.wait_until("exporter /-/ready", ready, 60)
            return exp

        # Earlier days' counts: a first run writes a state file (no traffic yet), the test
        # gives four tenants counts in it, the second run starts from it.
        step = "state file"
        exp = start_exporter("exporter-1.log")
        t.wait_until("the exporter's state file", lambda: os.path.exists(state), 30)
        exp.stop()
        procs.remove(exp)
        with open(state) as f:
            st = json.load(f)
        if st.get("settled"):
            t.fail(f"the first run settled operations without traffic: {st['settled']}")
        st["settled"] = {tn: {"attested": a, "missing": m, "divergent": 0} for tn, (a, m) in EARLIER.items()}
        with open(state, "w") as f:
            json.dump(st, f)
        step = "exporter"
        exp = start_exporter("exporter.log")
        earlier = {}
        for line in t.http_get(f"http://127.0.0.1:{exporter_port}/metrics", timeout=5)[1].decode().splitlines():
            if line.startswith("attest_ops_settled_total{"):
                labels, value = line[len("attest_ops_settled_total"):].rsplit(" ", 1)
                earlier[labels] = float(value)
        want_earlier = {(tn, o): v for tn, (a, m) in EARLIER.items() for o, v in (("attested", a), ("missing", m))}
        got_earlier = {}
        for labels, v in earlier.items():
            d = dict(kv.split("=", 1) for kv in labels.strip("{}").split(","))
            got_earlier[(d["tenant"].strip('"'), d["outcome"].strip('"'))] = v
        if {k: v for k, v in got_earlier.items() if v} != {k: v for k, v in want_earlier.items() if v}:
            t.fail(f"the exporter did not restore the state file's counters: {got_earlier}")

        # Its readings "a day ago" (at M + lag - 1d on Prometheus' clock, and around it),
        # written into Prometheus' storage before Prometheus starts.
        step = "backfill"
        instance = f"127.0.0.1:{exporter_port}"
        om = os.path.join(work, "earlier.om")
        with open(om, "w") as f:
            f.write("# TYPE attest_ops_settled counter\n")
            for labels, v in sorted(earlier.items()):
                lab = labels[1:-1] + f',instance="{instance}",job="{t.JOB}"'
                for k in range(-12, 13):
                    f.write(f"attest_ops_settled_total{{{lab}}} {v} {real_midnight + LAG_S - 86400 + 5 * k}\n")
            f.write("# EOF\n")
        data = os.path.join(work, "prometheus-data")
        os.makedirs(data)
        t.run([t.find_tool("promtool"), "tsdb", "create-blocks-from", "openmetrics", om, data], timeout=120)
        prom = t.Prometheus(work, [], scrape_targets=[instance], scrape_interval="1s", evaluation_interval="1s",
                            retention="3d")
        procs.append(prom.proc)
        prom.wait_ready()
        back = prom.query("sum(attest_ops_settled_total)", time=str(real_midnight + LAG_S - 86400))["result"]
        if not back or float(back[0]["value"][1]) != sum(want_earlier.values()):
            t.fail(f"Prometheus does not hold the backfilled readings a day ago: {back}")

        def fake_now():
            return time.time() + offset

        def sleep_until_fake(ts):
            while fake_now() < ts:
                for p in procs:
                    if not p.alive():
                        t.fail(f"{p.name} exited:\n{p.tail()}")
                time.sleep(min(0.2, max(0.0, ts - fake_now())))

        step = "traffic before midnight"
        sleep_until_fake(midnight - PRE_S)
        if fake_now() > midnight - PRE_MIN_S:
            t.fail(f"setup too slow: traffic would start {midnight - fake_now():.1f}s before midnight "
                   f"(want >= {PRE_MIN_S}s)")
        control = os.path.join(work, "control")

        def write_control(rate):
            with open(control + ".tmp", "w") as f:
                f.write(f"rate={rate}\ndivergence_rate=0.08\nmissing_rate=0.08\n")
            os.replace(control + ".tmp", control)
        write_control(RATE)
        simp = t.Proc("simulator", [
            sim, "run", "--ledger", f"eu-west={dsn('ledger_eu')}", "--ledger", f"us-east={dsn('ledger_us')}",
            "--traces-dsn", dsn("traces"), "--rate", RATE, "--tenants", "8", "--seed", "11",
            "--divergence-rate", "0.08", "--missing-rate", "0.08", "--control-file", control,
            "--stats-interval", "0"], os.path.join(work, "sim.log"), env=env)
        procs.append(simp)
        # The simulator re-reads the control file every second: pausing 1 s early keeps
        # [M - GAP_S, M) free of new operations; resuming just after M starts the next day.
        sleep_until_fake(midnight - GAP_S - 1)
        write_control("0")
        sleep_until_fake(midnight + 0.2)
        write_control(RATE)
        step = "settlement after midnight"
        sleep_until_fake(midnight + max(POST_S, LAG_S + 4))
        simp.stop()
        procs.remove(simp)

        step = "report"
        outdir = os.path.join(work, "coverage")
        deadline = time.monotonic() + 60
        while True:
            r = subprocess.run([report, "coverage", f"--config.file={cfg}", f"--date={day}",
                                f"--output-dir={outdir}", "--progress=never"], env=env, capture_output=True,
                               text=True, timeout=120)
            if r.returncode == 0:
                break
            if "not complete" not in r.stderr or time.monotonic() > deadline:
                t.fail(f"provledger_report exited {r.returncode}:\n{r.stderr}")
            time.sleep(1)
        with open(os.path.join(outdir, f"coverage-{day.replace('-', '')}.json")) as f:
            rep = json.load(f)
        want = {}
        for tn in rep["tenants"]:
            s = tn["settled_all_kinds"]
            if s["operations"]:
                want[tn["tenant"]] = {"operations": s["operations"], "attested": s["attested"],
                                      "divergent": s["divergent"], "missing": s["missing"],
                                      "coverage_pct": tn["coverage_pct"]}
        total = sum(v["operations"] for v in want.values())
        if total < 200 or not any(v["divergent"] for v in want.values()) or not any(v["missing"] for v in want.values()):
            t.fail(f"too little or too uniform traffic in the day to compare: {want}")

        # The exactness condition, checked: at M + lag the exporter's E was in the quiet gap.
        step = "precondition"
        at = real_midnight + LAG_S
        t.wait_until("Prometheus has scraped past midnight + lag", lambda: time.time() > at + 3, 30)
        e = prom.query("max(provledger_exporter_coverage_window_end_timestamp_seconds)", time=str(at))["result"]
        if not e:
            t.fail("no provledger_exporter_coverage_window_end_timestamp_seconds at midnight + lag")
        e_ts = float(e[0]["value"][1])
        if not (midnight - GAP_S + 1 <= e_ts < midnight + 1e-6):
            t.fail(f"the exporter's window end at midnight + {LAG_S}s was M{e_ts - midnight:+.3f}s, outside the quiet "
                   f"gap [M-{GAP_S - 1}s, M): the machine is too slow for the exactness condition")

        def panels(lag):
            got = {}
            for (title, ref), expr in queries.items():
                q = t.substitute(expr, {"settlement_lag": lag})
                for s in prom.query(q, time=str(real_midnight))["result"]:
                    got.setdefault(s["metric"].get("tenant"), {})
                    v = float(s["value"][1])
                    key = "coverage" if title.startswith("Daily coverage") else \
                        s["metric"].get("outcome") if ref == "A" else "operations"
                    got[s["metric"].get("tenant")][key] = v
            return got

        def compare(got):
            errors = []
            if sorted(got) != sorted(want):
                errors.append(f"tenants: panels {sorted(got)}, report {sorted(want)}")
            for tenant, w in sorted(want.items()):
                g = got.get(tenant, {})
                for k in ("operations", "attested", "divergent", "missing"):
                    if g.get(k, 0.0) != float(w[k]):
                        errors.append(f"{tenant} {k}: panel {g.get(k)}, report {w[k]}")
                cov = g.get("coverage")
                if cov is None or round(cov * 100, 3) != w["coverage_pct"]:
                    errors.append(f"{tenant} coverage: panel {cov}, report {w['coverage_pct']}%")
            return errors

        step = "compare"
        errors = compare(panels(f"{LAG_S}s"))
        if errors:
            t.fail("the daily panels disagree with the report:\n  " + "\n  ".join(errors) + f"\nreport: {want}")
        print(f"ok: the daily panels equal the report for {len(want)} tenants, {total} operations "
              f"(E at M{e_ts - midnight:+.3f}s)")
        if not compare(panels("1s")):
            t.fail("negative control: with $settlement_lag = 1s the panels still equal the report (vacuous test)")
        print("ok: with $settlement_lag = 1s they disagree (the lag matters)")
        later = prom.query("sum(attest_ops_settled_total)")["result"]
        next_day = float(later[0]["value"][1]) - sum(want_earlier.values()) - total if later else 0
        if next_day <= 0:
            t.fail(f"no operation of the next day settled ({later}); the boundary was not exercised")
        print(f"ok: {int(next_day)} operations of the next day counted by neither")
        earlier_tenants = sorted(tn for tn in EARLIER if tn in want)
        if not earlier_tenants:
            t.fail("no tenant with earlier counts had traffic in the day: the difference branch was not exercised")
        print(f"ok: difference of two readings for {earlier_tenants}, from 0 for the others")
    except t.TestFailure as e:
        logs = "\n".join(f"--- {p.name}\n{p.tail(20)}" for p in procs)
        raise t.TestFailure(f"[{step}] {e}\n{logs}")
    finally:
        for p in reversed(procs):
            try:
                p.stop()
            except Exception as ex:  # keep stopping the others
                print(f"warning: stopping {p.name}: {ex}")
        if pg_started:
            t.run([pgtmp, "stop", pg_dir], check=False, timeout=120)
        if os.environ.get("PROVLEDGER_KEEP_TEST_DIRS"):
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    t.main_wrapper(main)

#!/usr/bin/env python3
"""End to end: the ramp controller with the real parts (suite 'rules').

PostgreSQL + simulator traffic + the built exporter (tests/rules/live_env.py, which here
does NOT run the simulator's random ramp stepper: the controller owns flags.spec), a real
Prometheus scraping the exporter every 1s with the shipped rules (the demo-scaled copy of
check_e2e_prometheus.py: same expressions and thresholds, `for: 3s`, 20-60s windows), and
the built provledger_ramp with interval 1s and soak SOAK seconds. Its checks are the
default checks of config/ramp.example.yml with the same window scaling.

Scenarios (each asserts through flags.spec, the journal, Prometheus, and the exporter's own
reading of flags.spec: flag_ramp_pct in Prometheus):
1. healthy traffic: new_checkout ramps 10 -> 50 -> 100 for every tenant and no alert fires
   during the ramp; the controller is SIGKILLed mid-soak and restarted: the next step comes
   no earlier than one soak after the previous one;
2. divergence injected for one tenant (simulator control file, divergence_tenants=): that
   tenant's fast_anchor freezes (DivergenceDetected firing, cited in the journal) while the
   others ramp to 100; cleared: it advances only after a full soak of green;
3. Prometheus stopped: every run holds (nothing changes for longer than a soak); restarted
   on the same port and data: ramps continue, after a full soak;
4. dry run: `--dry-run --at T` prints exactly the change that `--once --at T` then makes,
   and writes nothing (flags.spec, journal, metrics file, git history unchanged); the real
   run commits in the git checkout (--git-dir) with the journal lines as message.
Throughout: for every pair, consecutive changes are at least SOAK apart and every advance
follows a full SOAK without a hold or freeze; the metrics textfile passes promtool and counts
the journal.

Wall time: about 5 minutes (dominated by the alert's 30s windows firing and resolving).
"""

import json
import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import provtest as t  # noqa: E402
import live_env  # noqa: E402
import check_e2e_prometheus as e2e  # noqa: E402

SOAK = 15  # seconds
N_TENANTS = 4


def ramp_binary():
    return live_env._find_binary("PROVLEDGER_RAMP_BIN", os.path.join("src", "ramp", "provledger_ramp"))


def default_checks_yaml():
    """The `checks:` list of config/ramp.example.yml (the shipped defaults), windows scaled."""
    with open(os.path.join(t.REPO, "config", "ramp.example.yml")) as f:
        text = f.read()
    m = re.search(r"^  checks:\n((?:    .*\n)+)", text, flags=re.M)
    if not m:
        t.fail("config/ramp.example.yml has no defaults.checks block")
    block = re.sub(r"\[(\d+[smh])\]", lambda x: "[" + e2e.WINDOWS.get(x.group(1), x.group(1)) + "]", m.group(1))
    if re.search(r"\[\d+[mh]\]", block):
        t.fail(f"long window left in the test checks: {block}")
    return "  checks:\n" + block


def parse_flags(text):
    """flags.spec in the controller's flow form -> {tenant: {feature: pct}} (order kept)."""
    out = {}
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        m = re.match(r"^(\S+): \{(.*)\}$", line)
        if not m:
            t.fail(f"unexpected flags.spec line: {line!r}")
        feats = {}
        for item in filter(None, m.group(2).split(", ")):
            k, v = item.split(": ")
            feats[k] = float(v)
        out[m.group(1)] = feats
    return out


def render_flags(d):
    lines = ["# written by provledger_ramp; tenant: {feature: percent}"]
    for tenant, feats in d.items():
        inner = ", ".join(f"{k}: {v:g}" for k, v in feats.items())
        lines.append(f"{tenant}: {{{inner}}}")
    return "\n".join(lines) + "\n"


class Ramp:
    def __init__(self, env, prom_url):
        self.env = env
        self.bin = ramp_binary()
        self.work = env.work
        self.plan = os.path.join(self.work, "plan.yml")
        self.journal = os.path.join(self.work, "journal.jsonl")
        self.metrics = os.path.join(self.work, "ramp.prom")
        self.proc = None
        self.starts = 0
        with open(self.plan, "w") as f:
            f.write(f"""# written by tests/rules/check_e2e_ramp.py
prometheus: {{url: "{prom_url}", timeout: 3s, max_age: 10s}}
flags_file: {env.flags_path}
journal: {self.journal}
freeze_file: {os.path.join(self.work, 'FREEZE')}
metrics_textfile: {self.metrics}
interval: 1s
max_gap: 60s
defaults:
  soak: {SOAK}s
{default_checks_yaml()}features:
  - name: new_checkout
  - name: fast_anchor
  - name: receipts_v2
""")
        r = t.run([self.bin, f"--plan={self.plan}", "--check"], check=False)
        if r.returncode != 0:
            t.fail(f"plan rejected:\n{r.stdout}")

    def start(self):
        self.starts += 1
        self.proc = t.Proc(f"ramp#{self.starts}", [self.bin, f"--plan={self.plan}"],
                           os.path.join(self.work, f"ramp{self.starts}.log"))
        self.env.procs.append(self.proc)

    def stop(self, sig=signal.SIGTERM):
        if sig == signal.SIGKILL:
            self.proc.p.kill()
            self.proc.p.wait(timeout=10)
        self.proc.stop()
        self.env.procs.remove(self.proc)

    def once(self, *args):
        r = subprocess.run([self.bin, f"--plan={self.plan}", "--once", *args], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=60)
        if r.returncode != 0:
            t.fail(f"provledger_ramp {' '.join(args)} exited {r.returncode}:\n{r.stdout}\n{r.stderr}")
        return r.stdout

    def entries(self):
        if not os.path.exists(self.journal):
            return []
        with open(self.journal) as f:
            return [json.loads(line) for line in f if line.strip()]

    def pairs(self, tenant, feature):
        return [e for e in self.entries() if e.get("tenant") == tenant and e.get("feature") == feature]


def flags(env):
    with open(env.flags_path) as f:
        return parse_flags(f.read())


def write_flags(env, d):
    tmp = env.flags_path + ".test-tmp"
    with open(tmp, "w") as f:
        f.write(render_flags(d))
    os.replace(tmp, env.flags_path)


def firing(prom):
    return [a for a in prom.api("alerts")["alerts"] if a["state"] == "firing"]


def exporter_pct(prom, tenant, feature):
    r = prom.query(f'flag_ramp_pct{{tenant="{tenant}", feature="{feature}"}}')["result"]
    return float(r[0]["value"][1]) if r else None


def green_start(es, i):
    """Time the unbroken green status before es[i] began: the journal records every status
    change, so it is the first entry after the last hold/freeze (or the pair's first entry)."""
    start = None
    for e in es[:i]:
        if e["decision"] in ("hold", "freeze", "rollback"):
            start = None
        elif start is None:
            start = e["ts_ms"]
    return start


def check_journal_invariants(ramp):
    """No pair ever steps twice within a soak, and every advance follows a full green soak
    at its step (judged from the journal's status changes, not from the controller's own
    green_since)."""
    by_pair = {}
    for e in ramp.entries():
        if e["decision"] != "run":
            by_pair.setdefault((e["tenant"], e["feature"]), []).append(e)
    advances = 0
    for pair, es in by_pair.items():
        last_change = None
        for i, e in enumerate(es):
            if e["from"] == e["to"]:
                continue
            if last_change is not None and e["ts_ms"] - last_change < SOAK * 1000:
                t.fail(f"{pair}: two changes {e['ts_ms'] - last_change} ms apart (< soak)")
            if e["decision"] == "advance":
                advances += 1
                if not all(c["green"] for c in e["checks"]):
                    t.fail(f"{pair}: advanced with a check not green: {e}")
                g = green_start(es, i)
                if g is None or e["ts_ms"] - max(g, last_change or g) < SOAK * 1000:
                    t.fail(f"{pair}: advanced without a full green soak at its step: {es[:i + 1]}")
            last_change = e["ts_ms"]
    return advances


def main():
    promtool = t.find_tool("promtool")
    with open(t.RULES_FILE) as f:
        rules_copy = e2e.short_rules(f.read())
    started = time.time()
    with live_env.LiveEnv("ramp-e2e-", flags_spec="# filled in once traffic shows the busiest tenants\n") as env:
        rules_path = os.path.join(env.work, "rules.short.yml")
        with open(rules_path, "w") as f:
            f.write(rules_copy)
        prom = t.Prometheus(env.work, [rules_path], scrape_targets=[env.exporter_target()],
                            scrape_interval="1s", evaluation_interval="1s")
        env.procs.append(prom.proc)
        prom.wait_ready()
        ramp = Ramp(env, prom.url)
        step = "data"
        try:
            # ---------------------------------------------------------------- data
            def busiest():
                env.check_alive()
                r = prom.query("topk(%d, sum by (tenant) (job_tenant_outcome:attest_ops_settled:rate30m))" % N_TENANTS)
                ok = [s["metric"]["tenant"] for s in r["result"]]
                lat = e2e.finite_samples(prom.query(
                    'job_region_quantile:ledger_anchor_latency_ms:histogram_quantile_rate5m{quantile="0.95"}'))
                return ok if len(ok) == N_TENANTS and len(lat) >= 2 else None
            t.wait_until("settled operations for the busiest tenants and latency in both regions", busiest, 180)
            time.sleep(20)  # let the 30s windows fill
            tenants = sorted(busiest())
            print(f"ok: traffic; ramping tenants {tenants}")
            state = {tn: {"new_checkout": 10} for tn in tenants}
            state[tenants[0]]["legacy_flag"] = 25  # not in the plan: never touched
            write_flags(env, state)

            # ------------------------------------------------------ 1. healthy ramp
            step = "healthy ramp"
            ramp.start()
            killed = False
            deadline = time.monotonic() + 4 * SOAK + 120
            while True:
                env.check_alive()
                f = flags(env)
                bad = firing(prom)
                if bad:
                    t.fail(f"alert firing during the healthy ramp: {[a['labels'] for a in bad]}")
                if not killed and any(f[tn]["new_checkout"] == 50 for tn in tenants):
                    # Mid-soak at 50: SIGKILL and restart at once.
                    time.sleep(SOAK / 3)
                    ramp.stop(signal.SIGKILL)
                    time.sleep(2)
                    ramp.start()
                    killed = True
                    print("ok: controller killed mid-soak and restarted")
                if all(f[tn]["new_checkout"] == 100 for tn in tenants):
                    break
                if time.monotonic() > deadline:
                    t.fail(f"new_checkout did not reach 100 for every tenant: {f}\n{ramp.proc.tail()}")
                time.sleep(1)
            if flags(env)[tenants[0]]["legacy_flag"] != 25:
                t.fail("a pair outside the plan was changed")
            for tn in tenants:
                steps = [(e["from"], e["to"], e["ts_ms"]) for e in ramp.pairs(tn, "new_checkout") if e["from"] != e["to"]]
                if [(a, b) for a, b, _ in steps] != [(10, 50), (50, 100)]:
                    t.fail(f"{tn}: expected 10->50->100, journal has {steps}")
                if steps[1][2] - steps[0][2] < SOAK * 1000:
                    t.fail(f"{tn}: second step {steps[1][2] - steps[0][2]} ms after the first (< soak)")
            t.wait_until("the exporter reports new_checkout at 100", lambda: all(
                exporter_pct(prom, tn, "new_checkout") == 100 for tn in tenants), 30)
            print(f"ok: new_checkout 10 -> 50 -> 100 for {len(tenants)} tenants, no alert fired, "
                  "no step early across the kill")

            # ---------------------------------------------- 2. one tenant diverges
            step = "divergence for one tenant"
            ramp.stop()
            bad_tenant = tenants[1]
            # Divergence first, and the evidence in Prometheus before the new ramps start:
            # a ramp that advances before any evidence exists is right to do so.
            env.write_control(divergence_rate="0.5", divergence_tenants=bad_tenant)
            t.wait_until(f"divergence visible for {bad_tenant}", lambda: env.check_alive() or e2e.finite_samples(
                prom.query(f'sum by (tenant) (increase(attest_divergence_count{{tenant="{bad_tenant}"}}[30s])) > 0')),
                e2e.ALERT_TIMEOUT)
            state = flags(env)
            for tn in tenants:
                state[tn]["fast_anchor"] = 10
            write_flags(env, state)
            ramp.start()

            def div_firing():
                return [a for a in firing(prom) if a["labels"].get("alertname") == "DivergenceDetected"]
            t.wait_until("DivergenceDetected firing", lambda: env.check_alive() or div_firing(), e2e.ALERT_TIMEOUT)
            who = {a["labels"].get("tenant") for a in div_firing()}
            if who != {bad_tenant}:
                t.fail(f"DivergenceDetected fires for {who}, expected only {bad_tenant}")
            others = [tn for tn in tenants if tn != bad_tenant]
            t.wait_until("the other tenants' fast_anchor at 100", lambda: env.check_alive() or all(
                flags(env)[tn]["fast_anchor"] == 100 for tn in others), 4 * SOAK + 60)
            if not div_firing():
                t.fail("DivergenceDetected resolved before the others finished: the test proves nothing")
            if flags(env)[bad_tenant]["fast_anchor"] != 10:
                t.fail(f"{bad_tenant} stepped while its divergence alert fired")
            frozen = [e for e in ramp.pairs(bad_tenant, "fast_anchor") if e["decision"] == "freeze"]
            if not frozen or not any("DivergenceDetected" in a for a in frozen[-1]["alerts"]):
                t.fail(f"no freeze citing DivergenceDetected for {bad_tenant}: {ramp.pairs(bad_tenant, 'fast_anchor')}")
            print(f"ok: {bad_tenant} frozen by DivergenceDetected while {others} ramped to 100")

            env.write_control(divergence_rate="0", divergence_tenants="")
            t.wait_until("DivergenceDetected resolved", lambda: env.check_alive() or not div_firing(),
                         e2e.RESOLVE_TIMEOUT)
            t.wait_until(f"{bad_tenant} fast_anchor at 50", lambda: env.check_alive() or
                         flags(env)[bad_tenant]["fast_anchor"] == 50, 2 * SOAK + 90)
            es = ramp.pairs(bad_tenant, "fast_anchor")
            i = max(k for k, e in enumerate(es) if e["decision"] == "advance")
            g = green_start(es, i)
            if g is None or es[i]["ts_ms"] - g < SOAK * 1000:
                t.fail(f"{bad_tenant} advanced before a full soak after its hold/freeze: {es}")
            print(f"ok: cleared, {bad_tenant} advanced {(es[i]['ts_ms'] - g) / 1000:.1f}s after it turned green "
                  f"(soak {SOAK}s)")

            # ------------------------------------------------ 3. Prometheus stopped
            step = "prometheus stopped"
            prom_args = prom.proc.p.args
            prom.proc.stop()
            env.procs.remove(prom.proc)
            down_at = time.time()
            before = flags(env)
            time.sleep(SOAK + 5)
            if flags(env) != before:
                t.fail(f"flags changed while Prometheus was down: {before} -> {flags(env)}")
            held = [e for e in ramp.entries() if e.get("decision") == "hold" and e["ts_ms"] >= down_at * 1000]
            pairs_held = {(e["tenant"], e["feature"]) for e in held}
            if len(pairs_held) != 2 * len(tenants):
                t.fail(f"expected every pair to hold while Prometheus is down, got {sorted(pairs_held)}")
            if not all("alerts unavailable" in e["reason"] for e in held):
                t.fail(f"hold without the reason: {held[0]['reason']}")
            print(f"ok: Prometheus down {SOAK + 5}s: all {len(pairs_held)} pairs hold, nothing changed")
            prom.proc = t.Proc("prometheus", prom_args, os.path.join(env.work, "prometheus2.log"))
            env.procs.append(prom.proc)
            prom.wait_ready()
            up_at = time.time()
            t.wait_until(f"{bad_tenant} fast_anchor at 100 after Prometheus is back", lambda: env.check_alive() or
                         flags(env)[bad_tenant]["fast_anchor"] == 100, 2 * SOAK + 90)
            adv = [e for e in ramp.pairs(bad_tenant, "fast_anchor") if e["decision"] == "advance"][-1]
            # The holds while it was down broke the streak: a full soak from the first green run after.
            if adv["ts_ms"] < down_at * 1000 + (SOAK + 5) * 1000 + SOAK * 1000:
                t.fail(f"advanced {adv['ts_ms'] / 1000 - up_at:.1f}s after Prometheus came back (< soak)")
            print(f"ok: Prometheus back: {bad_tenant} 50 -> 100 {adv['ts_ms'] / 1000 - up_at:.1f}s later")

            # ------------------------------------------------------- 4. dry run
            step = "dry run"
            ramp.stop()
            git = t.find_tool("git")
            t.run([git, "init", "-q", env.work])
            t.run([git, "-C", env.work, "config", "user.email", "ramp-test@localhost"])
            t.run([git, "-C", env.work, "config", "user.name", "ramp test"])
            state = flags(env)
            state[tenants[0]]["receipts_v2"] = 10
            write_flags(env, state)
            t.run([git, "-C", env.work, "add", "flags.spec"])
            t.run([git, "-C", env.work, "commit", "-q", "-m", "initial flags"])
            t0 = time.time()
            out = ramp.once()
            if out.strip():
                t.fail(f"the adopting run changed something: {out}")
            time.sleep(SOAK + 2)
            at = f"{t0 + SOAK + 1:.3f}"

            def snapshot():
                with open(env.flags_path, "rb") as f1, open(ramp.journal, "rb") as f2, open(ramp.metrics, "rb") as f3:
                    head = t.run([git, "-C", env.work, "rev-parse", "HEAD"]).stdout
                    return f1.read(), f2.read(), f3.read(), head
            before_files = snapshot()
            dry = ramp.once("--dry-run", f"--at={at}", f"--git-dir={env.work}")
            if snapshot() != before_files:
                t.fail("the dry run wrote something")
            real = ramp.once(f"--at={at}", f"--git-dir={env.work}")
            dry_lines = dry.splitlines()
            if not dry_lines or not dry_lines[-1].startswith("dry run: 1 change(s)"):
                t.fail(f"dry run did not plan exactly one change:\n{dry}")
            planned = [ln[len("would "):] if ln.startswith("would ") else ln for ln in dry_lines[:-1]]
            if planned != real.splitlines():
                t.fail(f"dry run and real run differ:\n--- dry\n{dry}\n--- real\n{real}")
            want = f"advance {tenants[0]}/receipts_v2 10 -> 50"
            if not real.startswith(want):
                t.fail(f"expected '{want}', got:\n{real}")
            # The printed diff is the file's change.
            old = render_flags(parse_flags(before_files[0].decode())).splitlines()
            with open(env.flags_path) as f:
                new = f.read().splitlines()
            minus = [ln[1:] for ln in real.splitlines() if ln.startswith("-") and not ln.startswith("---")]
            plus = [ln[1:] for ln in real.splitlines() if ln.startswith("+") and not ln.startswith("+++")]
            if [plus[minus.index(ln)] if ln in minus else ln for ln in old] != new:
                t.fail(f"the printed diff is not the file's change:\n{real}\nold {old}\nnew {new}")
            msg = t.run([git, "-C", env.work, "log", "-1", "--format=%B"]).stdout
            if "provledger_ramp: 1 ramp change(s)" not in msg or '"decision":"advance"' not in msg:
                t.fail(f"git commit message lacks the change and its journal line:\n{msg}")
            t.wait_until("the exporter reads receipts_v2 at 50", lambda: exporter_pct(
                prom, tenants[0], "receipts_v2") == 50, 30)
            print("ok: dry run printed exactly the change the real run made, wrote nothing; the real run "
                  "committed it with its journal line")

            # ------------------------------------------------------- invariants
            step = "journal and metrics"
            advances = check_journal_invariants(ramp)
            with open(ramp.metrics) as f:
                mtext = f.read()
            r = subprocess.run([promtool, "check", "metrics"], input=mtext, text=True, capture_output=True)
            if r.returncode != 0:
                t.fail(f"promtool check metrics on the textfile:\n{r.stdout}{r.stderr}")
            m = re.search(r'^provledger_ramp_journal_entries_total\{decision="advance"\} (\d+)$', mtext, flags=re.M)
            if not m or int(m.group(1)) != advances:
                t.fail(f"journal_entries_total advance != {advances} advances in the journal:\n{mtext}")
            if "provledger_ramp_last_run_success 1" not in mtext:
                t.fail(f"last run not successful:\n{mtext}")
            print(f"ok: {advances} advances, each after a full soak; metrics textfile valid and consistent")
        except t.TestFailure as e:
            raise t.TestFailure(f"[{step}] {e}\n{env.logs()}")
    print(f"ok: ramp e2e took {time.time() - started:.0f}s")


if __name__ == "__main__":
    t.main_wrapper(main)

"""A live data setup for the 'rules' suite's scrape and Prometheus tests.

LiveEnv starts, in a temp dir and on loopback only, and stops by pid what it started:
- a throwaway PostgreSQL (tests/support/pgtmp) with two regional ledgers
  (ledger_eu: eu-west, ledger_us: us-east) and a trace store;
- tools/provledger_sim init + run, steered through a control file
  (rate=, divergence_rate=, missing_rate=, ...; re-read by the simulator every second);
  the simulator's random ramp stepper writes flags.spec, unless `flags_spec` (a text) is
  given: then that file is written once and whoever the test starts (the ramp controller)
  owns it;
- the built provledger_exporter with a fast config: poll 1s, coverage window 1m (the
  minimum), grace 12s >= the simulator's 3s receipt flush delay + the ledgers' 3s
  out_of_order, with room for a loaded CI machine committing late.

Binaries: $PROVLEDGER_EXPORTER_BIN and $PROVLEDGER_SIM_BIN (set by tests/rules/meson.build),
else the newest build-*/ or build/ under the source tree. Anything that cannot start is a
test failure, never a skip.
"""

import glob
import os
import shutil
import time

import provtest as t

SIM_TENANTS = 12


def _find_binary(env_name, rel):
    path = os.environ.get(env_name)
    if path:
        if not os.access(path, os.X_OK):
            t.fail(f"${env_name}={path} is not an executable")
        return path
    candidates = [p for p in glob.glob(os.path.join(t.REPO, "build*", rel)) if os.access(p, os.X_OK)]
    if not candidates:
        t.fail(f"no {rel} found: build it (ninja -C build-<name>) or set ${env_name}")
    return max(candidates, key=os.path.getmtime)


def exporter_binary():
    return _find_binary("PROVLEDGER_EXPORTER_BIN", os.path.join("src", "app", "provledger_exporter"))


def sim_binary():
    return _find_binary("PROVLEDGER_SIM_BIN", os.path.join("tools", "provledger_sim"))


def parse_exposition(text):
    """Sample names in a text-format exposition (lines that are not comments)."""
    names = set()
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        end = len(line)
        for sep in ("{", " "):
            i = line.find(sep)
            if i != -1:
                end = min(end, i)
        names.add(line[:end])
    return names


class LiveEnv:
    def __init__(self, prefix, control=None, flags_spec=None):
        self.work = t.temp_workdir(prefix)
        os.chmod(self.work, 0o755)  # the postgres OS user must reach work/pg
        self.pgtmp = os.path.join(t.REPO, "tests", "support", "pgtmp")
        self.pg_dir = os.path.join(self.work, "pg")
        self.procs = []
        self.pg_started = False
        self.control_path = os.path.join(self.work, "control")
        # latency_scale 0.6: clean traffic's anchor latency p95 (~15 ms) stays well clear of
        # AnchorLatencySLO's 30 ms. At scale 1 it sits near 25 ms, and on a loaded machine the
        # short demo-scaled windows went over it: rules-e2e-other-job's quiet baseline saw the
        # alert pending on clean traffic (CI run of 2026-12-05). Fault injection sets 5.
        self.control = {"rate": "40", "divergence_rate": "0", "missing_rate": "0", "latency_scale": "0.6"}
        if control:
            self.control.update(control)
        self.exporter_port = None
        self.flags_spec = flags_spec
        self.flags_path = os.path.join(self.work, "flags.spec")

    # ------------------------------------------------------------------ lifecycle
    def __enter__(self):
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def _dsn(self, db):
        return f"host=127.0.0.1 port={self.pg_port} user=postgres dbname={db}"

    def _start(self):
        if not os.access(self.pgtmp, os.X_OK):
            t.fail(f"{self.pgtmp} missing: the PostgreSQL test helper is needed")
        exporter = exporter_binary()
        sim = sim_binary()
        os.makedirs(self.pg_dir)
        out = t.run([self.pgtmp, "start", self.pg_dir], timeout=120).stdout
        self.pg_started = True
        ports = [ln.split("=", 1)[1] for ln in out.splitlines() if ln.startswith("PORT=")]
        if not ports:
            t.fail(f"pgtmp printed no PORT=: {out}")
        self.pg_port = ports[0]
        psql = "/usr/lib/postgresql/15/bin/psql" if os.access("/usr/lib/postgresql/15/bin/psql", os.X_OK) \
            else t.find_tool("psql")
        for db in ("ledger_eu", "ledger_us", "traces"):
            t.run([psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", self._dsn("postgres"),
                   "-c", f"CREATE DATABASE {db}"])
        t.run([sim, "init", "--ledger-dsn", self._dsn("ledger_eu"), "--ledger-dsn", self._dsn("ledger_us"),
               "--traces-dsn", self._dsn("traces")])
        self.write_control()
        flags = self.flags_path
        if self.flags_spec is not None:
            with open(flags, "w") as f:
                f.write(self.flags_spec)
            ramp_args = []
        else:
            ramp_args = ["--flags-file", flags, "--ramp-interval", "5s"]
        self.sim = t.Proc("simulator", [
            sim, "run", "--ledger", f"eu-west={self._dsn('ledger_eu')}",
            "--ledger", f"us-east={self._dsn('ledger_us')}", "--traces-dsn", self._dsn("traces"),
            "--rate", self.control["rate"], "--tenants", str(SIM_TENANTS), "--seed", "7",
            "--divergence-rate", "0", "--missing-rate", "0"] + ramp_args + [
            "--control-file", self.control_path],
            os.path.join(self.work, "sim.log"))
        self.procs.append(self.sim)

        self.exporter_port = t.free_port()
        # The evidence API is on, so the exporter dashboard's evidence panels have
        # their series (jobs by outcome, queued, running exist from the start).
        ev_key = os.path.join(self.work, "evidence.key")
        ev_tokens = os.path.join(self.work, "evidence-tokens")
        for path, text in ((ev_key, "11" * 32 + "\n"), (ev_tokens, "live-env-0123456789abcdef0123456789\n")):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.write(fd, text.encode())
            os.close(fd)
        ev_jobs = os.path.join(self.work, "evidence-jobs")
        cfg = os.path.join(self.work, "provledger.yml")
        with open(cfg, "w") as f:
            f.write(f"""# written by tests/rules/live_env.py
web:
  listen_address: "127.0.0.1:{self.exporter_port}"
poll_interval: 1s
coverage:
  window: 1m
  grace: 12s
ledgers:
  - name: ledger_eu
    region: eu-west
    dsn: "{self._dsn('ledger_eu')}"
    out_of_order: 3s
  - name: ledger_us
    region: us-east
    dsn: "{self._dsn('ledger_us')}"
    out_of_order: 3s
trace_stores:
  - name: traces
    kind: postgres
    dsn: "{self._dsn('traces')}"
    out_of_order: 4s
flags:
  name: flags
  file: {flags}
evidence:
  api:
    enabled: true
    tokens_file: {ev_tokens}
    signing_key_file: {ev_key}
    job_dir: {ev_jobs}
""")
        # The flags file appears with the simulator's first ramp write.
        t.wait_until("the simulator's flags file", lambda: self._sim_alive() and os.path.exists(flags), 30)
        self.exporter = t.Proc("exporter", [
            exporter, f"--config.file={cfg}", f"--web.listen-address=127.0.0.1:{self.exporter_port}",
            "--log.level=info"], os.path.join(self.work, "exporter.log"))
        self.procs.append(self.exporter)

        def ready():
            if not self.exporter.alive():
                t.fail(f"exporter exited:\n{self.exporter.tail()}")
            return t.http_get(self.exporter_url("/-/ready"), timeout=2)[0] == 200
        t.wait_until("exporter /-/ready", ready, 60)

    def _sim_alive(self):
        if not self.sim.alive():
            t.fail(f"simulator exited:\n{self.sim.tail()}")
        return True

    def stop(self):
        for p in reversed(self.procs):
            try:
                p.stop()
            except Exception as e:  # keep stopping the others
                print(f"warning: stopping {p.name}: {e}")
        self.procs = []
        if self.pg_started:
            t.run([self.pgtmp, "stop", self.pg_dir], check=False, timeout=120)
            self.pg_started = False
        if os.environ.get("PROVLEDGER_KEEP_TEST_DIRS"):
            print(f"kept {self.work}")
        else:
            shutil.rmtree(self.work, ignore_errors=True)

    # ------------------------------------------------------------------ use
    def exporter_url(self, path="/metrics"):
        return f"http://127.0.0.1:{self.exporter_port}{path}"

    def exporter_target(self):
        return f"127.0.0.1:{self.exporter_port}"

    def write_control(self, **changes):
        self.control.update({k: str(v) for k, v in changes.items()})
        tmp = self.control_path + ".tmp"
        with open(tmp, "w") as f:
            f.write("# written by tests/rules/live_env.py\n")
            for k, v in self.control.items():
                f.write(f"{k}={v}\n")
        os.replace(tmp, self.control_path)
        time.sleep(1.5)  # re-read every second

    def scrape(self):
        self.check_alive()
        status, body = t.http_get(self.exporter_url(), timeout=5)
        if status != 200:
            t.fail(f"/metrics returned {status}")
        return body.decode("utf-8")

    def check_alive(self):
        for p in self.procs:
            if not p.alive():
                t.fail(f"{p.name} exited:\n{p.tail()}")

    def logs(self):
        return "\n".join(f"--- {p.name} (last lines)\n{p.tail(25)}" for p in self.procs)

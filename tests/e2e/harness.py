"""Shared pieces of the end-to-end tests: a real PostgreSQL (tests/support/pgtmp),
the built exporter binary run as a process, scraping and parsing /metrics.

Everything binds loopback, lives in temp dirs, and is stopped by pid at exit.
A part that cannot start raises: the test fails, it never skips.
"""
import atexit
import gzip
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.environ.get("PROVLEDGER_SOURCE_ROOT") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("PROVLEDGER_BUILD_ROOT") or os.path.join(ROOT, "build")
EXPORTER = os.environ.get("PROVLEDGER_EXPORTER_BIN") or os.path.join(BUILD, "src", "app", "provledger_exporter")
SIM = os.environ.get("PROVLEDGER_SIM_BIN") or os.path.join(BUILD, "tools", "provledger_sim")
PGTMP = os.path.join(ROOT, "tests", "support", "pgtmp")
SCHEMA = os.path.join(ROOT, "config", "schema")


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def free_port():
    # A free 127.0.0.1 port outside the kernel's ephemeral range (pgtmp's rule:
    # outgoing connections cannot take it between this choice and the bind).
    out = subprocess.run([PGTMP, "port"], check=True, capture_output=True, text=True)
    return int(out.stdout.strip())


def wait_until(pred, timeout=30.0, interval=0.2, what="condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = pred()
            if last:
                return last
        except Exception as e:  # the thing may not be up yet
            last = e
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


class Postgres:
    """A throwaway PostgreSQL cluster on a free loopback port."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="provledger-e2e-pg-")
        os.chmod(self.dir, 0o755)
        out = subprocess.run([PGTMP, "start", self.dir], check=True, capture_output=True, text=True)
        m = re.search(r"PORT=(\d+)", out.stdout)
        if not m:
            raise RuntimeError("pgtmp did not print PORT=: " + out.stdout + out.stderr)
        self.port = int(m.group(1))
        atexit.register(self.destroy)

    def dsn(self, db, user="postgres"):
        return f"host=127.0.0.1 port={self.port} dbname={db} user={user}"

    def psql(self, db, sql, check=True):
        r = subprocess.run(["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p",
                            str(self.port), "-U", "postgres", "-d", db, "-F", "\t", "-c", sql],
                           capture_output=True, text=True)
        if check and r.returncode != 0:
            raise RuntimeError(f"psql failed on {db}: {r.stderr}\nSQL: {sql}")
        return [line.split("\t") for line in r.stdout.splitlines() if line]

    def psql_file(self, db, path):
        subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", str(self.port), "-U",
                        "postgres", "-d", db, "-f", path], check=True, capture_output=True, text=True)

    def create_ledger(self, db):
        self.psql("postgres", f"CREATE DATABASE {db}")
        self.psql_file(db, os.path.join(SCHEMA, "ledger.sql"))

    def create_traces(self, db):
        self.psql("postgres", f"CREATE DATABASE {db}")
        self.psql_file(db, os.path.join(SCHEMA, "traces.sql"))

    def stop(self):
        subprocess.run([PGTMP, "stop", self.dir], check=True, capture_output=True, text=True)

    def start(self):
        subprocess.run([PGTMP, "restart", self.dir], check=True, capture_output=True, text=True)

    def destroy(self):
        if self.dir and os.path.isdir(self.dir):
            subprocess.run([PGTMP, "stop", self.dir], capture_output=True, text=True)
            shutil.rmtree(self.dir, ignore_errors=True)
        self.dir = None


class Exporter:
    """The built provledger_exporter binary, on a free loopback port."""

    def __init__(self, config_text, extra_args=(), workdir=None, env=None):
        if not os.access(EXPORTER, os.X_OK):
            raise RuntimeError(f"exporter binary not built: {EXPORTER}")
        self.workdir = workdir or tempfile.mkdtemp(prefix="provledger-e2e-")
        self.config = os.path.join(self.workdir, "provledger.yml")
        self.write_config(config_text)
        self.port = free_port()
        self.extra_args = list(extra_args)
        self.env = env
        self.proc = None
        self.logfile = os.path.join(self.workdir, "exporter.log")
        atexit.register(self.kill)

    def write_config(self, text):
        with open(self.config, "w") as f:
            f.write(text)

    def start(self):
        self.log = open(self.logfile, "ab")
        self.proc = subprocess.Popen([EXPORTER, f"--config.file={self.config}",
                                      f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=debug",
                                      *self.extra_args],
                                     stdout=self.log, stderr=subprocess.STDOUT, env=self.env)
        wait_until(lambda: self.get("/-/healthy")[0] == 200, timeout=20, what="exporter /-/healthy")
        return self

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def get(self, path, headers=None):
        req = urllib.request.Request(self.url(path), headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=5) as r:
                return r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    def scrape(self):
        status, headers, body = self.get("/metrics")
        assert status == 200, status
        return body.decode("utf-8")

    def metrics(self):
        return parse_exposition(self.scrape())

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, timeout=30):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                raise AssertionError("exporter did not stop within %ss of SIGTERM" % timeout)
        return self.proc.returncode if self.proc else None

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def log_text(self):
        with open(self.logfile, "rb") as f:
            return f.read().decode("utf-8", "replace")


_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)$')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_exposition(text):
    """{(name, frozenset(labels.items())): float} plus TYPE and HELP maps."""
    samples, types, helps = {}, {}, {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, typ = line.split(" ", 3)
            types[name] = typ
            continue
        if line.startswith("# HELP "):
            parts = line.split(" ", 3)
            helps[parts[2]] = parts[3] if len(parts) > 3 else ""
            continue
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        if not m:
            raise AssertionError("unparsable exposition line: " + line)
        labels = {}
        if m.group(3):
            for lm in _LABEL.finditer(m.group(3)):
                labels[lm.group(1)] = lm.group(2).encode().decode("unicode_escape")
        samples[(m.group(1), frozenset(labels.items()))] = float(m.group(4))
    return Metrics(samples, types, helps)


class Metrics:
    def __init__(self, samples, types, helps):
        self.samples, self.types, self.helps = samples, types, helps

    def get(self, name, **labels):
        want = frozenset(labels.items())
        return self.samples.get((name, want))

    def select(self, name, **labels):
        """All samples of `name` whose labels include `labels`: [(labels dict, value)]."""
        out = []
        for (n, ls), v in self.samples.items():
            if n == name and all(dict(ls).get(k) == val for k, val in labels.items()):
                out.append((dict(ls), v))
        return out

    def sum(self, name, **labels):
        return sum(v for _, v in self.select(name, **labels))


def ledger_config(pg, ledgers, traces_db, extra="", flags_file=None, poll="500ms", window="10m", grace="5s",
                  out_of_order="1s", trace_out_of_order="1s", state_file=None):
    """A YAML config for the exporter; `ledgers` is [(name, region, db)]."""
    lines = [f"poll_interval: {poll}"]
    if state_file:
        lines.append(f"state_file: {state_file}")
    lines += ["coverage:", f"  window: {window}", f"  grace: {grace}", "ledgers:"]
    for name, region, db in ledgers:
        lines += [f"  - name: {name}", f"    region: {region}", f'    dsn: "{pg.dsn(db)}"',
                  "    connect_timeout: 2s", "    statement_timeout: 5s", f"    out_of_order: {out_of_order}"]
    lines += ["trace_stores:", "  - name: traces", "    kind: postgres", f'    dsn: "{pg.dsn(traces_db)}"',
              "    connect_timeout: 2s", f"    out_of_order: {trace_out_of_order}"]
    if flags_file:
        lines += ["flags:", f"  file: {flags_file}"]
    return "\n".join(lines) + "\n" + extra


def run_test(fn):
    """Runs fn(); prints PASS/FAIL; exit code for meson."""
    try:
        fn()
    except Exception:
        import traceback
        traceback.print_exc()
        print("FAIL", fn.__name__)
        sys.exit(1)
    print("PASS", fn.__name__)
    sys.exit(0)

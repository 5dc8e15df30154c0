#!/usr/bin/env python3
"""provledger_exporter vs. the SQL peers, side by side on the same data (issue 5).

Called by bench/run (which installs packages and builds); python3 stdlib only.
For each size: a fresh ledger (3 regional ledger DBs + a trace store DB) and a
peer DB holding the same rows in one database, both filled by
`provledger_sim load` with the same seed and end time, then a live tail from
two `provledger_sim run` processes (same seed, same rate: the same operations)
while each exporter is measured alone, one phase after the other:

  ours          provledger_exporter, histogram.anchor_latency_per_tenant: false
                (the peer's series set: latency by region only)
  ours-default  provledger_exporter with the default per-tenant histogram
  sql-exporter  Debian's prometheus-sql-exporter (bench/peers, SQL aggregates)
  pg-exporter   Debian's prometheus-postgres-exporter, same SQL as custom queries

Per phase: database time per poll cycle (pg_stat_statements of the phase's own
role, reset after warm-up), exporter CPU per cycle (/proc/<pid>/stat), /metrics
size and series, wrk throughput and p50/p99 (plain and gzip), VmHWM and VmRSS.
Every process started here is stopped by pid on exit (also on Ctrl-C).
"""
import argparse
import atexit
import faulthandler
import gzip
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = os.path.dirname(HERE)
ROOT = os.path.dirname(BENCH)
sys.path.insert(0, os.path.join(BENCH, "peers"))
import peer_queries  # noqa: E402

PGTMP = os.path.join(ROOT, "tests", "support", "pgtmp")
REGIONS = [("eu", "eu-west", "ledger_eu"), ("us", "us-east", "ledger_us"), ("ap", "ap-south", "ledger_ap")]
ROLES = {"ours": "bench_ours", "ours-default": "bench_ours_default", "sql-exporter": "bench_sqlexp",
         "pg-exporter": "bench_pgexp"}
BUSINESS = ("attest_coverage_pct", "attest_divergence", "attest_ops_settled_total", "ledger_anchor_latency_ms",
            "anchor_queue", "proofs_last", "flag_ramp")

_procs = []          # [(name, Popen)] started by us, stopped by pid at exit
_pg_dir = None


def log(*a):
    print(time.strftime("%H:%M:%S"), *a, file=sys.stderr, flush=True)


def parse_size(s):
    s = s.strip()
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([kKmM]?)", s)
    if not m:
        raise argparse.ArgumentTypeError(f"bad size {s!r}")
    n = float(m.group(1)) * {"": 1, "k": 1e3, "K": 1e3, "m": 1e6, "M": 1e6}[m.group(2)]
    return int(n)


def size_label(n):
    return f"{n // 1000000}M" if n % 1000000 == 0 else f"{n // 1000}k" if n % 1000 == 0 else str(n)


def free_port():
    # A free 127.0.0.1 port outside the kernel's ephemeral range (pgtmp's rule:
    # outgoing connections cannot take it between this choice and the bind).
    out = subprocess.run([PGTMP, "port"], check=True, capture_output=True, text=True)
    return int(out.stdout.strip())


# ---------------------------------------------------------------- processes

def start(name, cmd, logfile, env=None):
    f = open(logfile, "ab")
    p = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    _procs.append((name, p))
    log(f"started {name} pid={p.pid}")
    return p


def stop(p, sig=signal.SIGTERM, timeout=60):
    if p.poll() is None:
        p.send_signal(sig)
        try:
            p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    for i, (_, q) in enumerate(_procs):
        if q is p:
            del _procs[i]
            break
    return p.returncode


def cleanup():
    for name, p in list(reversed(_procs)):
        if p.poll() is None:
            log(f"stopping {name} pid={p.pid}")
            try:
                p.send_signal(signal.SIGTERM)
                p.wait(timeout=30)
            except Exception:
                p.kill()
    _procs.clear()
    if _pg_dir:
        subprocess.run([PGTMP, "stop", _pg_dir], capture_output=True)


def _on_signal(sig, _frame):
    raise SystemExit(128 + sig)


# ---------------------------------------------------------------- postgres

class PG:
    def __init__(self, workdir):
        global _pg_dir
        self.dir = os.path.join(workdir, "pg")
        if os.path.isdir(self.dir):
            subprocess.run([PGTMP, "destroy", self.dir], capture_output=True)
        env = dict(os.environ)
        env["PGTMP_SETTINGS"] = "\n".join([
            "pg_stat_statements.track_planning = on",
            "pg_stat_statements.max = 10000",
            "shared_buffers = 1GB",
            "max_wal_size = 8GB",
            "checkpoint_timeout = 30min",
            "wal_level = minimal",
            "max_wal_senders = 0",
        ])
        out = subprocess.run([PGTMP, "start", self.dir], check=True, capture_output=True, text=True, env=env).stdout
        _pg_dir = self.dir
        self.port = int(re.search(r"PORT=(\d+)", out).group(1))
        self.psql("postgres", "CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        for role in ROLES.values():
            self.psql("postgres", f"DO $$BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname='{role}') THEN "
                                  f"CREATE ROLE {role} LOGIN; END IF; END$$")
            self.psql("postgres", f"GRANT pg_read_all_data, pg_monitor TO {role}")
        for role in (ROLES["sql-exporter"], ROLES["pg-exporter"]):
            # The peers' hash joins over the whole history: give them room, as a DBA would.
            self.psql("postgres", f"ALTER ROLE {role} SET work_mem = '64MB'")

    def dsn(self, db, user="postgres"):
        return f"host=127.0.0.1 port={self.port} dbname={db} user={user}"

    def url(self, db, user):
        return f"postgres://{user}@127.0.0.1:{self.port}/{db}?sslmode=disable"

    def psql(self, db, sql, check=True):
        r = subprocess.run(["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p",
                            str(self.port), "-U", "postgres", "-d", db, "-F", "\t", "-c", sql],
                           capture_output=True, text=True)
        if check and r.returncode != 0:
            raise RuntimeError(f"psql failed on {db}: {r.stderr}\nSQL: {sql}")
        return [line.split("\t") for line in r.stdout.splitlines() if line]

    def psql_file(self, db, path):
        subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", str(self.port),
                        "-U", "postgres", "-d", db, "-f", path], check=True, capture_output=True, text=True)

    def recreate(self, db):
        self.psql("postgres", f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
        self.psql("postgres", f"CREATE DATABASE {db}")

    def reset_stats(self, role):
        self.psql("postgres", f"SELECT pg_stat_statements_reset((SELECT oid FROM pg_roles WHERE rolname='{role}'))")

    def stats(self, role):
        rows = self.psql("postgres", f"""
            SELECT d.datname, s.calls, s.total_exec_time, s.total_plan_time, s.rows,
                   left(regexp_replace(s.query, '\\s+', ' ', 'g'), 140)
            FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid
            JOIN pg_database d ON d.oid = s.dbid
            WHERE r.rolname = '{role}' ORDER BY s.total_exec_time DESC""")
        return [{"db": r[0], "calls": int(r[1]), "exec_ms": float(r[2]), "plan_ms": float(r[3]), "rows": int(r[4]),
                 "query": r[5]} for r in rows]

    def table_rows(self, db, table):
        return int(self.psql(db, f"SELECT count(*) FROM {table}")[0][0])


# ---------------------------------------------------------------- /proc

def proc_cpu_s(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # fields[0] is field 3 (state); utime = field 14, stime = field 15.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_status_kb(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return None


class MemSampler:
    """Samples RssAnon and VmRSS of a process every `period` s in a thread: the kernel keeps a
    high-water mark only for the total (VmHWM), not for the anonymous (private) part."""

    def __init__(self, pid, period=0.02):
        self.pid, self.period = pid, period
        self.peak_anon_kb = 0
        self.samples = 0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self):
        while not self._stop.is_set():
            try:
                a = proc_status_kb(self.pid, "RssAnon")
            except OSError:
                return
            if a is not None:
                self.peak_anon_kb = max(self.peak_anon_kb, a)
                self.samples += 1
            self._stop.wait(self.period)

    def stop(self):
        self._stop.set()
        self._t.join()
        return self.peak_anon_kb


def loadavg():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


# ---------------------------------------------------------------- HTTP + wrk

def http_get(url, gz=False, timeout=600):
    req = urllib.request.Request(url, headers={"Accept-Encoding": "gzip"} if gz else {})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.status, dict(r.headers), r.read()


def exposition(url, business_prefixes):
    _, h, plain = http_get(url)
    _, hg, zipped = http_get(url, gz=True)
    encoded = hg.get("Content-Encoding", "") == "gzip"
    text = plain.decode("utf-8", "replace")
    samples = [ln for ln in text.splitlines() if ln and not ln.startswith("#")]
    business = [ln for ln in samples if ln.startswith(business_prefixes)]
    return {"plain_bytes": len(plain), "gzip_bytes": len(zipped) if encoded else None,
            "gzip_bytes_recompressed": len(gzip.compress(plain, 6)), "series": len(samples),
            "business_series": len(business)}


def _ms(v):
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", v)
    if not m:
        return None
    return float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[m.group(2)]


def run_wrk(url, args, gz):
    cmd = ["wrk", f"-t{args.wrk_threads}", f"-c{args.wrk_connections}", f"-d{args.wrk_duration}s", "--latency",
           "--timeout", "30s"]
    if gz:
        cmd += ["-H", "Accept-Encoding: gzip"]
    cmd.append(url)
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=args.wrk_duration + 120).stdout
    res = {"cmd": " ".join(cmd), "raw": out}
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    res["rps"] = float(m.group(1)) if m else None
    for q in ("50", "75", "90", "99"):
        m = re.search(rf"^\s+{q}%\s+(\S+)", out, re.M)
        res[f"p{q}_ms"] = _ms(m.group(1)) if m else None
    m = re.search(r"Transfer/sec:\s+(\S+)", out)
    res["transfer_per_s"] = m.group(1) if m else None
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    res["non2xx"] = int(m.group(1)) if m else 0
    m = re.search(r"Socket errors: (.*)", out)
    res["socket_errors"] = m.group(1) if m else ""
    return res


# ---------------------------------------------------------------- data

def load_data(pg, args, size, wd):
    sim = args.sim
    end_ts = int(time.time())
    for _, _, db in REGIONS:
        pg.recreate(db)
    pg.recreate("traces")
    pg.recreate("peer")
    ledgers_ours = [f"--ledger-dsn={pg.dsn(db)}" for _, _, db in REGIONS]
    subprocess.run([sim, "init", *ledgers_ours, f"--traces-dsn={pg.dsn('traces')}"], check=True,
                   capture_output=True)
    subprocess.run([sim, "init", f"--ledger-dsn={pg.dsn('peer')}", f"--traces-dsn={pg.dsn('peer')}"], check=True,
                   capture_output=True)
    flags = os.path.join(wd, "flags.spec")
    common = ["--receipts", str(size), "--seed", str(args.seed), "--end-ts", str(end_ts), "--tenants", "200",
              "--hours", "24", "--coverage", "0.97", "--divergence", "0.001", "--unanchored", "0.01"]
    t0 = time.monotonic()
    out = subprocess.run([sim, "load", *[f"--ledger={r}={pg.dsn(db)}" for _, r, db in REGIONS],
                          f"--traces-dsn={pg.dsn('traces')}", *common, "--flags-file", flags],
                         check=True, capture_output=True, text=True).stdout
    load_ours = json.loads(out.strip().splitlines()[-1])
    t1 = time.monotonic()
    out = subprocess.run([sim, "load", *[f"--ledger={r}={pg.dsn('peer')}" for _, r, _ in REGIONS],
                          f"--traces-dsn={pg.dsn('peer')}", *common], check=True, capture_output=True, text=True).stdout
    load_peer = json.loads(out.strip().splitlines()[-1])
    t2 = time.monotonic()
    schema = os.path.join(wd, "peer_schema.sql")
    with open(schema, "w") as f:
        f.write(peer_queries.PEER_SCHEMA)
    pg.psql_file("peer", schema)
    pg.psql("peer", "ANALYZE receipts")
    t3 = time.monotonic()
    sync_flags(pg, flags)
    for k in ("receipts", "anchors", "spans", "spans_divergent", "unanchored"):
        if load_ours.get(k) != load_peer.get(k):
            raise RuntimeError(f"peer DB differs from the ledger DBs: {k} {load_ours.get(k)} != {load_peer.get(k)}")
    sizes = {db: int(pg.psql("postgres", f"SELECT pg_database_size('{db}')")[0][0])
             for db in [d for _, _, d in REGIONS] + ["traces", "peer"]}
    return {"end_ts": end_ts, "load_ours_s": round(t1 - t0, 1), "load_peer_s": round(t2 - t1, 1),
            "peer_index_s": round(t3 - t2, 1), "summary": load_ours, "db_bytes": sizes}


def sync_flags(pg, path):
    """flags.spec (tenant: {feature: pct, ...}) -> the peer's flags table."""
    rows = []
    with open(path) as f:
        for line in f:
            m = re.match(r"^([^#\s][^:]*):\s*\{(.*)\}\s*$", line)
            if not m:
                continue
            for kv in m.group(2).split(","):
                if ":" in kv:
                    feat, pct = kv.split(":", 1)
                    rows.append((m.group(1).strip(), feat.strip(), float(pct)))
    values = ",".join(f"('{t}','{f}',{p})" for t, f, p in rows)
    sql = "BEGIN; DELETE FROM flags;" + (f" INSERT INTO flags VALUES {values};" if rows else "") + " COMMIT;"
    pg.psql("peer", sql)
    return len(rows)


def start_tails(pg, args, wd, label):
    flags = os.path.join(wd, "flags.spec")
    common = ["--rate", str(args.rate), "--seed", str(args.seed), "--tenants", "200", "--instance", "1",
              "--stats-interval", "60s"]
    ours = start(f"sim-tail-ours-{label}", [args.sim, "run", *[f"--ledger={r}={pg.dsn(db)}" for _, r, db in REGIONS],
                                            f"--traces-dsn={pg.dsn('traces')}", *common, "--flags-file", flags],
                 os.path.join(wd, "sim-tail-ours.log"))
    peer = start(f"sim-tail-peer-{label}", [args.sim, "run", *[f"--ledger={r}={pg.dsn('peer')}" for _, r, _ in REGIONS],
                                            f"--traces-dsn={pg.dsn('peer')}", *common],
                 os.path.join(wd, "sim-tail-peer.log"))
    return [ours, peer]


# ---------------------------------------------------------------- exporters

def ours_config(pg, args, wd, per_tenant, role, window="1h"):
    lines = [f"poll_interval: {args.interval}s", "coverage:", f"  window: {window}", "  grace: 2m", "histogram:",
             f"  anchor_latency_per_tenant: {'true' if per_tenant else 'false'}", "ledgers:"]
    for name, region, db in REGIONS:
        lines += [f"  - name: {name}", f"    region: {region}", f'    dsn: "{pg.dsn(db, role)}"']
        if args.batch_size:
            lines.append(f"    batch_size: {args.batch_size}")
    lines += ["trace_stores:", "  - name: traces", "    kind: postgres", f'    dsn: "{pg.dsn("traces", role)}"']
    if args.batch_size:
        lines.append(f"    batch_size: {args.batch_size}")
    lines += ["flags:", f"  file: {os.path.join(wd, 'flags.spec')}"]
    path = os.path.join(wd, f"{role}.yml")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def wait_for(pred, timeout, what, interval=0.25):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = pred()
            if last:
                return last
        except Exception as e:  # not up yet
            last = e
        time.sleep(interval)
    raise RuntimeError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


POLL_OK = re.compile(r"poll ok source=(\S+) rows=(\d+) duration_s=([\d.]+)")


def measure_common(pg, args, role, pid, url, prefixes, cycles_fn, result, extra_wait=None, sampler=None):
    """After warm-up: reset stats, run until >= args.cycles cycles, read DB time and CPU; then
    exposition, wrk, memory."""
    pg.reset_stats(role)
    cpu0, t0 = proc_cpu_s(pid), time.monotonic()
    load0 = loadavg()
    # Until N cycles; a slow peer is cut after --peer-window s once it has done 2 (hard cap --peer-timeout).
    min_wall = args.cycles * args.interval
    soft = t0 + max(min_wall * 2, args.peer_window)
    deadline = t0 + args.peer_timeout
    while True:
        time.sleep(min(args.interval, 2))
        if extra_wait:
            extra_wait()
        st = pg.stats(role)
        cyc = cycles_fn(st)
        now = time.monotonic()
        if (cyc >= args.cycles and now - t0 >= min_wall) or (now > soft and cyc >= 2) or now > deadline:
            break
    cpu1, t1 = proc_cpu_s(pid), time.monotonic()
    st = pg.stats(role)
    cyc = cycles_fn(st)
    exec_ms = sum(s["exec_ms"] for s in st)
    plan_ms = sum(s["plan_ms"] for s in st)
    result.update({
        "cycles": cyc, "wall_s": round(t1 - t0, 2), "loadavg_start": load0, "loadavg_end": loadavg(),
        "db_exec_ms_per_cycle": exec_ms / cyc if cyc else None,
        "db_plan_ms_per_cycle": plan_ms / cyc if cyc else None,
        "db_ms_per_cycle": (exec_ms + plan_ms) / cyc if cyc else None,
        "db_calls_per_cycle": sum(s["calls"] for s in st) / cyc if cyc else None,
        "cpu_ms_per_cycle": (cpu1 - cpu0) * 1000 / cyc if cyc else None,
        "statements": st,
        "rss_kb_steady": proc_status_kb(pid, "VmRSS"),
        "rss_anon_kb_steady": proc_status_kb(pid, "RssAnon"),
        "rss_file_kb_steady": proc_status_kb(pid, "RssFile"),
        "hwm_kb_before_wrk": proc_status_kb(pid, "VmHWM"),
    })
    result["exposition"] = exposition(url, prefixes)
    if not args.no_wrk:
        result["wrk_plain"] = run_wrk(url, args, gz=False)
        result["wrk_gzip"] = run_wrk(url, args, gz=True)
    result["hwm_kb"] = proc_status_kb(pid, "VmHWM")
    result["rss_kb_end"] = proc_status_kb(pid, "VmRSS")
    if sampler is not None:
        result["peak_anon_kb"] = sampler.peak_anon_kb


def phase_ours(pg, args, wd, per_tenant):
    name = "ours-default" if per_tenant else "ours"
    role = ROLES[name]
    cfg = ours_config(pg, args, wd, per_tenant, role)
    port = free_port()
    logf = os.path.join(wd, f"{name}.log")
    if os.path.exists(logf):
        os.unlink(logf)
    t_start = time.monotonic()
    p = start(name, [args.exporter, f"--config.file={cfg}", f"--web.listen-address=127.0.0.1:{port}",
                     "--log.level=debug"], logf)
    url = f"http://127.0.0.1:{port}/metrics"
    result = {"phase": name, "pid": p.pid}
    sampler = MemSampler(p.pid)
    try:
        n_sources = len(REGIONS) + 1

        def first_polls():
            with open(logf, errors="replace") as f:
                seen = {}
                for m in POLL_OK.finditer(f.read()):
                    seen.setdefault(m.group(1), (int(m.group(2)), float(m.group(3))))
            return seen if len([k for k in seen if k != "flags"]) >= n_sources else None
        seen = wait_for(first_polls, args.peer_timeout, f"{name} first polls", 0.05)
        t_polled = time.monotonic()
        wait_for(lambda: b"attest_coverage_pct{" in http_get(url)[2], 120, f"{name} first publish", 0.05)
        result["cold_start"] = {
            "first_poll": {k: {"rows": v[0], "duration_s": v[1]} for k, v in seen.items()},
            "rows": sum(v[0] for k, v in seen.items() if k != "flags"),
            "until_all_polled_s": round(t_polled - t_start, 3),
            "until_first_publish_s": round(time.monotonic() - t_start, 3),
            "hwm_kb_after_cold_start": proc_status_kb(p.pid, "VmHWM"),
        }
        time.sleep(args.interval)   # one steady-state cycle before measuring

        def cycles(st):
            clock = [s for s in st if "clock_timestamp()" in s["query"]]
            return sum(s["calls"] for s in clock) / n_sources
        measure_common(pg, args, role, p.pid, url, BUSINESS, cycles, result, sampler=sampler)
        with open(logf, errors="replace") as f:
            polls = [(m.group(1), int(m.group(2)), float(m.group(3))) for m in POLL_OK.finditer(f.read())]
        steady = [x for x in polls[n_sources + 1:] if x[0] != "flags"]
        if steady:
            result["steady_poll_rows_mean"] = sum(x[1] for x in steady) / len(steady) * n_sources
            result["steady_poll_duration_s_mean"] = sum(x[2] for x in steady) / len(steady)
    finally:
        sampler.stop()
        result["exit"] = stop(p)
    return result


def phase_sql_exporter(pg, args, wd):
    role = ROLES["sql-exporter"]
    cfg = os.path.join(wd, "sql_exporter.yml")
    with open(cfg, "w") as f:
        f.write(peer_queries.render_sql_exporter(pg.url("peer", role), args.interval))
    port = free_port()
    env = dict(os.environ, LOGLEVEL="warn", GOMAXPROCS="2")
    t_start = time.monotonic()
    p = start("sql-exporter", ["prometheus-sql-exporter", "-config.file", cfg,
                               "-web.listen-address", f"127.0.0.1:{port}"], os.path.join(wd, "sql-exporter.log"), env)
    url = f"http://127.0.0.1:{port}/metrics"
    result = {"phase": "sql-exporter", "pid": p.pid}
    sampler = MemSampler(p.pid)
    try:
        wait_for(lambda: b"sql_ledger_anchor_latency_ms{" in http_get(url)[2]
                 and b"sql_attest_divergence_count{" in http_get(url)[2], args.peer_timeout, "sql-exporter first run", 0.2)
        result["cold_start"] = {"until_first_publish_s": round(time.monotonic() - t_start, 3)}

        def cycles(st):
            # Every query runs once per job run; count the slowest-growing one.
            return _peer_cycles(st)
        measure_common(pg, args, role, p.pid, url, ("sql_",), cycles, result, sampler=sampler)
        result["exposition"]["business_series"] = result["exposition"]["business_series"] - \
            _count_prefix(url, "sql_exporter_")
    finally:
        sampler.stop()
        result["exit"] = stop(p)
    return result


def _peer_cycles(st):
    """Each of the peer's queries runs once per cycle: the least-called one counts completed cycles."""
    names = [s for s in st if s["query"].startswith(("SELECT", "WITH")) and "version()" not in s["query"]]
    return min((s["calls"] for s in names), default=0) if len(names) >= len(peer_queries.queries()) else 0


def _count_prefix(url, prefix):
    text = http_get(url)[2].decode("utf-8", "replace")
    return sum(1 for ln in text.splitlines() if ln.startswith(prefix))


def phase_pg_exporter(pg, args, wd):
    role = ROLES["pg-exporter"]
    result = {"phase": "pg-exporter"}
    env = dict(os.environ, DATA_SOURCE_NAME=pg.url("peer", role), GOMAXPROCS="2")
    base = ["prometheus-postgres-exporter", "--disable-default-metrics", "--disable-settings-metrics",
            "--no-collector.database", "--no-collector.bgwriter", "--log.level=warn"]
    # (a) DB time and CPU per cycle: Prometheus-like scrapes every interval, cache just under it.
    qfile = os.path.join(wd, "postgres_exporter_queries.yml")
    with open(qfile, "w") as f:
        f.write(peer_queries.render_postgres_exporter(max(1, args.interval - 1)))
    port = free_port()
    url = f"http://127.0.0.1:{port}/metrics"
    t_start = time.monotonic()
    p = start("pg-exporter", [*base, f"--extend.query-path={qfile}", f"--web.listen-address=127.0.0.1:{port}"],
              os.path.join(wd, "pg-exporter.log"), env)
    result["pid"] = p.pid
    try:
        wait_for(lambda: b"attest_divergence_divergent{" in http_get(url)[2], args.peer_timeout,
                 "pg-exporter first scrape", 0.5)
        result["cold_start"] = {"until_first_publish_s": round(time.monotonic() - t_start, 3)}
        last = [time.monotonic()]

        def scrape_on_schedule():
            if time.monotonic() - last[0] >= args.interval:
                last[0] = time.monotonic()
                http_get(url)

        def cycles(st):
            return _peer_cycles(st)
        # measure_common runs wrk too; skip it here and run it against (b).
        no_wrk = args.no_wrk
        args.no_wrk = True
        try:
            measure_common(pg, args, role, p.pid, url, BUSINESS, cycles, result, extra_wait=scrape_on_schedule)
        finally:
            args.no_wrk = no_wrk
    finally:
        result["exit"] = stop(p)
    # (b) serving: cache long enough that wrk measures the HTTP side, not the database.
    if not args.no_wrk:
        with open(qfile + ".cached", "w") as f:
            f.write(peer_queries.render_postgres_exporter(3600))
        port = free_port()
        url = f"http://127.0.0.1:{port}/metrics"
        p = start("pg-exporter-cached", [*base, f"--extend.query-path={qfile}.cached",
                                         f"--web.listen-address=127.0.0.1:{port}"],
                  os.path.join(wd, "pg-exporter-cached.log"), env)
        try:
            wait_for(lambda: b"attest_divergence_divergent{" in http_get(url)[2], args.peer_timeout,
                     "pg-exporter (cached) first scrape", 0.5)
            result["wrk_plain"] = run_wrk(url, args, gz=False)
            result["wrk_gzip"] = run_wrk(url, args, gz=True)
            result["hwm_kb"] = max(result.get("hwm_kb") or 0, proc_status_kb(p.pid, "VmHWM"))
        finally:
            stop(p)
    return result


def poll_bench(pg, args, wd, window, tag):
    """One cold poll through the exporter's own libraries (bench/tools/poll_bench), timed by phase."""
    cfg = ours_config(pg, args, wd, False, "bench_ours", window=window)
    out = subprocess.run([args.poll_bench_bin, "--config", cfg, "--cycles", "2", "--interval-ms", "1000"],
                         capture_output=True, text=True, timeout=3600)
    if out.returncode != 0:
        raise RuntimeError("poll_bench failed: " + out.stderr)
    lines = [json.loads(x) for x in out.stdout.splitlines() if x.startswith("{")]
    first = lines[0]
    ledger_s = sum(s["poll_s"] + s["apply_s"] for s in first["sources"] if s["receipts"] or s["anchored"])
    res = {"tag": tag, "window": window, "first": first, "second": lines[1] if len(lines) > 2 else None,
           "summary": lines[-1]}
    res["receipts_per_s_ledger_path"] = first["receipts"] / ledger_s if ledger_s else None
    total_s = first["poll_s"] + first["apply_s"] + first["advance_s"]
    res["rows_per_s_all"] = sum(s["rows"] for s in first["sources"]) / total_s if total_s else None
    res["receipts_per_s_whole_cycle"] = first["receipts"] / total_s if total_s else None
    ops = first["window_ops"] + first["pending_ops"]
    res["heap_bytes_per_op"] = (first["heap_in_use"] - first["heap_at_start"]) / ops if ops else None
    return res


# ---------------------------------------------------------------- report

def fmt(v, nd=1):
    if v is None:
        return "–"
    if isinstance(v, float):
        if abs(v) >= 100:
            return f"{v:,.0f}"
        return f"{v:.{nd}f}" if abs(v) >= 1 else f"{v:.{max(nd, 2)}f}" if abs(v) >= 0.01 else f"{v:.4f}"
    return f"{v:,}" if isinstance(v, int) else str(v)


def ratio(a, b):
    if a is None or b in (None, 0):
        return None
    return a / b


def _db_no_queue(r):
    """DB ms per cycle without the queue-depth count(*), whose cost follows the queue, not the new rows."""
    if not r.get("cycles") or "statements" not in r:
        return None
    return sum(s["exec_ms"] + s["plan_ms"] for s in r["statements"] if "anchor_id IS NULL" not in s["query"]) / r["cycles"]


ROWS = [
    ("DB time per poll cycle (ms, exec+plan)", lambda r: r.get("db_ms_per_cycle"), "peer/ours"),
    ("… without the queue-depth count(*) (ms)", _db_no_queue, "peer/ours"),
    ("DB statements per cycle", lambda r: r.get("db_calls_per_cycle"), "peer/ours"),
    ("exporter CPU per cycle (ms)", lambda r: r.get("cpu_ms_per_cycle"), "peer/ours"),
    ("/metrics req/s plain", lambda r: (r.get("wrk_plain") or {}).get("rps"), "ours/peer"),
    ("/metrics p50 ms plain", lambda r: (r.get("wrk_plain") or {}).get("p50_ms"), "peer/ours"),
    ("/metrics p99 ms plain", lambda r: (r.get("wrk_plain") or {}).get("p99_ms"), "peer/ours"),
    ("/metrics req/s gzip", lambda r: (r.get("wrk_gzip") or {}).get("rps"), "ours/peer"),
    ("/metrics p50 ms gzip", lambda r: (r.get("wrk_gzip") or {}).get("p50_ms"), "peer/ours"),
    ("/metrics p99 ms gzip", lambda r: (r.get("wrk_gzip") or {}).get("p99_ms"), "peer/ours"),
    ("peak RSS VmHWM (MiB)", lambda r: r["hwm_kb"] / 1024 if r.get("hwm_kb") else None, "peer/ours"),
    ("peak anonymous RSS, sampled every 20 ms (MiB)", lambda r: r["peak_anon_kb"] / 1024 if r.get("peak_anon_kb") else None,
     "peer/ours"),
    ("steady RSS VmRSS (MiB)", lambda r: r["rss_kb_steady"] / 1024 if r.get("rss_kb_steady") else None, "peer/ours"),
    ("… of which anonymous RssAnon (MiB)", lambda r: r["rss_anon_kb_steady"] / 1024 if r.get("rss_anon_kb_steady") else None,
     "peer/ours"),
    ("exposition bytes plain", lambda r: (r.get("exposition") or {}).get("plain_bytes"), "peer/ours"),
    ("exposition bytes gzip", lambda r: (r.get("exposition") or {}).get("gzip_bytes"), "peer/ours"),
    ("series (all)", lambda r: (r.get("exposition") or {}).get("series"), "peer/ours"),
    ("series (business)", lambda r: (r.get("exposition") or {}).get("business_series"), "peer/ours"),
    ("first publish after start (s)", lambda r: (r.get("cold_start") or {}).get("until_first_publish_s"), "peer/ours"),
]


def size_table(sz):
    ph = {p["phase"]: p for p in sz["phases"]}
    ours = ph.get("ours")
    cols = [n for n in ("ours", "ours-default", "sql-exporter", "pg-exporter") if n in ph]
    peers = [n for n in ("sql-exporter", "pg-exporter") if n in ph]
    head = "| metric | " + " | ".join(cols) + " | " + " | ".join(f"{p} ÷ ours" for p in peers) + " |"
    out = [head, "|" + "---|" * (1 + len(cols) + len(peers))]
    for label, get, _ in ROWS:
        vals = [get(ph[c]) for c in cols]
        if all(v is None for v in vals):
            continue   # a figure this run did not record
        rats = [ratio(get(ph[p]), get(ours)) if ours else None for p in peers]
        out.append(f"| {label} | " + " | ".join(fmt(v) for v in vals) + " | " +
                   " | ".join(fmt(r, 2) + ("×" if r is not None else "") for r in rats) + " |")
    return "\n".join(out)


def growth_table(sizes):
    if len(sizes) < 2:
        return ""
    first, last = sizes[0], sizes[-1]
    names = [n for n in ("ours", "ours-default", "sql-exporter", "pg-exporter")
             if any(p["phase"] == n for p in first["phases"]) and any(p["phase"] == n for p in last["phases"])]
    lab = f"{first['label']} → {last['label']}"
    out = [f"| metric ({lab}) | " + " | ".join(names) + " |", "|" + "---|" * (1 + len(names))]
    for label, get, _ in ROWS:
        if all(get(next(p for p in sz["phases"] if p["phase"] == n)) is None for sz in (first, last) for n in names):
            continue
        vals = []
        for n in names:
            a = get(next(p for p in first["phases"] if p["phase"] == n))
            b = get(next(p for p in last["phases"] if p["phase"] == n))
            r = ratio(b, a)
            vals.append(f"{fmt(a)} → {fmt(b)} ({fmt(r, 2)}×)" if r is not None else "–")
        out.append(f"| {label} | " + " | ".join(vals) + " |")
    return "\n".join(out)


def report(results):
    m = results["machine"]
    out = [f"Run {results['date']} on {m['model']} ({m['nproc']} cores, {m['ram_gib']:.1f} GiB RAM), "
           f"{m['os']}; command: `{results['command']}`; total {results['total_s'] / 60:.1f} min.", ""]
    for sz in results["sizes"]:
        d = sz["data"]
        out.append(f"### {sz['label']} receipts")
        out.append("")
        out.append(f"Load: ledgers+traces {d['load_ours_s']} s, peer DB {d['load_peer_s']} s "
                   f"(+{d['peer_index_s']} s peer index); spans {d['summary'].get('spans'):,}, "
                   f"anchors {d['summary'].get('anchors'):,}, unanchored {d['summary'].get('unanchored'):,}, "
                   f"divergent spans {d['summary'].get('spans_divergent'):,}; DB sizes "
                   + ", ".join(f"{k} {v / 2**20:,.0f} MiB" for k, v in d["db_bytes"].items()) + ".")
        ours = next((p for p in sz["phases"] if p["phase"] == "ours"), None)
        if ours and ours.get("cold_start"):
            cs = ours["cold_start"]
            per_src = ", ".join(f"{k} {v['rows']:,} rows {v['duration_s']:.2f} s" for k, v in cs["first_poll"].items())
            out.append(f"Cold start (ours, 1h window): {cs['rows']:,} rows in the first poll ({per_src}); "
                       f"first publish {cs['until_first_publish_s']:.2f} s after start; VmHWM after it "
                       f"{cs['hwm_kb_after_cold_start'] / 1024:.1f} MiB.")
        if ours and ours.get("steady_poll_rows_mean") is not None:
            out.append(f"Steady state (ours): {ours['steady_poll_rows_mean']:.0f} rows per cycle over all sources, "
                       f"mean poll duration per source {ours['steady_poll_duration_s_mean'] * 1000:.1f} ms; "
                       f"load average during the phase {ours['loadavg_start']:.1f}–{ours['loadavg_end']:.1f}.")
        out.append("")
        out.append(size_table(sz))
        out.append("")
        for pb in sz.get("poll_bench", []):
            f = pb["first"]
            out.append(f"poll_bench ({pb['window']} window, cold): {f['receipts']:,} receipts + {f['anchored']:,} "
                       f"anchored + {f['spans']:,} spans; fetch+decode {f['poll_s']:.2f} s, compute "
                       f"{f['apply_s'] + f['advance_s']:.2f} s, render {f['render_s'] * 1000:.1f} ms → "
                       f"**{fmt(pb['receipts_per_s_ledger_path'])} receipts/s** on the ledger path, "
                       f"{fmt(pb['rows_per_s_all'])} rows/s over all streams; engine heap "
                       f"{fmt(pb['heap_bytes_per_op'])} B per in-window operation "
                       f"({f['window_ops']:,} settled + {f['pending_ops']:,} pending), VmHWM "
                       f"{pb['summary']['hwm_kb'] / 1024:.0f} MiB.")
            out.append("")
    if results.get("engine_bytes_per_op"):
        a, b = results["engine_mem"]
        out.append(f"Engine state in steady state (bench/tools/engine_mem, synthetic stream, 1h window): "
                   f"**{results['engine_bytes_per_op']:.1f} B per in-window operation** (heap difference between "
                   f"{a['rate']} and {b['rate']} ops/s: {a['window_ops']:,} vs {b['window_ops']:,} settled in window).")
        out.append("")
    if len(results["sizes"]) > 1:
        out.append("### Growth")
        out.append("")
        out.append(growth_table(results["sizes"]))
        out.append("")
    return "\n".join(out)


def machine():
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        ram = int(f.readline().split()[1]) / 2**20
    osname = "?"
    if os.path.exists("/etc/os-release"):
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    osname = line.split("=", 1)[1].strip().strip('"')
    pgv = subprocess.run(["psql", "--version"], capture_output=True, text=True).stdout.strip()
    return {"nproc": os.cpu_count(), "model": model, "ram_gib": ram, "os": osname, "kernel": os.uname().release,
            "postgres": pgv}


def update_results_md(path, text):
    begin, end = "<!-- BEGIN GENERATED (bench/run --update-results) -->", "<!-- END GENERATED -->"
    if not os.path.exists(path):
        body = f"# Benchmark results\n\n{begin}\n{end}\n"
    else:
        with open(path) as f:
            body = f.read()
    if begin not in body or end not in body:
        body += f"\n{begin}\n{end}\n"
    pre, rest = body.split(begin, 1)
    _, post = rest.split(end, 1)
    with open(path, "w") as f:
        f.write(pre + begin + "\n" + text + "\n" + end + post)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="100k,1M,5M", help="receipt counts, e.g. 100k,1M (default 100k,1M,5M)")
    ap.add_argument("--phases", default="ours,ours-default,sql-exporter,pg-exporter")
    ap.add_argument("--workdir", default=os.environ.get("BENCH_WORKDIR", "/tmp/provledger-bench"))
    ap.add_argument("--rate", type=int, default=100, help="live tail, operations per second (default 100)")
    ap.add_argument("--interval", type=int, default=5, help="poll / job / scrape interval, seconds (default 5)")
    ap.add_argument("--cycles", type=int, default=10, help="poll cycles measured per phase (default 10)")
    ap.add_argument("--batch-size", type=int, default=None,
                    help="provledger_exporter batch_size (default: not set, the exporter's default)")
    ap.add_argument("--wrk-duration", type=int, default=10)
    ap.add_argument("--wrk-connections", type=int, default=8)
    ap.add_argument("--wrk-threads", type=int, default=1)
    ap.add_argument("--no-wrk", action="store_true")
    ap.add_argument("--peer-timeout", type=int, default=900, help="max seconds to wait for a first run / N cycles")
    ap.add_argument("--peer-window", type=int, default=180,
                    help="stop measuring a slow exporter after this many seconds once it completed 2 cycles")
    ap.add_argument("--poll-bench", default="1M", help="sizes at which to time one big cold poll with a 25h window "
                                                      "(comma list, 'all' or 'none'; default 1M)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--build", default=os.path.join(ROOT, "build-bench"))
    ap.add_argument("--update-results", action="store_true", help="rewrite the generated part of bench/RESULTS.md")
    ap.add_argument("--keep-data", action="store_true", help="leave the PostgreSQL data dir (stopped) in --workdir")
    ap.add_argument("--command", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--report-only", metavar="RESULTS_JSON", help="only regenerate the tables from a results.json")
    args = ap.parse_args()
    if args.report_only:
        with open(args.report_only) as f:
            text = report(json.load(f))
        print(text)
        if args.update_results:
            update_results_md(os.path.join(BENCH, "RESULTS.md"), text)
        return
    args.exporter = os.path.join(args.build, "src", "app", "provledger_exporter")
    args.sim = os.path.join(args.build, "tools", "provledger_sim")
    args.poll_bench_bin = os.path.join(args.build, "bench", "poll_bench")
    for b in (args.exporter, args.sim):
        if not os.access(b, os.X_OK):
            sys.exit(f"bench: {b} not built (bench/run builds it)")
    sizes = [parse_size(s) for s in args.sizes.split(",") if s.strip()]
    phases = [p.strip() for p in args.phases.split(",") if p.strip()]
    pb_sizes = set()
    if args.poll_bench != "none":
        pb_sizes = set(sizes) if args.poll_bench == "all" else {parse_size(s) for s in args.poll_bench.split(",")}

    faulthandler.register(signal.SIGUSR1)   # kill -USR1 <pid>: stack dump to stderr
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    atexit.register(cleanup)
    os.makedirs(args.workdir, exist_ok=True)
    os.chmod(args.workdir, 0o755)
    t_all = time.monotonic()
    results = {"date": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "machine": machine(),
               "command": args.command or " ".join(sys.argv), "args": {k: v for k, v in vars(args).items()},
               "sizes": []}
    log(f"machine: {results['machine']}")
    em = os.path.join(args.build, "bench", "engine_mem")
    if os.access(em, os.X_OK):
        results["engine_mem"] = [json.loads(subprocess.run([em, str(r)], capture_output=True, text=True,
                                                           check=True).stdout) for r in (25, 100)]
        a, b = results["engine_mem"]
        results["engine_bytes_per_op"] = (b["heap_in_use"] - a["heap_in_use"]) / (
            b["window_ops"] + b["pending_ops"] - a["window_ops"] - a["pending_ops"])
        log(f"engine state: {results['engine_bytes_per_op']:.1f} B per in-window operation (engine_mem)")
    pg = PG(args.workdir)
    log(f"postgres on 127.0.0.1:{pg.port}")
    try:
        for size in sizes:
            label = size_label(size)
            wd = os.path.join(args.workdir, label)
            shutil.rmtree(wd, ignore_errors=True)
            os.makedirs(wd)
            os.chmod(wd, 0o755)
            log(f"== {label}: loading")
            sz = {"size": size, "label": label, "phases": []}
            results["sizes"].append(sz)   # partial figures survive an interrupted run
            sz["data"] = load_data(pg, args, size, wd)
            log(f"loaded: ours {sz['data']['load_ours_s']} s, peer {sz['data']['load_peer_s']} s")
            tails = start_tails(pg, args, wd, label)
            time.sleep(3)
            try:
                for ph in phases:
                    log(f"== {label}: phase {ph}")
                    if ph == "ours":
                        r = phase_ours(pg, args, wd, per_tenant=False)
                    elif ph == "ours-default":
                        r = phase_ours(pg, args, wd, per_tenant=True)
                    elif ph == "sql-exporter":
                        r = phase_sql_exporter(pg, args, wd)
                    elif ph == "pg-exporter":
                        r = phase_pg_exporter(pg, args, wd)
                    else:
                        raise SystemExit(f"unknown phase {ph}")
                    sz["phases"].append(r)
                    log(f"{ph}: db {fmt(r.get('db_ms_per_cycle'))} ms/cycle, cpu {fmt(r.get('cpu_ms_per_cycle'))} "
                        f"ms/cycle, rps {fmt((r.get('wrk_plain') or {}).get('rps'))}/"
                        f"{fmt((r.get('wrk_gzip') or {}).get('rps'))}, hwm {fmt((r.get('hwm_kb') or 0) / 1024)} MiB")
            finally:
                sz["tails"] = []
                for t in tails:
                    stop(t, signal.SIGINT)
                for f in ("sim-tail-ours.log", "sim-tail-peer.log"):
                    with open(os.path.join(wd, f), errors="replace") as fh:
                        last = [ln for ln in fh.read().splitlines() if ln.startswith("{")]
                        sz["tails"].append(json.loads(last[-1]) if last else None)
            if size in pb_sizes and os.access(args.poll_bench_bin, os.X_OK):
                sz["poll_bench"] = []
                for window in ("25h", "1h"):
                    log(f"== {label}: poll_bench window {window}")
                    sz["poll_bench"].append(poll_bench(pg, args, wd, window, label))
            with open(os.path.join(args.workdir, "results.json"), "w") as f:
                json.dump(results, f, indent=1, default=str)
    finally:
        results["total_s"] = time.monotonic() - t_all
        with open(os.path.join(args.workdir, "results.json"), "w") as f:
            json.dump(results, f, indent=1, default=str)
        cleanup()
        if not args.keep_data:
            subprocess.run([PGTMP, "destroy", pg.dir], capture_output=True)
    text = report(results)
    with open(os.path.join(args.workdir, "report.md"), "w") as f:
        f.write(text + "\n")
    print(text)
    if args.update_results:
        update_results_md(os.path.join(BENCH, "RESULTS.md"), text)
        log("bench/RESULTS.md updated")
    log(f"done in {results['total_s'] / 60:.1f} min; raw figures in {args.workdir}/results.json")


if __name__ == "__main__":
    main()

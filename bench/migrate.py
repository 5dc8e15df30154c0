#!/usr/bin/env python3
"""bench/migrate.py: provledger_migrate apply on a simulator ledger while the
exporter polls (issue 10's benchmark). Reports rows/s of the migration and
the exporter's poll duration and /metrics scrape latency before and during
the run. Throwaway PostgreSQL on loopback (tests/support/pgtmp).

  python3 bench/migrate.py [--receipts 1000000] [--build build] [--batch-size 2000]
                           [--jobs N] [--shared-buffers 128MB] [--no-after]

--shared-buffers sets the throwaway server's shared_buffers (default
PostgreSQL's 128MB; a production ledger database runs with more, for example
1GB, 25 % of a small server's memory). --no-after skips plan before and
verify/plan/rollback after the apply (they do not change the apply's figures).

Also: the CPU time the migration cost the server (the apply's backend, read
from the postmaster's reaped-children times, and the background writer,
checkpointer and WAL writer) and the client, so that a figure taken on the
shared machine under load can be read as rows per CPU second; then verify and
rollback, timed. Prints one JSON object. Figures go to bench/RESULTS.md.
"""
import argparse
import resource
import json
import os
import statistics
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))


TICK = os.sysconf("SC_CLK_TCK")


def cpu_of(pid, children=False):
    """utime+stime (or cutime+cstime: reaped children) of pid, seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    i = 13 if children else 11   # fields 14/15 (utime, stime), 16/17 (cutime, cstime), counted after ")"
    return (int(fields[i]) + int(fields[i + 1])) / TICK


def server_cpu(pgdir):
    """(reaped backends' CPU, background processes' CPU) of the cluster in pgdir."""
    with open(os.path.join(pgdir, "data", "postmaster.pid")) as f:
        pm = int(f.readline())
    bg = 0.0
    for pid, cmd in children_of(pm):
        if any(k in cmd for k in ("checkpointer", "background writer", "walwriter")):
            bg += cpu_of(pid)
    return cpu_of(pm, children=True), bg


def children_of(parent):
    """(pid, command line) of each live process whose parent is `parent`."""
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            if ppid != parent:
                continue
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().decode(errors="replace")
        except (OSError, ValueError, IndexError):
            continue
        yield pid, cmd


def client_ports(pid):
    """Local TCP ports of process pid's sockets (IPv4 loopback connections)."""
    inodes = set()
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                t = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if t.startswith("socket:["):
                inodes.add(t[8:-1])
        ports = set()
        with open(f"/proc/{pid}/net/tcp") as f:
            for line in f.readlines()[1:]:
                x = line.split()
                if x[9] in inodes:
                    ports.add(int(x[1].split(":")[1], 16))
        return ports
    except OSError:
        return set()


class BackendCpu(threading.Thread):
    """Samples, every 0.5 s while the apply runs, the CPU of the apply's own
    server backends (those serving the tool's connections: one per --jobs
    connection plus the one holding the lock, found by the tool's client
    ports in the backends' process titles) and of autovacuum workers, from
    /proc (no process is started, so the sampling costs almost nothing). The
    last sample of a process that has exited is kept, so up to 0.5 s of each
    process's CPU may be missed."""

    def __init__(self, pg):
        super().__init__(daemon=True)
        with open(os.path.join(pg.dir, "data", "postmaster.pid")) as f:
            self.pm = int(f.readline())
        self.client_pid = None
        self.done = threading.Event()
        self.migrate, self.autovac, self.autovac0 = {}, {}, {}
        self.max_backends = 0

    def run(self):
        first = True
        while not self.done.is_set():
            ports = client_ports(self.client_pid) if self.client_pid else set()
            tags = {f"({p})" for p in ports}
            n = 0
            for pid, cmd in children_of(self.pm):
                try:
                    if "autovacuum worker" in cmd:
                        c = cpu_of(int(pid))
                        self.autovac[pid] = c
                        if first:
                            self.autovac0[pid] = c
                    elif any(t in cmd for t in tags):
                        self.migrate[pid] = cpu_of(int(pid))
                        n += 1
                except (OSError, ValueError):
                    continue
            self.max_backends = max(self.max_backends, n)
            first = False
            self.done.wait(0.5)

    def totals(self):
        return (round(sum(self.migrate.values()), 2),
                round(sum(v - self.autovac0.get(k, 0.0) for k, v in self.autovac.items()), 2))


def load():
    return os.getloadavg()[0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--receipts", type=int, default=1000000)
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--batch-size", type=int, default=2000)
    ap.add_argument("--jobs", type=int, default=1, help="provledger_migrate apply --jobs")
    ap.add_argument("--shared-buffers", default="128MB")
    ap.add_argument("--no-after", action="store_true", help="skip plan before, verify/plan/rollback after")
    ap.add_argument("--extra", default="", help="more provledger_migrate apply options, space-separated")
    a = ap.parse_args()
    os.environ["PROVLEDGER_BUILD_ROOT"] = os.path.abspath(a.build)
    os.environ["PGTMP_SETTINGS"] = "shared_buffers = " + a.shared_buffers
    from harness import SIM, Exporter, Postgres, ledger_config, parse_exposition  # noqa: E402 (needs the env above)
    migrate_bin = os.path.join(os.path.abspath(a.build), "src", "migrate", "provledger_migrate")

    pg = Postgres()
    for db in ("ledger_eu", "traces"):
        pg.psql("postgres", f"CREATE DATABASE {db}")
    ledgers = ["--ledger", f"eu-west={pg.dsn('ledger_eu')}"]
    traces = ["--traces-dsn", pg.dsn("traces")]
    subprocess.run([SIM, "init", *ledgers, *traces], check=True, capture_output=True)
    end = int(time.time()) - 3600
    t = time.monotonic()
    subprocess.run([SIM, "load", *ledgers, *traces, "--receipts", str(a.receipts), "--tenants", "200", "--hours",
                    "24", "--seed", "3", "--end-ts", str(end)], check=True, capture_output=True)
    load_s = time.monotonic() - t
    v1 = int(pg.psql("ledger_eu", "SELECT count(*) FROM receipts WHERE version = 1")[0][0])

    shared_buffers = pg.psql("postgres", "SHOW shared_buffers")[0][0]
    plan_before = None
    if not a.no_after:
        t = time.monotonic()
        r = subprocess.run([migrate_bin, "plan", "--dsn", pg.dsn("ledger_eu"), "--min-age", "30m", "--progress",
                            "json"], capture_output=True, text=True)
        plan_before = {"exit": r.returncode, "wall_s": round(time.monotonic() - t, 1),
                       "result": [json.loads(x) for x in r.stdout.splitlines() if x.startswith('{"event":"plan"')]}
    exp = Exporter(ledger_config(pg, [("eu", "eu-west", "ledger_eu")], "traces", window="10m", grace="5s",
                                 poll="1s")).start()
    sim = subprocess.Popen([SIM, "run", *ledgers, *traces, "--rate", "50", "--tenants", "200", "--seed", "4",
                            "--duration", "0"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    samples = {"before": [], "during": [], "after": []}
    phase = ["before"]
    stop = threading.Event()

    def sampler():
        # Four scrapes a second. "scrape_http" is the exporter's part: the GET
        # of /metrics until the whole body is read (what Prometheus's
        # scrape_duration_seconds measures). "scrape" adds this Python
        # process's parse of the text (the figure of the earlier runs): under
        # CPU contention the parse itself slows, which is not the exporter's.
        prev = None
        while not stop.is_set():
            t0 = time.monotonic()
            try:
                text = exp.scrape()
            except Exception:  # a failed scrape is counted, never hidden
                samples[phase[0]].append(("scrape_failed", 1))
                time.sleep(0.25)
                continue
            t1 = time.monotonic()
            m = parse_exposition(text)
            t2 = time.monotonic()
            n = m.sum("provledger_exporter_poll_duration_seconds_count", source="eu")
            s = m.sum("provledger_exporter_poll_duration_seconds_sum", source="eu")
            if prev and n > prev[0]:
                samples[phase[0]].append(("poll", (s - prev[1]) / (n - prev[0])))
            prev = (n, s)
            samples[phase[0]].append(("scrape_http", t1 - t0))
            samples[phase[0]].append(("scrape", t2 - t0))
            time.sleep(0.25)

    th = threading.Thread(target=sampler, daemon=True)
    time.sleep(5)
    th.start()
    time.sleep(20)
    decode_before = exp.metrics().sum("provledger_exporter_poll_errors_total", kind="decode")
    phase[0] = "during"
    load_before = load()
    cpu0, bg0 = server_cpu(pg.dir)
    bcpu = BackendCpu(pg)
    bcpu.start()
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.monotonic()
    proc = subprocess.Popen([migrate_bin, "apply", "--dsn", pg.dsn("ledger_eu"), "--min-age", "30m", "--batch-size",
                             str(a.batch_size), "--progress", "json",
                             *(["--jobs", str(a.jobs)] if a.jobs != 1 else []), *a.extra.split()],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    bcpu.client_pid = proc.pid
    out, err = proc.communicate()
    r = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    wall = time.monotonic() - t
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    time.sleep(0.5)   # the backend's exit reaped
    cpu1, bg1 = server_cpu(pg.dir)
    bcpu.done.set()
    bcpu.join()
    apply_cpu, autovac_cpu = bcpu.totals()
    load_after = load()
    phase[0] = "after"
    if r.returncode != 0:
        sys.exit("apply failed: " + r.stderr)
    done = [json.loads(x) for x in r.stdout.splitlines() if x.startswith('{"event":"apply"')][0]
    decode = exp.metrics().sum("provledger_exporter_poll_errors_total", kind="decode")

    def timed(*args):
        t = time.monotonic()
        r = subprocess.run([migrate_bin, *args, "--dsn", pg.dsn("ledger_eu"), "--progress", "json"],
                           capture_output=True, text=True)
        ev = [json.loads(x) for x in r.stdout.splitlines() if x.startswith('{"event":"' + args[0])]
        return r.returncode, round(time.monotonic() - t, 1), ev[0] if ev else r.stderr[-300:]

    ver = plan_r = rb = (None, None, None)
    if not a.no_after:
        ver = timed("verify")
        plan_r = timed("plan", "--min-age", "30m")
        rb = timed("rollback")
    stop.set()
    th.join()
    sim.terminate()
    sim.wait()
    exp.stop()
    def stats(kind, ph):
        xs = sorted(v for k, v in samples[ph] if k == kind)
        if not xs:
            return None
        return {"n": len(xs), "median_ms": round(statistics.median(xs) * 1000, 2),
                "p95_ms": round(xs[min(len(xs) - 1, int(0.95 * len(xs)))] * 1000, 2),
                "max_ms": round(xs[-1] * 1000, 2)}

    backend = cpu1 - cpu0
    conv = done["converted"]
    print(json.dumps({"receipts": a.receipts, "v1_rows": v1, "load_s": round(load_s, 1),
                      "converted": conv, "apply_s": done["elapsed_s"],
                      "rows_per_s": done["converted_per_s"], "wall_s": round(wall, 1), "batch_size": a.batch_size,
                      "jobs": a.jobs, "shared_buffers": shared_buffers, "cores": os.cpu_count(),
                      "extra": a.extra, "load_avg_before": load_before, "load_avg_after": load_after,
                      "server_backend_cpu_s": round(backend, 2), "server_bg_cpu_s": round(bg1 - bg0, 2),
                      "client_cpu_s": round(ru1.ru_utime + ru1.ru_stime - ru0.ru_utime - ru0.ru_stime, 2),
                      "rows_per_backend_cpu_s": round(conv / backend) if backend > 0 else None,
                      "apply_backends_cpu_s": apply_cpu, "apply_backends": bcpu.max_backends,
                      "autovacuum_cpu_s": autovac_cpu,
                      "rows_per_apply_backend_cpu_s": round(conv / apply_cpu) if apply_cpu > 0 else None,
                      "decode_errors_before_apply": decode_before, "decode_errors_after_apply": decode,
                      "poll_before": stats("poll", "before"), "poll_during": stats("poll", "during"),
                      "scrape_before": stats("scrape", "before"), "scrape_during": stats("scrape", "during"),
                      "scrape_http_before": stats("scrape_http", "before"),
                      "scrape_http_during": stats("scrape_http", "during"),
                      "scrape_failed": sum(1 for ph in samples.values() for k, _ in ph if k == "scrape_failed"),
                      "verify": {"exit": ver[0], "wall_s": ver[1], "result": ver[2]},
                      "plan_before": plan_before, "plan_after": {"exit": plan_r[0], "wall_s": plan_r[1], "result": plan_r[2]},
                      "rollback": {"exit": rb[0], "wall_s": rb[1], "result": rb[2]}}))


if __name__ == "__main__":
    main()

"""The evidence export API on the exporter's HTTP server, end to end: a real
PostgreSQL with simulator data, the built provledger_exporter and
provledger_evidence binaries. Auth failures (401/403), limits (request
body, operations per export, queue length with 429 + Retry-After, concurrent
jobs, disk budget, retention), scrapes and status polls while jobs are held
up, restart with jobs in flight (SIGKILL and SIGTERM), a database stopped
during a job, the signing key from a systemd credential, config errors, and a
bundle fetched through the API that `provledger_evidence verify` accepts.

Jobs are held "running" without timing: the test takes an ACCESS EXCLUSIVE
lock on the ledger's `anchors` table (read by exports only, never by the
exporter's pollers) in a psql session it keeps open."""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import zipfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "e2e"))
from harness import EXPORTER, Exporter, Postgres, SIM, BUILD, ledger_config, log, run_test, wait_until  # noqa: E402

EVIDENCE = os.environ.get("PROVLEDGER_EVIDENCE_BIN") or os.path.join(BUILD, "src", "evidence", "provledger_evidence")
API = "/api/v1/evidence/exports"
T_ALL = "all-0123456789abcdef0123456789abcdef"
T_TENANT = "tenant-0123456789abcdef0123456789ab"
T_OTHER = "other-0123456789abcdef0123456789abc"


def write_private(path, text):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.write(fd, text.encode())
    os.close(fd)


def call(exp, method, path, token=None, body=None, raw=None):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(exp.url(path), data=data, method=method)
    if token:
        req.add_header("Authorization", "Bearer " + token)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def submit(exp, body, token=T_ALL, want=202):
    st, h, b = call(exp, "POST", API, token, body)
    assert st == want, (st, b)
    return json.loads(b) if b else None, h


def status(exp, job_id, token=T_ALL):
    st, _, b = call(exp, "GET", f"{API}/{job_id}", token)
    return st, (json.loads(b) if b else None)


def wait_state(exp, job_id, states, timeout=120):
    def check():
        st, j = status(exp, job_id)
        return j if st == 200 and j["state"] in states else None
    return wait_until(check, timeout=timeout, what=f"job {job_id} in {states}")


class TableLock:
    """ACCESS EXCLUSIVE lock on a table, held by a psql session until release()."""

    def __init__(self, pg, db, table):
        self.p = subprocess.Popen(["psql", "-X", "-q", "-At", "-h", "127.0.0.1", "-p", str(pg.port), "-U", "postgres", "-d", db],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.p.stdin.write(f"BEGIN; LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE; SELECT 'locked';\n")
        self.p.stdin.flush()
        line = self.p.stdout.readline()
        assert "locked" in line, line

    def release(self):
        if self.p.poll() is None:
            try:
                self.p.stdin.write("ROLLBACK;\n\\q\n")
                self.p.stdin.flush()
            except BrokenPipeError:
                pass
            self.p.wait(timeout=30)


def metric(exp, name, **labels):
    return exp.metrics().get(name, **labels)


def test_evidence_api():
    work = tempfile.mkdtemp(prefix="provledger-evapi-")
    pg = Postgres()
    for db in ("ledger_eu", "ledger_us", "traces"):
        pg.psql("postgres", f"CREATE DATABASE {db}")
    ledgers = ["--ledger", f"eu-west={pg.dsn('ledger_eu')}", "--ledger", f"us-east={pg.dsn('ledger_us')}"]
    traces = ["--traces-dsn", pg.dsn("traces")]
    subprocess.run([SIM, "init", *ledgers, *traces], check=True, capture_output=True)
    subprocess.run([SIM, "load", *ledgers, *traces, "--receipts", "6000", "--tenants", "8", "--hours", "1",
                    "--seed", "5", "--divergence", "0.02", "--coverage", "0.9"], check=True, capture_output=True)
    tenant = pg.psql("traces", "SELECT tenant_id FROM spans WHERE op_id IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC LIMIT 1")[0][0]
    ops = [r[0] for r in pg.psql("ledger_eu", f"SELECT op_id FROM receipts WHERE tenant_id = '{tenant}' AND anchor_id IS NOT NULL "
                                              "ORDER BY created_at, receipt_id LIMIT 12")]
    assert len(ops) == 12, ops
    t_first, t_last = pg.psql("traces", f"SELECT extract(epoch FROM min(start_time))::bigint, extract(epoch FROM max(start_time))::bigint + 1 "
                                        f"FROM spans WHERE tenant_id = '{tenant}'")[0]

    key = os.path.join(work, "signing.key")
    kg = json.loads(subprocess.run([EVIDENCE, "keygen", f"--out={key}"], check=True, capture_output=True, text=True).stdout)
    tokens = os.path.join(work, "tokens")
    write_private(tokens, f"# evidence API tokens\n{T_ALL}\n{T_TENANT} {tenant}\n{T_OTHER} nobody\n")
    job_dir = os.path.join(work, "jobs")
    base = ledger_config(pg, [("eu", "eu-west", "ledger_eu"), ("us", "us-east", "ledger_us")], "traces")

    def api_config(extra="", key_lines=None, **limits):
        lim = {"max_concurrent_jobs": 2, "max_queued_jobs": 2, "max_operations": 40, "max_request_bytes": 2048,
               "retention": "1h", "max_disk_bytes": 100000000, "statement_timeout": "60s", "retry_after": "7s"}
        lim.update(limits)
        lines = ["evidence:", "  api:", "    enabled: true", f"    tokens_file: {tokens}",
                 *(key_lines or [f"    signing_key_file: {key}"]), f"    job_dir: {job_dir}"]
        lines += [f"    {k}: {v}" for k, v in lim.items()]
        return base + "\n".join(lines) + "\n" + extra

    exp = Exporter(api_config(), workdir=work).start()

    # --- off by default: without evidence.api the route does not exist.
    plain = Exporter(base, workdir=tempfile.mkdtemp(prefix="provledger-evapi-off-")).start()
    assert call(plain, "POST", API, T_ALL, {"tenant": tenant, "op_ids": ops})[0] == 404
    assert "provledger_exporter_evidence_jobs_total" not in plain.scrape()
    assert "Evidence export API" not in plain.get("/")[2].decode()
    plain.stop()

    # --- landing page and metrics when enabled.
    page = exp.get("/")[2].decode()
    assert f'<a href="{API}">' in page and "Evidence export API" in page, page[-800:]
    m = exp.metrics()
    for outcome in ("done", "failed", "rejected"):
        assert m.get("provledger_exporter_evidence_jobs_total", outcome=outcome) == 0, outcome
    assert m.get("provledger_exporter_evidence_jobs_queued") == 0
    assert m.get("provledger_exporter_evidence_jobs_running") == 0
    assert m.types["provledger_exporter_evidence_job_duration_seconds"] == "histogram"

    # --- auth failures: 401 (missing, malformed, unknown) vs 403 (tenant not allowed).
    body = {"tenant": tenant, "op_ids": ops}
    st, h, _ = call(exp, "POST", API, None, body)
    assert st == 401 and h.get("WWW-Authenticate", "").startswith("Bearer "), (st, h)
    st, h, _ = call(exp, "POST", API, "not a token!", body)
    assert st == 401 and 'error="invalid_token"' in h.get("WWW-Authenticate", ""), (st, h)
    assert call(exp, "POST", API, T_ALL[:-1] + "x", body)[0] == 401
    assert call(exp, "POST", API, T_OTHER, body)[0] == 403
    assert call(exp, "GET", f"{API}/{'0' * 32}", None)[0] == 401
    # --- tokens re-read on SIGHUP: a new token works, a removed one is refused;
    # an invalid file keeps the tokens in force.
    t_new = "new-0123456789abcdef0123456789abcdef0"
    unknown_job = f"{API}/{'0' * 32}"
    assert call(exp, "GET", unknown_job, t_new)[0] == 401
    write_private(tokens, f"{T_ALL}\n{T_TENANT} {tenant}\n{t_new} {tenant}\n")   # T_OTHER removed

    def reloads():
        return exp.log_text().count("evidence api: tokens reloaded") + exp.log_text().count("previous tokens stay")
    seen = reloads()
    exp.signal(signal.SIGHUP)
    wait_until(lambda: reloads() > seen, what="tokens reloaded")
    assert call(exp, "GET", unknown_job, t_new)[0] == 404
    assert call(exp, "POST", API, T_OTHER, body)[0] == 401
    write_private(tokens, "not a token!\n")
    seen = reloads()
    exp.signal(signal.SIGHUP)
    wait_until(lambda: reloads() > seen, what="invalid tokens file reported")
    assert "previous tokens stay in force" in exp.log_text()
    assert call(exp, "GET", unknown_job, t_new)[0] == 404 and call(exp, "GET", unknown_job, T_ALL)[0] == 404
    write_private(tokens, f"# evidence API tokens\n{T_ALL}\n{T_TENANT} {tenant}\n{T_OTHER} nobody\n")
    seen = reloads()
    exp.signal(signal.SIGHUP)
    wait_until(lambda: reloads() > seen, what="tokens restored")
    assert call(exp, "GET", unknown_job, t_new)[0] == 401 and call(exp, "POST", API, T_OTHER, body)[0] == 403
    # --- request limits.
    st, _, b = call(exp, "POST", API, T_ALL, {"tenant": tenant, "op_ids": ["x" * 100] * 30})
    assert st == 413 and b"max_request_bytes" in b, (st, b)
    st, _, b = call(exp, "POST", API, T_ALL, {"tenant": tenant, "op_ids": [f"op{i}" for i in range(41)]})
    assert st == 400 and b"over the limit of 40" in b, (st, b)
    assert call(exp, "POST", API, T_ALL, raw=b"{not json")[0] == 400
    assert call(exp, "POST", API, T_ALL, {"tenant": tenant, "op_ids": ops, "key_hex": "00"})[0] == 400
    assert call(exp, "DELETE", API, T_ALL)[0] == 405

    # --- round trip: a bundle fetched through the API verifies.
    job, h = submit(exp, body, token=T_TENANT)
    assert job["state"] in ("queued", "running") and h["Location"] == f"{API}/{job['id']}", (job, h)
    done = wait_state(exp, job["id"], ("done", "failed"))
    assert done["state"] == "done", done
    assert done["summary"]["operations"] == len(ops) and done["bundle_url"] == f"{API}/{job['id']}/bundle"
    assert status(exp, job["id"], T_OTHER)[0] == 403
    assert call(exp, "GET", done["bundle_url"], T_OTHER)[0] == 403
    st, h, zbytes = call(exp, "GET", done["bundle_url"], T_TENANT)
    assert st == 200 and h["Content-Type"] == "application/zip" and len(zbytes) == done["bundle_bytes"], (st, h)
    bundle = os.path.join(work, "api.zip")
    with open(bundle, "wb") as f:
        f.write(zbytes)
    v = subprocess.run([EVIDENCE, "verify", bundle, f"--public-key={kg['public_key']}"], capture_output=True, text=True)
    summary = v.stdout.strip().splitlines()[-1]
    assert v.returncode in (0, 3) and " 0 failed" in summary and "FAIL" not in v.stdout, v.stdout[-2000:]
    assert json.loads(zipfile.ZipFile(bundle).read("manifest.json"))["key_id"] == kg["key_id"]
    log("API bundle verify:", summary)
    # The same export through the CLI has the same operation records (one export code path).
    cli_zip = os.path.join(work, "cli.zip")
    subprocess.run([EVIDENCE, "export", f"--config.file={exp.config}", f"--tenant={tenant}", *[f"--op-id={o}" for o in ops],
                    f"--key-file={key}", f"--out={cli_zip}"], check=True, capture_output=True)
    za, zc = zipfile.ZipFile(bundle), zipfile.ZipFile(cli_zip)
    assert za.namelist() == zc.namelist()
    assert all(za.read(n) == zc.read(n) for n in za.namelist() if n.startswith("ops/"))
    wait_until(lambda: metric(exp, "provledger_exporter_evidence_jobs_total", outcome="done") == 1, what="done counter")
    assert metric(exp, "provledger_exporter_evidence_job_duration_seconds_count") == 1

    # --- operations per export for a time range: the job fails clearly.
    job_r, _ = submit(exp, {"tenant": tenant, "from": t_first, "to": t_last})
    fr = wait_state(exp, job_r["id"], ("done", "failed"))
    assert fr["state"] == "failed" and "over the limit of 40" in fr["error"], fr
    assert call(exp, "GET", f"{API}/{job_r['id']}/bundle", T_ALL)[0] == 409

    # --- concurrent jobs, queue length, 429; scrapes and polls are not held up.
    lock = TableLock(pg, "ledger_eu", "anchors")
    held = [submit(exp, {"tenant": tenant, "op_ids": ops[i:i + 3]})[0]["id"] for i in (0, 3)]
    for j in held:
        wait_until(lambda j=j: status(exp, j)[1]["progress"]["phase"] == "ledger eu", what="job held at ledger eu")
    assert all(status(exp, j)[1]["state"] == "running" for j in held)
    queued = [submit(exp, {"tenant": tenant, "op_ids": [o]})[0]["id"] for o in ops[6:8]]
    st, h, b = call(exp, "POST", API, T_ALL, {"tenant": tenant, "op_ids": ops[8:9]})
    assert st == 429 and h.get("Retry-After") == "7", (st, h, b)
    assert all(status(exp, j)[1]["state"] == "queued" for j in queued)
    wait_until(lambda: metric(exp, "provledger_exporter_evidence_jobs_queued") == 2
               and metric(exp, "provledger_exporter_evidence_jobs_running") == 2
               and metric(exp, "provledger_exporter_evidence_jobs_total", outcome="rejected") == 1, what="queue metrics")
    assert exp.get("/-/healthy")[0] == 200
    # The eu poller keeps polling the ledger whose anchors table holds the exports.
    polled = metric(exp, "provledger_exporter_last_poll_success_timestamp_seconds", source="eu")
    wait_until(lambda: metric(exp, "provledger_exporter_last_poll_success_timestamp_seconds", source="eu") > polled,
               what="the eu poller polls while exports are held")
    assert metric(exp, "provledger_exporter_source_up", source="eu") == 1

    # --- restart with jobs in flight (crash): running and queued jobs are failed with a reason.
    exp.kill()
    exp = Exporter(api_config(), workdir=work)
    exp.start()
    for j in held:
        st, js = status(exp, j)
        assert st == 200 and js["state"] == "failed" and "restarted while the job was running" in js["error"], js
    for j in queued:
        st, js = status(exp, j)
        assert js["state"] == "failed" and "restarted before the job started" in js["error"], js
    # The finished bundle survived, byte for byte.
    st, _, again = call(exp, "GET", done["bundle_url"], T_ALL)
    assert st == 200 and again == zbytes
    assert status(exp, job_r["id"])[1]["state"] == "failed"
    wait_until(lambda: metric(exp, "provledger_exporter_evidence_jobs_total", outcome="failed") == 4, what="failed counter")

    # --- orderly stop with a job running: its statement is cancelled, the job failed, no wait.
    j_term = submit(exp, {"tenant": tenant, "op_ids": ops[:2]})[0]["id"]
    wait_until(lambda: status(exp, j_term)[1]["progress"]["phase"] == "ledger eu", what="job held")
    assert exp.stop(timeout=30) == 0
    exp = Exporter(api_config(), workdir=work)
    exp.start()
    js = status(exp, j_term)[1]
    assert js["state"] == "failed" and "stopped while the job was running" in js["error"], js

    # --- the database goes away during a job: the job fails clearly, the exporter carries on.
    j_db = submit(exp, {"tenant": tenant, "op_ids": ops[:2]})[0]["id"]
    wait_until(lambda: status(exp, j_db)[1]["progress"]["phase"] == "ledger eu", what="job held")
    pg.stop()
    lock.release()
    js = wait_state(exp, j_db, ("done", "failed"))
    assert js["state"] == "failed" and js["error"].startswith("database:"), js
    log("database down:", js["error"])
    assert exp.get("/-/healthy")[0] == 200
    wait_until(lambda: metric(exp, "provledger_exporter_source_up", source="eu") == 0, what="eu down")
    j_down = submit(exp, {"tenant": tenant, "op_ids": ops[:1]})[0]["id"]
    js = wait_state(exp, j_down, ("done", "failed"))
    assert js["state"] == "failed" and js["error"].startswith("database:"), js
    pg.start()
    j_up = submit(exp, {"tenant": tenant, "op_ids": ops[:1]})[0]["id"]
    assert wait_state(exp, j_up, ("done", "failed"))["state"] == "done"
    wait_until(lambda: metric(exp, "provledger_exporter_source_up", source="eu") == 1, what="eu up again")
    exp.stop()

    # --- disk budget: room for about 1.5 bundles of `ops`; the older bundle makes room.
    exp = Exporter(api_config(max_disk_bytes=int(len(zbytes) * 1.5)), workdir=work)
    exp.start()
    assert status(exp, job["id"])[1]["state"] == "done"   # still fits alone
    j1 = submit(exp, body)[0]["id"]
    assert wait_state(exp, j1, ("done", "failed"))["state"] == "done"
    assert status(exp, job["id"])[0] == 404, "the older bundle was not removed for the budget"
    assert call(exp, "GET", f"{API}/{j1}/bundle", T_ALL)[0] == 200
    assert not os.path.exists(os.path.join(job_dir, job["id"]))
    exp.stop()
    # A budget smaller than one bundle: the job fails and says why.
    exp = Exporter(api_config(max_disk_bytes=1000), workdir=work)
    exp.start()
    j2 = submit(exp, body)[0]["id"]
    js = wait_state(exp, j2, ("done", "failed"))
    assert js["state"] == "failed" and "over the disk budget of 1000 bytes" in js["error"], js
    assert not os.path.exists(os.path.join(job_dir, j2, "bundle.zip"))
    exp.stop()

    # --- retention: finished jobs older than `retention` are removed (at start and while running).
    exp = Exporter(api_config(retention="2s"), workdir=work)
    exp.start()
    j3 = submit(exp, {"tenant": tenant, "op_ids": ops[:1]})[0]["id"]
    wait_until(lambda: status(exp, j3)[0] == 404, timeout=60, what="job removed by retention")
    for j in [j1, j2, *held, *queued]:
        assert status(exp, j)[0] == 404, j
    assert sorted(os.listdir(job_dir)) == [], os.listdir(job_dir)
    exp.stop()

    # --- statement timeout of the job's own connections: a held lock fails the job, not the exporter.
    exp = Exporter(api_config(statement_timeout="1s"), workdir=work)
    exp.start()
    lock = TableLock(pg, "ledger_eu", "anchors")
    j_to = submit(exp, {"tenant": tenant, "op_ids": ops[:1]})[0]["id"]
    js = wait_state(exp, j_to, ("done", "failed"))
    lock.release()
    assert js["state"] == "failed" and js["error"].startswith("database:") and "timeout" in js["error"], js
    log("statement timeout:", js["error"])
    assert metric(exp, "provledger_exporter_source_up", source="eu") == 1
    exp.stop()

    # --- signing key from a systemd credential; problems stop the start with a clear message.
    creds = os.path.join(work, "creds")
    os.makedirs(creds)
    write_private(os.path.join(creds, "evidence-key"), open(key).read())
    cred_cfg = api_config(key_lines=["    signing_key_credential: evidence-key"])
    exp = Exporter(cred_cfg, workdir=work, env={**os.environ, "CREDENTIALS_DIRECTORY": creds})
    exp.start()
    j4 = submit(exp, {"tenant": tenant, "op_ids": ops[:1]})[0]["id"]
    assert wait_state(exp, j4, ("done", "failed"))["state"] == "done"
    z4 = call(exp, "GET", f"{API}/{j4}/bundle", T_ALL)[2]
    assert json.loads(zipfile.ZipFile(__import__("io").BytesIO(z4)).read("manifest.json"))["key_id"] == kg["key_id"]
    exp.stop()

    def start_fails(cfg_text, env=None):
        path = os.path.join(work, "bad.yml")
        with open(path, "w") as f:
            f.write(cfg_text)
        r = subprocess.run([EXPORTER, f"--config.file={path}", "--web.listen-address=127.0.0.1:0"], capture_output=True,
                           text=True, timeout=60, env=env or {k: v for k, v in os.environ.items() if k != "CREDENTIALS_DIRECTORY"})
        assert r.returncode == 1, (r.returncode, r.stdout[-1000:], r.stderr[-1000:])
        return r.stdout + r.stderr
    out = start_fails(cred_cfg)
    assert "CREDENTIALS_DIRECTORY is not set" in out, out[-1500:]
    os.chmod(tokens, 0o644)
    out = start_fails(api_config())
    assert "0644" in out and "tokens file" in out, out[-1500:]
    os.chmod(tokens, 0o600)
    bad_cfg = base + "evidence:\n  api:\n    enabled: true\n    job_dir: /tmp/x\n    max_queued_jobs: -1\n"
    path = os.path.join(work, "bad.yml")
    with open(path, "w") as f:
        f.write(bad_cfg)
    r = subprocess.run([EXPORTER, f"--config.file={path}", "--config.check"], capture_output=True, text=True)
    lines = [l for l in r.stderr.splitlines() if l.startswith(path + ":")]
    assert r.returncode == 1 and any("exactly one of tokens_file and tokens_credential" in l for l in lines) \
        and any("max_queued_jobs" in l for l in lines), r.stderr
    assert all(l.split(":")[1].isdigit() and l.split(":")[2].isdigit() for l in lines), lines
    log("evidence API test done")


if __name__ == "__main__":
    run_test(test_evidence_api)

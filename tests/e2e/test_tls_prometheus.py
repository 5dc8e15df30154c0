#!/usr/bin/env python3
"""End to end: Debian's Prometheus scrapes the built exporter over TLS with a
client certificate and basic auth (--web.config.file, exporter-toolkit format).

Certificates are made here with the openssl command (a CA, a server certificate
for 127.0.0.1, a client certificate); the bcrypt hash with python's crypt module
(libcrypt, cost 4). The web config requires and verifies the client certificate
and a basic-auth user. Prometheus runs two jobs against the exporter:
  good  https + CA + client cert + the right password  -> up == 1
  bad   https + CA + client cert + a wrong password     -> up == 0 (401)
The second job is the control: it proves "up" depends on the credentials.
Also: --config.check with --web.config.file refuses a broken web config with a
FILE:LINE:COLUMN problem, and accepts the good one.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import EXPORTER, free_port, wait_until  # noqa: E402

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import crypt  # noqa: E402

SOURCE = os.environ.get("PROVLEDGER_SOURCE_ROOT",
                        os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
CONFIG = os.path.join(SOURCE, "config", "provledger.example.yml")


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        raise RuntimeError(f"{cmd!r} failed: {r.stderr}")
    return r


def make_pki(d):
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    run(["openssl", "req", "-x509", *ec, "-keyout", f"{d}/ca.key", "-out", f"{d}/ca.crt", "-days", "2",
         "-subj", "/CN=e2e-ca"])
    with open(f"{d}/san.ext", "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\n")
    for name, cn, ext in (("server", "localhost", True), ("client", "prometheus", False)):
        run(["openssl", "req", *ec, "-keyout", f"{d}/{name}.key", "-out", f"{d}/{name}.csr", "-subj", f"/CN={cn}"])
        cmd = ["openssl", "x509", "-req", "-in", f"{d}/{name}.csr", "-CA", f"{d}/ca.crt", "-CAkey", f"{d}/ca.key",
               "-CAcreateserial", "-out", f"{d}/{name}.crt", "-days", "2"]
        if ext:
            cmd += ["-extfile", f"{d}/san.ext"]
        run(cmd)
    # Prometheus runs as this user and reads the client key.
    for f in os.listdir(d):
        os.chmod(os.path.join(d, f), 0o644)


def prometheus_query(url, expr):
    q = urllib.parse.urlencode({"query": expr})
    with urllib.request.urlopen(f"{url}/api/v1/query?{q}", timeout=5) as r:
        return json.load(r)["data"]["result"]


def main():
    work = tempfile.mkdtemp(prefix="provledger-e2e-tls-")
    procs = []
    ok = False
    try:
        make_pki(work)
        password = "scrape-secret"
        salt = crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16)
        hashed = crypt.crypt(password, salt)
        assert hashed.startswith("$2b$04$"), hashed
        web = os.path.join(work, "web.yml")
        with open(web, "w") as f:
            f.write("tls_server_config:\n"
                    "  cert_file: server.crt\n"
                    "  key_file: server.key\n"
                    "  client_auth_type: RequireAndVerifyClientCert\n"
                    "  client_ca_file: ca.crt\n"
                    "  min_version: TLS12\n"
                    f"basic_auth_users:\n  prometheus: {hashed}\n")

        # --config.check validates the web config too.
        broken = os.path.join(work, "broken.yml")
        with open(broken, "w") as f:
            f.write("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  min_version: TLS9\n")
        r = subprocess.run([EXPORTER, f"--config.file={CONFIG}", "--config.check", f"--web.config.file={broken}"],
                           capture_output=True, text=True)
        if r.returncode != 1 or f"{broken}:4:16: min_version: \"TLS9\" is not one of" not in r.stderr:
            raise RuntimeError(f"--config.check on a broken web config: rc={r.returncode} stderr={r.stderr!r}")
        r = subprocess.run([EXPORTER, f"--config.file={CONFIG}", "--config.check", f"--web.config.file={web}"],
                           capture_output=True, text=True)
        if r.returncode != 0 or "web config OK: TLS, 1 basic auth users" not in r.stdout:
            raise RuntimeError(f"--config.check on the good web config: rc={r.returncode} {r.stdout!r} {r.stderr!r}")
        print("ok: --config.check validates --web.config.file")

        port = free_port()
        exporter_log = open(os.path.join(work, "exporter.log"), "wb")
        exporter = subprocess.Popen([EXPORTER, f"--config.file={CONFIG}", f"--web.listen-address=127.0.0.1:{port}",
                                     f"--web.config.file={web}", "--log.level=debug"],
                                    stdout=exporter_log, stderr=subprocess.STDOUT)
        procs.append(exporter)

        def listening():
            if exporter.poll() is not None:
                raise RuntimeError("exporter exited:\n" + open(os.path.join(work, "exporter.log")).read())
            return "tls=true" in open(os.path.join(work, "exporter.log")).read()
        wait_until(listening, timeout=30, what="exporter listening with TLS")

        prom_port = free_port()
        prom_cfg = os.path.join(work, "prometheus.yml")

        def job(name, pw):
            return (f"  - job_name: {name}\n"
                    "    scrape_interval: 1s\n    scrape_timeout: 1s\n    scheme: https\n"
                    f"    tls_config:\n      ca_file: {work}/ca.crt\n      cert_file: {work}/client.crt\n"
                    f"      key_file: {work}/client.key\n"
                    f"    basic_auth:\n      username: prometheus\n      password: {pw}\n"
                    f"    static_configs:\n      - targets: ['127.0.0.1:{port}']\n")
        with open(prom_cfg, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n" +
                    job("good", password) + job("bad", "wrong-password"))
        data = os.path.join(work, "prometheus-data")
        os.makedirs(data)
        prom_log = open(os.path.join(work, "prometheus.log"), "wb")
        prom = subprocess.Popen([shutil.which("prometheus") or "/usr/bin/prometheus", f"--config.file={prom_cfg}",
                                 f"--storage.tsdb.path={data}", f"--web.listen-address=127.0.0.1:{prom_port}",
                                 "--log.level=warn"], stdout=prom_log, stderr=subprocess.STDOUT)
        procs.append(prom)
        url = f"http://127.0.0.1:{prom_port}"

        def up(jobname):
            if prom.poll() is not None:
                raise RuntimeError("prometheus exited:\n" + open(os.path.join(work, "prometheus.log")).read())
            try:
                res = prometheus_query(url, f'up{{job="{jobname}"}}')
            except OSError:
                return None
            return res[0]["value"][1] if res else None

        wait_until(lambda: up("good") == "1", timeout=90, what='up{job="good"} == 1')
        print("ok: Prometheus scrapes over TLS with a client certificate and basic auth: up == 1")
        wait_until(lambda: up("bad") == "0", timeout=60, what='up{job="bad"} == 0')
        print("ok: the same scrape with a wrong password: up == 0")
        series = prometheus_query(url, 'provledger_exporter_build_info{job="good"}')
        if not series:
            raise RuntimeError("no provledger_exporter_build_info from the TLS scrape")
        print("ok: exporter series stored from the TLS scrape")
        ok = True
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        if ok:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"work dir kept: {work}", file=sys.stderr)
            for name in ("exporter.log", "prometheus.log"):
                path = os.path.join(work, name)
                if os.path.exists(path):
                    print(f"--- {name}\n" + open(path).read()[-3000:], file=sys.stderr)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as e:  # noqa: BLE001
        print(f"FAIL: {e}", file=sys.stderr)
        sys.exit(1)

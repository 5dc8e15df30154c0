#!/usr/bin/env python3
"""The built binary's --config.check against the start, on hostile configs
(issue 9 items 2, 3, 4 and 11): each is refused by both, quickly, with a
FILE:LINE:COLUMN problem, never a crash; what the check accepts, the start
accepts (it binds and serves).
"""
import os
import subprocess
import tempfile

from harness import EXPORTER, Exporter, free_port, log, run_test, wait_until

LEDGER = 'ledgers:\n  - name: eu\n    region: eu-west\n    dsn: "host=127.0.0.1 port=1 dbname=x connect_timeout=2"\n'


def run(args, timeout=60):
    return subprocess.run([EXPORTER, *args], capture_output=True, text=True, timeout=timeout)


def write(d, name, text):
    p = os.path.join(d, name)
    with open(p, "w") as f:
        f.write(text)
    return p


def test_config_check_matches_start():
    d = tempfile.mkdtemp(prefix="provledger-check-")
    port = free_port()
    cases = {
        # item 11: the HTTP server listens on IPv6 ([::1] is accepted by the check and the start
        # alike, config::LoadOptions::ipv6_listen = http::Ipv6ListenAvailable()); a host name is
        # refused by both
        "hostname.yml": (LEDGER + f'web: {{listen_address: "example.invalid:{port}"}}\n', ":5:", "host must be"),
        # item 3: one document, no endless allocation
        "comma.yml": (",", ":1:1:", "only one YAML document"),
        # item 2: no std::regex recursion
        "regex.yml": (LEDGER + 'tenants: {allow: ["' + "(" * 50000 + "a" + ")" * 50000 + '"]}\n', ":5:",
                      "the limit is 4096"),
        # item 4: a percent-encoded password key
        "dsn.yml": ('ledgers:\n  - name: eu\n    region: r\n    dsn: "postgresql://u@h/db?%70assword=hunter2"\n',
                    ":4:10:", "must not contain a password"),
    }
    for name, (text, pos, message) in cases.items():
        path = write(d, name, text)
        r = run(["--config.file=" + path, "--config.check"])
        assert r.returncode == 1, (name, r.returncode, r.stdout, r.stderr)
        assert (path + pos) in r.stderr and message in r.stderr, (name, r.stderr)
        assert "hunter2" not in r.stderr + r.stdout
        s = run(["--config.file=" + path, "--log.level=debug"])
        assert s.returncode == 1, (name, "start", s.returncode, s.stderr[-2000:])
        assert message in s.stderr, (name, s.stderr[-2000:])
        assert "hunter2" not in s.stderr + s.stdout
        log("refused by check and start:", name)

    # What the check accepts, the start accepts.
    ok = write(d, "ok.yml", LEDGER + f'web: {{listen_address: "localhost:{port}"}}\n')
    r = run(["--config.file=" + ok, "--config.check"])
    assert r.returncode == 0, r.stderr
    exp = Exporter(LEDGER + f'web: {{listen_address: "localhost:{port}"}}\n', extra_args=[], workdir=d)
    exp.port = port
    exp.extra_args = []
    exp.start()
    wait_until(lambda: exp.get("/-/ready")[0] == 200, what="ready")
    assert exp.stop() == 0


if __name__ == "__main__":
    run_test(test_config_check_matches_start)

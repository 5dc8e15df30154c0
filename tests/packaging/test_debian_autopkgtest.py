#!/usr/bin/env python3
"""The package's autopkgtest (debian/tests/control), run by the autopkgtest
runner with the `null` virtualisation: the built packages are installed on
this machine, the tests run on it, and the packages are purged again.

Usage: test_debian_autopkgtest.py SRC_ROOT BUILD_ROOT      (needs root)

Expected: `smoke` PASS. `systemd` PASS where systemd is PID 1; elsewhere (a
container, this CI machine) SKIP with exit status 77 and the reason printed by
the test ("systemd is not PID 1 on this testbed"), which this test checks, so
a skip for any other reason fails. Refuses to start when a provledger package
is already installed; always purges what it installed.
"""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import debpkg  # noqa: E402
import pkgtest as t  # noqa: E402

ENV = dict(os.environ, DEBIAN_FRONTEND="noninteractive")


def main():
    t.sigterm_raises()
    src, build = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    if os.geteuid() != 0:
        t.fatal("runs as root (autopkgtest null installs the packages on this machine)")
    debpkg.refuse_if_installed(debpkg.PACKAGES)
    debs = debpkg.built_debs(src, build)
    systemd_pid1 = os.path.isdir("/run/systemd/system")
    with t.tempdir("autopkgtest-") as d:
        out = os.path.join(d, "out")
        try:
            r = t.run(["autopkgtest", "--output-dir", out, debs["provledger-exporter"], debs["provledger-tools"],
                       debs["_tree"] + "/", "--", "null"], env=ENV)
            log = r.stdout + r.stderr
            summary = open(os.path.join(out, "summary")).read() if os.path.exists(os.path.join(out, "summary")) else ""
            print(summary or log[-4000:])
            results = dict(re.findall(r"^(\S+)\s+(PASS|FAIL|SKIP|FLAKY)\b", summary, re.M))
            t.check(results.get("smoke") == "PASS", "autopkgtest smoke: PASS (--version, --help, --config.check)",
                    log[-4000:])
            smoke_out = open(os.path.join(out, "smoke-stdout")).read() if os.path.exists(
                os.path.join(out, "smoke-stdout")) else ""
            t.check("ok: provledger_exporter --config.check accepts /etc/provledger_exporter/provledger.yml"
                    in smoke_out, "smoke checked the shipped configuration", smoke_out[-1500:])
            stderr = open(os.path.join(out, "systemd-stderr")).read() if os.path.exists(
                os.path.join(out, "systemd-stderr")) else ""
            if systemd_pid1:
                t.check(results.get("systemd") == "PASS", "autopkgtest systemd: PASS (start, /metrics, stop)",
                        stderr[-2000:] + log[-2000:])
            else:
                t.check(results.get("systemd") == "SKIP" and "SKIP: systemd is not PID 1 on this testbed" in stderr,
                        "autopkgtest systemd: SKIP, with the reason, because systemd is not PID 1 here",
                        f"{results.get('systemd')}: {stderr[-1000:]}")
                print(f"note: {stderr.strip()}")
            # Exit status 0 = all passed, 2 = some skipped, anything else a failure.
            t.check(r.returncode in ((0,) if systemd_pid1 else (0, 2)),
                    f"autopkgtest exit status {r.returncode}", log[-2000:])
            t.check(all(debpkg.installed_status(p) == "ii" for p in debpkg.PACKAGES),
                    "autopkgtest installed both packages")
        finally:
            debpkg.purge(debpkg.PACKAGES, ENV)
        t.check(all(debpkg.installed_status(p) in ("", "un") for p in debpkg.PACKAGES),
                "the packages are purged again")
    return t.report()


if __name__ == "__main__":
    sys.exit(main())

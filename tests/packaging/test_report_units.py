#!/usr/bin/env python3
"""Checks of provledger_report's packaging: the systemd service and timer and the
Kubernetes CronJob.

Usage: test_report_units.py SRC_ROOT REPORT_BINARY

- systemd-analyze verify passes without a warning on the service + timer (the
  service's ExecStart pointing at the built binary) and catches a broken copy;
  the timer's OnCalendar is a valid calendar spec that fires daily after 00:00 UTC;
- the service is a hardened oneshot whose ARGS (and the CronJob's args) are
  accepted by the binary: run with a bad --date they fail with the date's usage
  error (exit 2), never with "unknown argument";
- the CronJob parses, runs daily in UTC with concurrencyPolicy Forbid, as
  non-root with a read-only root file system, and its volume mounts back the
  config, password and output paths its args use.
"""
import os
import re
import shlex
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pkgtest as t  # noqa: E402
from test_systemd_unit import parse_unit, values, verify  # noqa: E402


def args_accepted(exe, args, what):
    r = t.run([exe, *args, "--date=2000-99-99"])
    t.check(r.returncode == 2 and "--date must be a valid date" in r.stderr and "unknown" not in r.stderr,
            f"{what}: the binary accepts {args}", f"status {r.returncode}: {r.stderr}")


def main():
    src, exe = sys.argv[1], os.path.abspath(sys.argv[2])
    sysd = os.path.join(src, "packaging", "systemd")
    svc_text = open(os.path.join(sysd, "provledger_report.service"), encoding="utf-8").read()
    tmr_text = open(os.path.join(sysd, "provledger_report.timer"), encoding="utf-8").read()
    for name, text in (("service", svc_text), ("timer", tmr_text)):
        bad = [(n, raw) for n, raw in enumerate(text.splitlines(), 1)
               if raw.strip() and raw.strip()[0] not in "#;[" and re.search(r"\s#", raw)]
        t.check(not bad, f"{name}: comments only on their own lines", str(bad))
    sec = parse_unit(svc_text)
    t.check(values(sec, "Service", "Type") == ["oneshot"], "service Type=oneshot")
    for k in ("DynamicUser", "NoNewPrivileges", "PrivateTmp", "ProtectHome", "PrivateDevices"):
        t.check(values(sec, "Service", k) == ["yes"], f"service {k}=yes")
    t.check(values(sec, "Service", "ProtectSystem") == ["strict"], "service ProtectSystem=strict")
    t.check(values(sec, "Service", "StateDirectory") == ["provledger_report"], "StateDirectory=provledger_report")
    execstart = values(sec, "Service", "ExecStart")
    t.check(execstart == ["/usr/bin/provledger_report coverage $ARGS"], "ExecStart runs `coverage $ARGS`", str(execstart))
    env = [w for v in values(sec, "Service", "Environment") for w in shlex.split(v) if w.startswith("ARGS=")]
    t.check(len(env) == 1, "service sets a default ARGS")
    args = env[0][len("ARGS="):].split() if env else []
    t.check(any(a.startswith("--output-dir=/var/lib/provledger_report/") for a in args),
            "reports go to the StateDirectory (the only writable path)", str(args))
    args_accepted(exe, ["coverage", *args], "service ARGS")
    tsec = parse_unit(tmr_text)
    cal = values(tsec, "Timer", "OnCalendar")
    t.check(values(tsec, "Timer", "Persistent") == ["true"], "timer Persistent=true")
    t.check("timers.target" in values(tsec, "Install", "WantedBy"), "timer WantedBy=timers.target")

    if not shutil.which("systemd-analyze"):
        t.fatal("systemd-analyze is installed", "apt-get install systemd (scripts/test installs it)")
    r = t.run(["systemd-analyze", "calendar", "--iterations=2", *cal])
    t.check(r.returncode == 0 and "Normalized form: *-*-* 00:30:00 UTC" in r.stdout,
            "OnCalendar is daily at 00:30 UTC", r.stdout + r.stderr)
    with t.tempdir("report-unit-") as d:
        for name, text in (("provledger_report.service", svc_text.replace("/usr/bin/provledger_report", exe)),
                           ("provledger_report.timer", tmr_text)):
            with open(os.path.join(d, name), "w", encoding="utf-8") as f:
                f.write(text)
        rc, out = verify(os.path.join(d, "provledger_report.timer"), d)
        t.check(rc == 0 and out == "", "systemd-analyze verify timer (+ service): no errors, no warnings",
                f"status {rc}\n{out}")
        rc, out = verify(os.path.join(d, "provledger_report.service"), d)
        t.check(rc == 0 and out == "", "systemd-analyze verify service: no errors, no warnings", f"status {rc}\n{out}")
        broken = os.path.join(d, "broken")
        os.makedirs(broken)
        with open(os.path.join(broken, "provledger_report.service"), "w", encoding="utf-8") as f:
            f.write(svc_text.replace("/usr/bin/provledger_report", exe).replace("Type=oneshot", "Type=oneshot # x"))
        rc, out = verify(os.path.join(broken, "provledger_report.service"), broken)
        t.check(out != "", "verify catches a broken copy", out)

    docs = t.load_yaml_docs(os.path.join(src, "packaging", "kubernetes", "report", "cronjob.yaml"))
    cron = [d for d in docs if d.get("kind") == "CronJob"]
    if not t.check(len(cron) == 1, "exactly one CronJob"):
        return t.report()
    c = cron[0]["spec"]
    t.check(c.get("schedule") == "30 0 * * *" and c.get("timeZone") == "Etc/UTC", "CronJob daily at 00:30 UTC",
            f"{c.get('schedule')} {c.get('timeZone')}")
    t.check(c.get("concurrencyPolicy") == "Forbid", "concurrencyPolicy Forbid")
    pod = c["jobTemplate"]["spec"]["template"]["spec"]
    t.check(pod["securityContext"].get("runAsNonRoot") is True, "runs as non-root")
    ctr = pod["containers"][0]
    t.check(ctr["securityContext"].get("readOnlyRootFilesystem") is True, "read-only root file system")
    t.check(ctr["command"] == ["/usr/bin/provledger_report"], "command is the report binary", str(ctr["command"]))
    args_accepted(exe, ctr["args"], "CronJob args")
    mounts = {m["mountPath"]: m for m in ctr["volumeMounts"]}
    arg = dict(a.split("=", 1) for a in ctr["args"] if "=" in a)
    t.check(os.path.dirname(arg.get("--config.file", "")) in mounts, "the config file's directory is mounted")
    out_dir = arg.get("--output-dir", "")
    t.check(any(out_dir.startswith(p + "/") and not m.get("readOnly") for p, m in mounts.items()),
            "the output directory is a writable mount", out_dir)
    t.check("/run/secrets/provledger_exporter" in mounts,
            "the password Secret is mounted where the example config's password_file points")
    t.check(any(d.get("kind") == "PersistentVolumeClaim" for d in docs), "reports persist in a PVC (drift needs them)")
    return t.report()


if __name__ == "__main__":
    sys.exit(main())

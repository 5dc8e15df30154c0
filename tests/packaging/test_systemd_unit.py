#!/usr/bin/env python3
"""Checks of packaging/systemd.

Usage: test_systemd_unit.py SRC_ROOT EXPORTER_BINARY

- every directive line is free of trailing comments (systemd keeps them as
  part of the value), and the unit has the hardening and notify settings
  issue 4 and docs/reference/conventions.md section 4 ask for;
- `systemd-analyze verify` passes without a single warning on a copy whose
  ExecStart names the built binary (verify requires the executable to exist);
  the same check catches a deliberately broken copy;
- `systemd-analyze security --offline` rates the unit's exposure <= 2.0;
- the env file's ARGS only use flags the binary knows, and the credential and
  state paths agree with config/provledger.example.yml.
"""
import os
import re
import shlex
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pkgtest as t  # noqa: E402

UNIT = "provledger_exporter.service"
MAX_EXPOSURE = 2.0


def parse_unit(text):
    """{section: [(key, value, lineno)]} with repeated keys kept in order."""
    sections, cur = {}, None
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            cur = sections.setdefault(line[1:-1], [])
            continue
        key, sep, value = line.partition("=")
        if cur is None or not sep:
            t.check(False, f"unit line {n} is a section header or KEY=VALUE", raw)
            continue
        cur.append((key.strip(), value.strip(), n))
    return sections


def values(sections, section, key):
    return [v for k, v, _ in sections.get(section, []) if k == key]


def verify(unit_path, workdir):
    """(returncode, output) of systemd-analyze verify run from workdir."""
    r = t.run(["systemd-analyze", "verify", os.path.basename(unit_path)], cwd=workdir,
              env=dict(os.environ, SYSTEMD_LOG_COLOR="0", SYSTEMD_PAGER=""))
    return r.returncode, (r.stdout + r.stderr).strip()


def main():
    src, exe = sys.argv[1], os.path.abspath(sys.argv[2])
    unit_path = os.path.join(src, "packaging", "systemd", UNIT)
    default_path = os.path.join(src, "packaging", "systemd", "provledger_exporter.default")
    text = open(unit_path, encoding="utf-8").read()
    yaml = t.need_yaml()

    # 1. Lint: comments only on their own lines.
    bad = [(n, raw) for n, raw in enumerate(text.splitlines(), 1)
           if raw.strip() and raw.strip()[0] not in "#;[" and re.search(r"\s#", raw)]
    t.check(not bad, "comments only on their own lines (no trailing #)", str(bad))
    sec = parse_unit(text)
    svc = "Service"

    def want(key, expected, what=None):
        got = values(sec, svc, key)
        t.check(expected in got, what or f"{key}={expected}", f"got {got}")

    want("Type", "notify")
    want("NotifyAccess", "main")
    want("ExecReload", "/bin/kill -HUP $MAINPID")
    want("EnvironmentFile", "-/etc/default/provledger_exporter")
    want("DynamicUser", "yes")
    want("ProtectSystem", "strict")
    want("NoNewPrivileges", "yes")
    want("StateDirectory", "provledger_exporter")
    want("CapabilityBoundingSet", "", "CapabilityBoundingSet= (empty: no capabilities)")
    for k in ("PrivateTmp", "PrivateDevices", "ProtectHome", "ProtectKernelTunables",
              "ProtectKernelModules", "ProtectKernelLogs", "ProtectControlGroups", "ProtectClock",
              "ProtectHostname", "RestrictNamespaces", "RestrictRealtime", "RestrictSUIDSGID",
              "LockPersonality", "MemoryDenyWriteExecute"):
        want(k, "yes")
    want("SystemCallArchitectures", "native")
    mem = values(sec, svc, "MemoryMax")
    t.check(len(mem) == 1 and re.fullmatch(r"[1-9][0-9]*[MG]", mem[0]) is not None,
            "MemoryMax= is set once, in M or G (docs/deployment.md, Memory)", str(mem))
    filters = values(sec, svc, "SystemCallFilter")
    t.check("@system-service" in filters and any(f.startswith("~") and "@privileged" in f for f in filters),
            "SystemCallFilter allows @system-service and denies @privileged", str(filters))
    fams = " ".join(values(sec, svc, "RestrictAddressFamilies")).split()
    t.check(sorted(fams) == ["AF_INET", "AF_INET6", "AF_UNIX"],
            "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6", str(fams))
    execstart = values(sec, svc, "ExecStart")
    t.check(len(execstart) == 1 and execstart[0].split()[0] == "/usr/bin/provledger_exporter"
            and "$ARGS" in execstart[0].split(), "ExecStart=/usr/bin/provledger_exporter $ARGS",
            str(execstart))
    creds = [v.split(":", 1) for v in values(sec, svc, "LoadCredential")]
    t.check(any(c[0] == "db-password" for c in creds), "LoadCredential=db-password:...", str(creds))
    t.check("multi-user.target" in values(sec, "Install", "WantedBy"), "WantedBy=multi-user.target")

    # 2. ARGS: default in the unit and in the env file; flags known to the binary.
    env_default = [v for v in values(sec, svc, "Environment") if v.startswith("ARGS=")]
    t.check(len(env_default) == 1, "unit sets a default ARGS (works without the env file)")
    env_text = open(default_path, encoding="utf-8").read()
    m = re.search(r'^ARGS=(.*)$', env_text, re.M)
    file_args = shlex.split(m.group(1))[0].split() if m else []
    t.check(bool(file_args), "provledger_exporter.default sets ARGS")
    help_r = t.run([exe, "--help"])
    help_text = help_r.stdout + help_r.stderr
    default_args = env_default[0][len("ARGS="):].split() if env_default else []
    for a in sorted(set(file_args + default_args)):
        flag = a.split("=", 1)[0]
        t.check(flag in help_text, f"ARGS flag {flag} appears in `provledger_exporter --help`")
    documented = re.findall(r'^# (--[a-z.-]+)', env_text, re.M)
    t.check("--web.config.file" in documented, "provledger_exporter.default documents --web.config.file (TLS)")
    for flag in sorted(set(documented)):
        t.check(flag in help_text, f"documented flag {flag} appears in `provledger_exporter --help`")
    cfg_flags = [a for a in file_args if a.startswith("--config.file=")]
    t.check(cfg_flags == [a for a in default_args if a.startswith("--config.file=")] and cfg_flags,
            "env file and unit default name the same --config.file")

    # 3. Credential and state paths match the example config.
    example = os.path.join(src, "config", "provledger.example.yml")
    if t.check(os.path.isfile(example), "config/provledger.example.yml exists"):
        cfg = yaml.safe_load(open(example, encoding="utf-8"))
        pfs = [s.get("password_file") for s in cfg.get("ledgers", []) + cfg.get("trace_stores", [])
               if s.get("password_file")]
        cred_dir = f"/run/credentials/{UNIT}/"
        for pf in pfs:
            if pf.startswith("/run/credentials/"):
                name = pf[len(cred_dir):] if pf.startswith(cred_dir) else None
                t.check(name in {c[0] for c in creds},
                        f"example password_file {pf} is a credential the unit loads", str(creds))
        t.check(any(p.startswith(cred_dir) for p in pfs),
                "example config reads a password from the unit's credentials directory", str(pfs))
        if cfg.get("state_file"):
            t.check(cfg["state_file"].startswith("/var/lib/provledger_exporter/"),
                    "example state_file lies in StateDirectory (the only writable path)",
                    cfg["state_file"])

    # 4. systemd-analyze verify on a copy pointing at the built binary.
    if not shutil.which("systemd-analyze"):
        t.fatal("systemd-analyze is installed", "apt-get install systemd (scripts/test installs it)")
    with t.tempdir("unit-") as d:
        copy = os.path.join(d, UNIT)
        with open(copy, "w", encoding="utf-8") as f:
            f.write(text.replace("/usr/bin/provledger_exporter", exe))
        rc, out = verify(copy, d)
        t.check(rc == 0 and out == "", "systemd-analyze verify: no errors, no warnings",
                f"status {rc}\n{out}")

        broken = os.path.join(d, "broken", UNIT)
        os.makedirs(os.path.dirname(broken))
        with open(broken, "w", encoding="utf-8") as f:
            f.write(text.replace("/usr/bin/provledger_exporter", exe)
                        .replace("ProtectSystem=strict", "ProtectSystem=strict # inline"))
        rc, out = verify(broken, os.path.dirname(broken))
        t.check(out != "", "verify check catches a broken copy (trailing comment)", out)

        r = t.run(["systemd-analyze", "security", "--offline=true", "--no-pager",
                   f"--threshold={int(MAX_EXPOSURE * 10)}", copy], cwd=d)
        m = re.search(r"Overall exposure level for \S+: ([0-9.]+)", r.stdout + r.stderr)
        level = float(m.group(1)) if m else None
        t.check(r.returncode == 0 and level is not None and level <= MAX_EXPOSURE,
                f"systemd-analyze security: exposure <= {MAX_EXPOSURE}", f"level {level}, status {r.returncode}\n"
                + "\n".join(l for l in (r.stdout + r.stderr).splitlines() if l.startswith("✗")))
    return t.report()


if __name__ == "__main__":
    sys.exit(main())

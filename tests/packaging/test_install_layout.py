#!/usr/bin/env python3
"""`meson install` lays files out the way Linux packages do.

Usage: test_install_layout.py SRC_ROOT BUILD_ROOT

Runs `meson install --no-rebuild --destdir TMP` on the build dir and checks,
for the build's configured prefix:
- bin/provledger_exporter (0755) runs --version, and --config.check on the
  installed example config;
- the systemd unit in the systemd unit dir, its ExecStart and config path
  rewritten to the configured bindir/sysconfdir;
- the example config and env file under share/doc/provledger_exporter/examples,
  identical to their sources; nothing under sysconfdir (a user's config is
  never overwritten);
- every dashboard, the rules, Grafana provisioning files (if any) and the
  reference schema under share/provledger_exporter, identical to the sources;
- every program in bin/ (exporter, evidence, report, ramp, migrate) prints
  the project version with --version, and (when help2man is installed, as
  scripts/test makes sure) has its man page share/man/man1/PROGRAM.1 made by
  help2man from this build's binary: the page lists every option of --help.
"""
import filecmp
import glob
import json
import os
import re
import shutil
import stat
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pkgtest as t  # noqa: E402


PROGRAMS = ["provledger_exporter", "provledger_evidence", "provledger_report", "provledger_ramp",
            "provledger_migrate"]


def opt(options, name):
    return next(o["value"] for o in options if o["name"] == name)


def main():
    src, build = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    r = t.run(["meson", "introspect", "--buildoptions", build])
    if r.returncode != 0:
        t.fatal("meson introspect --buildoptions", r.stderr)
    options = json.loads(r.stdout)
    prefix = opt(options, "prefix")

    def under_prefix(d):
        return d if d.startswith("/") else os.path.join(prefix, d)

    bindir = under_prefix(opt(options, "bindir"))
    datadir = under_prefix(opt(options, "datadir"))
    sysconfdir = under_prefix(opt(options, "sysconfdir"))
    r = t.run(["pkg-config", "--variable=systemdsystemunitdir",
               f"--define-variable=root_prefix={'' if prefix == '/usr' else prefix}", "systemd"])
    unitdir = r.stdout.strip() if r.returncode == 0 and r.stdout.strip() else (
        "/lib/systemd/system" if prefix == "/usr" else os.path.join(prefix, "lib/systemd/system"))
    print(f"prefix={prefix} bindir={bindir} datadir={datadir} sysconfdir={sysconfdir} unitdir={unitdir}")

    with t.tempdir("install-") as dest:
        r = t.run(["meson", "install", "-C", build, "--no-rebuild", "--destdir", dest])
        if not t.check(r.returncode == 0, "meson install --destdir succeeds", (r.stdout + r.stderr)[-3000:]):
            return t.report()

        def D(p):
            return dest + p

        exe = D(os.path.join(bindir, "provledger_exporter"))
        if t.check(os.path.isfile(exe), f"{bindir}/provledger_exporter installed",
                   "the lead's src/app/meson.build needs install : true"):
            t.check(stat.S_IMODE(os.stat(exe).st_mode) == 0o755, "binary mode 0755")
        unit = D(os.path.join(unitdir, "provledger_exporter.service"))
        if t.check(os.path.isfile(unit), f"unit installed in {unitdir}",
                   "top-level meson.build needs subdir('packaging')"):
            text = open(unit).read()
            t.check(re.search(rf"^ExecStart={re.escape(bindir)}/provledger_exporter \$ARGS$", text, re.M),
                    "installed unit's ExecStart names the installed binary")
            t.check(f"--config.file={sysconfdir}/provledger_exporter/provledger.yml" in text,
                    "installed unit's default config path is in sysconfdir")

        docdir = os.path.join(datadir, "doc", "provledger_exporter")
        examples = os.path.join(docdir, "examples")
        pairs = [(os.path.join(src, "config", "provledger.example.yml"), os.path.join(examples, "provledger.yml")),
                 (os.path.join(src, "packaging", "systemd", "provledger_exporter.default"),
                  os.path.join(examples, "provledger_exporter.default")),
                 (os.path.join(src, "docs", "deployment.md"), os.path.join(docdir, "deployment.md")),
                 (os.path.join(src, "alerts", "rules.yml"),
                  os.path.join(datadir, "provledger_exporter", "alerts", "rules.yml"))]
        dashboards = sorted(glob.glob(os.path.join(src, "dashboards", "*.json")))
        t.check(bool(dashboards), "the source tree has dashboards/*.json to install")
        for f in dashboards:
            pairs.append((f, os.path.join(datadir, "provledger_exporter", "dashboards", os.path.basename(f))))
        for f in sorted(glob.glob(os.path.join(src, "config", "schema", "*.sql"))):
            pairs.append((f, os.path.join(datadir, "provledger_exporter", "schema", os.path.basename(f))))
        graf = os.path.join(src, "packaging", "grafana")
        for dirpath, _, files in os.walk(graf):
            for fn in files:
                s = os.path.join(dirpath, fn)
                pairs.append((s, os.path.join(datadir, "provledger_exporter", "grafana", os.path.relpath(s, graf))))
        for s, inst in pairs:
            ok = os.path.isfile(D(inst)) and filecmp.cmp(s, D(inst), shallow=False)
            if t.check(ok, f"{inst} installed, identical to {os.path.relpath(s, src)}"):
                t.check(stat.S_IMODE(os.stat(D(inst)).st_mode) == 0o644, f"{inst} mode 0644")

        t.check(not os.path.exists(D(sysconfdir)), f"nothing installed under {sysconfdir}",
                str([os.path.relpath(os.path.join(a, f), dest) for a, _, fs in os.walk(D(sysconfdir)) for f in fs]))

        if os.path.isfile(exe):
            version = t.project_version(src)
            r = t.run([exe, "--version"])
            t.check(r.returncode == 0 and version in r.stdout + r.stderr,
                    f"installed binary --version reports {version}", (r.stdout + r.stderr)[-500:])
            cfg = D(os.path.join(examples, "provledger.yml"))
            r = t.run([exe, "--config.check", f"--config.file={cfg}"])
            t.check(r.returncode == 0, "installed binary accepts the installed example config (--config.check)",
                    (r.stdout + r.stderr)[-2000:])
            progs = sorted(os.listdir(D(bindir)))
            t.check(progs == sorted(PROGRAMS), f"{bindir} holds exactly {sorted(PROGRAMS)}", str(progs))
            mandir = under_prefix(opt(options, "mandir"))
            want_man = opt(options, "man") == "enabled" or (
                opt(options, "man") == "auto" and shutil.which("help2man") is not None)
            for name in progs:
                p = D(os.path.join(bindir, name))
                r = t.run([p, "--version"])
                t.check(r.returncode == 0 and r.stdout.startswith(name + " ") and version in r.stdout,
                        f"{name} --version prints {name} ... {version}", (r.stdout + r.stderr)[-300:])
                if not want_man:
                    continue
                page = D(os.path.join(mandir, "man1", name + ".1"))
                if not t.check(os.path.isfile(page), f"{mandir}/man1/{name}.1 installed"):
                    continue
                text = open(page, encoding="utf-8").read()
                help_text = t.run([p, "--help"]).stdout
                part = help_text.split("Options:", 1)[1] if "Options:" in help_text else ""
                opts = sorted(set(re.findall(r"^\s+(--[a-z][a-z0-9.-]*|-[a-z])\b", part, re.M)))
                # The page as man-db shows it (roff escapes '-', help2man bolds up to a '.').
                shown = t.run(["man", "-l", page], env=dict(os.environ, MANPAGER="cat", PAGER="cat", MANWIDTH="100",
                                                            LC_ALL="C.UTF-8", MAN_KEEP_FORMATTING="0")).stdout
                shown = re.sub(r".\x08", "", shown).replace("\u2010", "-").replace("\u2212", "-")
                absent = [o for o in opts if o not in shown]
                t.check("generated by help2man" in text and len(opts) >= 2 and not absent,
                        f"{name}.1 is help2man's page of this binary: all {len(opts)} options of --help",
                        f"absent {absent}")
                t.check(f'"{name} {version}"' in text, f"{name}.1 names version {version}")
    return t.report()


if __name__ == "__main__":
    sys.exit(main())

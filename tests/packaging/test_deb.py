#!/usr/bin/env python3
"""Installs the built Debian packages system-wide, exercises the installed
files and purges them.

Usage: test_deb.py SRC_ROOT BUILD_ROOT          (needs root and dpkg)

The packages (provledger-exporter, provledger-tools) come from
debpkg.built_debs: `dpkg-buildpackage -us -uc -b` on a copy of the tree. The
test refuses to start when one of them is already installed or when one of
their files already exists unowned (it would be overwritten and then deleted
by the purge), and always purges what it installed, also on failure or
SIGTERM. Checks after `dpkg -i`:
- every program runs --version (the project version); the exporter accepts
  the shipped /etc/provledger_exporter/provledger.yml (--config.check);
- every directly needed library of each program comes from its package's
  Depends; systemd-analyze verify on the installed units;
- `man PROGRAM` (man-db) shows each program's page, with every option of the
  installed program's --help;
- `dpkg --verify`: the installed files match the packages' md5sums;
- the ramp controller's system user exists (systemd-sysusers in postinst);
- a locally modified conffile survives reinstalling; `dpkg -r` keeps the
  conffiles; `dpkg --purge` leaves no file behind.
"""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import debpkg  # noqa: E402
import pkgtest as t  # noqa: E402

CONFFILES = ["/etc/provledger_exporter/provledger.yml", "/etc/default/provledger_exporter"]
ENV = dict(os.environ, DEBIAN_FRONTEND="noninteractive")


def help_options(text):
    """The option names (--x.y, -h) an --help text lists in its Options part."""
    part = text.split("Options:", 1)[1] if "Options:" in text else text
    return sorted(set(re.findall(r"^\s+(--[a-z][a-z0-9.-]*|-[a-z])\b", part, re.M)))


def main():
    t.sigterm_raises()
    src, build = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    if os.geteuid() != 0:
        t.fatal("runs as root (dpkg -i)")
    debpkg.refuse_if_installed(debpkg.PACKAGES)
    version = t.project_version(src)
    etc_existed = os.path.exists("/etc/provledger_exporter")
    debs = debpkg.built_debs(src, build)
    pkg_debs = [debs[p] for p in debpkg.PACKAGES]
    files = {p: debpkg.deb_files(debs[p]) for p in debpkg.PACKAGES}
    all_files = [f for p in debpkg.PACKAGES for f in files[p]]
    clash = [f for f in all_files if os.path.lexists(f)]
    if clash:
        t.fatal("none of the packages' files exists before installing",
                f"{clash[:10]} (left over from `meson install --prefix=/usr`?); not overwriting them")
    t.check(True, "none of the packages' files exists before installing")

    try:
        r = t.run(["dpkg", "-i"] + pkg_debs, env=ENV)
        if not t.check(r.returncode == 0 and all(debpkg.installed_status(p) == "ii" for p in debpkg.PACKAGES),
                       "dpkg -i installs both packages", (r.stdout + r.stderr)[-3000:]):
            return t.report()
        _, provides = t.installed_depends()
        for pkg in debpkg.PACKAGES:
            dep_field = debpkg.deb_field(debs[pkg], "Depends")
            depends = {re.split(r"[\s(]", a.strip())[0] for a in re.split(r"[,|]", dep_field) if a.strip()}
            covered = depends | {p for v in depends for p in provides.get(v, [])}
            for exe in [f for f in files[pkg] if f.startswith("/usr/bin/")]:
                name = os.path.basename(exe)
                r = t.run([exe, "--version"])
                t.check(r.returncode == 0 and r.stdout.startswith(name + " ") and version in r.stdout,
                        f"installed {exe} --version reports {version}", (r.stdout + r.stderr)[-500:])
                libs = dict(t.ldd_paths(exe)[1])
                owners = t.dpkg_owners([p for p in libs.values() if p])
                needed = {owners.get(libs.get(so)) for so in t.needed_sonames(exe)}
                t.check(needed and needed <= covered, f"{name}: each directly needed library's package "
                        f"is in {pkg}'s Depends", f"missing {sorted(map(str, needed - covered))}")
                # The man page, through man-db, as a user reads it.
                r = t.run(["man", "-w", name])
                t.check(r.returncode == 0 and r.stdout.strip() == f"/usr/share/man/man1/{name}.1.gz",
                        f"man -w {name}: /usr/share/man/man1/{name}.1.gz", r.stdout + r.stderr)
                r = t.run(["man", name], env=dict(ENV, MANPAGER="cat", PAGER="cat", MANWIDTH="100",
                                                  LC_ALL="C.UTF-8", MAN_KEEP_FORMATTING="0"))
                page = re.sub(r".\x08", "", r.stdout).replace("\u2010", "-").replace("\u2212", "-")
                opts = help_options(t.run([exe, "--help"]).stdout)
                absent = [o for o in opts if o not in page]
                t.check(r.returncode == 0 and page.startswith(name.upper() + "(1)") and len(opts) >= 2
                        and not absent, f"man {name} shows its page with the {len(opts)} options of --help",
                        f"status {r.returncode}; absent {absent}; {page[:300]!r} {r.stderr[-300:]}")

        exe = "/usr/bin/provledger_exporter"
        r = t.run([exe, "--config.check", "--config.file=/etc/provledger_exporter/provledger.yml"])
        t.check(r.returncode == 0, "installed exporter accepts /etc/provledger_exporter/provledger.yml",
                (r.stdout + r.stderr)[-2000:])
        units = [f for f in all_files if f.startswith("/lib/systemd/system/")]
        r = t.run(["systemd-analyze", "verify"] + units, env=dict(ENV, SYSTEMD_LOG_COLOR="0"))
        out = (r.stdout + r.stderr).strip()
        t.check(r.returncode == 0 and out == "", f"systemd-analyze verify on the {len(units)} installed units", out)
        r = t.run(["dpkg", "--verify"] + debpkg.PACKAGES)
        t.check(r.returncode == 0 and not r.stdout.strip(), "dpkg --verify: installed files match the md5sums",
                r.stdout + r.stderr)
        r = t.run(["getent", "passwd", "provledger-ramp"])
        t.check(r.returncode == 0 and ":/var/lib/provledger_ramp:" in r.stdout,
                "postinst created the system user provledger-ramp (sysusers.d)", r.stdout + r.stderr)

        # A modified conffile survives reinstalling the package.
        with open(CONFFILES[0], "a") as f:
            f.write("# local change kept by dpkg\n")
        r = t.run(["dpkg", "-i", "--force-confold", debs["provledger-exporter"]], env=ENV)
        t.check(r.returncode == 0 and "# local change kept by dpkg" in open(CONFFILES[0]).read(),
                "reinstalling keeps a locally modified config", (r.stdout + r.stderr)[-2000:])

        r = t.run(["dpkg", "-r"] + debpkg.PACKAGES, env=ENV)
        t.check(r.returncode == 0 and not os.path.exists(exe) and all(os.path.exists(c) for c in CONFFILES),
                "dpkg -r removes the programs and keeps the conffiles", (r.stdout + r.stderr)[-2000:])
        r = t.run(["dpkg", "--purge"] + debpkg.PACKAGES, env=ENV)
        left = [f for f in all_files if os.path.lexists(f)]
        t.check(r.returncode == 0 and all(debpkg.installed_status(p) in ("", "un") for p in debpkg.PACKAGES),
                "dpkg --purge succeeds", (r.stdout + r.stderr)[-2000:])
        t.check(not left, "no file of the packages is left after purge", str(left[:10]))
        if not etc_existed:
            t.check(not os.path.exists("/etc/provledger_exporter"), "/etc/provledger_exporter is gone")
    finally:
        debpkg.purge(debpkg.PACKAGES, ENV)
    return t.report()


if __name__ == "__main__":
    sys.exit(main())

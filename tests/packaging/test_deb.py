#!/usr/bin/env python3
"""Builds the .deb with packaging/deb/build-deb, installs it system-wide,
exercises the installed files and purges it.

Usage: test_deb.py SRC_ROOT BUILD_ROOT          (needs root and dpkg)

The package is `provledger-exporter`. The test refuses to start when that
package is already installed or when one of its files already exists
unowned (it would be overwritten and then deleted by the purge), and always
purges what it installed, also on failure or SIGTERM. BUILD_ROOT is reused
when it is configured with --prefix=/usr; otherwise build-deb makes a fresh
release build in a temp dir (slow).
"""
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pkgtest as t  # noqa: E402

PKG = "provledger-exporter"
CONFFILES = ["/etc/provledger_exporter/provledger.yml", "/etc/default/provledger_exporter"]
ENV = dict(os.environ, DEBIAN_FRONTEND="noninteractive")


def status():
    r = t.run(["dpkg-query", "-W", "-f", "${db:Status-Abbrev}", PKG])
    return r.stdout.strip() if r.returncode == 0 else ""


def purge():
    if status() not in ("", "un"):
        r = t.run(["dpkg", "--purge", PKG], env=ENV)
        print(f"cleanup: dpkg --purge {PKG}: status {r.returncode}")


def main():
    t.sigterm_raises()
    src, build = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    if os.geteuid() != 0:
        t.fatal("runs as root (dpkg -i)")
    if status() not in ("", "un"):
        t.fatal(f"{PKG} is not installed before the test",
                f"status {status()!r}; remove it first: dpkg --purge {PKG}")
    version = t.project_version(src)
    etc_existed = os.path.exists("/etc/provledger_exporter")
    r = t.run(["meson", "introspect", "--buildoptions", build])
    prefix = next(o["value"] for o in json.loads(r.stdout) if o["name"] == "prefix") if r.returncode == 0 else None

    with t.tempdir("deb-") as d:
        cmd = [os.path.join(src, "packaging", "deb", "build-deb"), "--outdir", d]
        if prefix == "/usr":
            cmd += ["--builddir", build, "--no-rebuild"]
            print(f"reusing {build} (prefix /usr)")
        else:
            print(f"{build} has prefix {prefix}: build-deb makes a fresh release build (slow); "
                  "configure the test build dir with --prefix=/usr to avoid it")
        r = t.run(cmd)
        deb = r.stdout.strip().splitlines()[-1] if r.stdout.strip() else ""
        if not t.check(r.returncode == 0 and deb.endswith(".deb") and os.path.isfile(deb),
                       "build-deb builds the package", (r.stdout + r.stderr)[-4000:]):
            return t.report()
        print(f"built {deb}")

        # Package metadata and contents.
        fields = {}
        for k in ("Package", "Version", "Architecture", "Depends"):
            fields[k] = t.run(["dpkg-deb", "-f", deb, k]).stdout.strip()
        t.check(fields["Package"] == PKG and fields["Version"] == version,
                f"control: Package {PKG}, Version {version}", str(fields))
        depends = {re.split(r"[\s(]", a.strip())[0] for a in re.split(r"[,|]", fields["Depends"]) if a.strip()}
        t.check("libpq5" in depends and "libc6" in depends, "Depends lists the runtime libraries",
                fields["Depends"])
        ctl = os.path.join(d, "control")
        t.run(["dpkg-deb", "-e", deb, ctl])
        conffiles = open(os.path.join(ctl, "conffiles")).read().split() if os.path.exists(
            os.path.join(ctl, "conffiles")) else []
        t.check(sorted(conffiles) == sorted(CONFFILES), "conffiles: the config and the env file", str(conffiles))
        for s in ("postinst", "prerm", "postrm"):
            t.check(os.access(os.path.join(ctl, s), os.X_OK), f"maintainer script {s} is executable")
        listing = t.run(["dpkg-deb", "-c", deb]).stdout.splitlines()
        files, owners_ok = [], True
        for line in listing:
            parts = line.split()
            owners_ok &= parts[1] == "root/root"
            path = parts[5][1:] if parts[5].startswith("./") else parts[5]
            if not line.startswith("d"):
                files.append("/" + path.lstrip("/"))
        t.check(owners_ok, "all files owned by root:root (--root-owner-group)")
        for want in ["/usr/bin/provledger_exporter", "/lib/systemd/system/provledger_exporter.service",
                     "/usr/share/doc/provledger_exporter/examples/provledger.yml",
                     "/usr/share/provledger_exporter/alerts/rules.yml"] + CONFFILES:
            t.check(want in files, f"package contains {want}")
        clash = [f for f in files if os.path.lexists(f)]
        if clash:
            t.fatal("none of the package's files exists before installing",
                    f"{clash[:10]} (left over from `meson install --prefix=/usr`?); not overwriting them")
        t.check(True, "none of the package's files exists before installing")

        try:
            r = t.run(["dpkg", "-i", deb], env=ENV)
            if not t.check(r.returncode == 0 and status() == "ii", "dpkg -i installs it",
                           (r.stdout + r.stderr)[-3000:]):
                return t.report()
            exe = "/usr/bin/provledger_exporter"
            r = t.run([exe, "--version"])
            t.check(r.returncode == 0 and version in r.stdout + r.stderr,
                    f"installed {exe} --version reports {version}", (r.stdout + r.stderr)[-500:])
            r = t.run([exe, "--config.check", "--config.file=/etc/provledger_exporter/provledger.yml"])
            t.check(r.returncode == 0, "installed binary accepts /etc/provledger_exporter/provledger.yml",
                    (r.stdout + r.stderr)[-2000:])
            # Every library the installed binary needs comes from a declared Depends.
            owners = t.dpkg_owners([p for _, p in t.ldd_paths(exe)[1] if p])
            needed_pkgs = set()
            libs = dict(t.ldd_paths(exe)[1])
            for so in t.needed_sonames(exe):
                needed_pkgs.add(owners.get(libs.get(so)))
            _, provides = t.installed_depends()
            covered = depends | {p for v in depends for p in provides.get(v, [])}
            t.check(needed_pkgs and needed_pkgs <= covered,
                    "each directly needed library's package is in Depends",
                    f"missing {sorted(map(str, needed_pkgs - covered))}")
            r = t.run(["systemd-analyze", "verify", "/lib/systemd/system/provledger_exporter.service"],
                      env=dict(ENV, SYSTEMD_LOG_COLOR="0"))
            out = (r.stdout + r.stderr).strip()
            t.check(r.returncode == 0 and out == "", "systemd-analyze verify on the installed unit", out)

            # A modified conffile survives reinstalling the package.
            with open(CONFFILES[0], "a") as f:
                f.write("# local change kept by dpkg\n")
            r = t.run(["dpkg", "-i", "--force-confold", deb], env=ENV)
            t.check(r.returncode == 0 and "# local change kept by dpkg" in open(CONFFILES[0]).read(),
                    "reinstalling keeps a locally modified config", (r.stdout + r.stderr)[-2000:])

            r = t.run(["dpkg", "-r", PKG], env=ENV)
            t.check(r.returncode == 0 and not os.path.exists(exe) and os.path.exists(CONFFILES[0]),
                    "dpkg -r removes the binary and keeps the conffiles", (r.stdout + r.stderr)[-2000:])
            r = t.run(["dpkg", "--purge", PKG], env=ENV)
            left = [f for f in files if os.path.lexists(f)]
            t.check(r.returncode == 0 and status() in ("", "un"), "dpkg --purge succeeds",
                    (r.stdout + r.stderr)[-2000:])
            t.check(not left, "no file of the package is left after purge", str(left[:10]))
            if not etc_existed:
                t.check(not os.path.exists("/etc/provledger_exporter"), "/etc/provledger_exporter is gone")
        finally:
            purge()
    return t.report()


if __name__ == "__main__":
    sys.exit(main())

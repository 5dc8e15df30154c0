#!/usr/bin/env python3
"""The Debian source package (debian/) builds and its binary packages are what
debian/ promises.

Usage: test_debian_build.py SRC_ROOT BUILD_ROOT

Builds with `dpkg-buildpackage -us -uc -b` (debpkg.built_debs: a copy of the
tree, DEB_BUILD_OPTIONS="nocheck parallel=2") and checks:
- the packages provledger-exporter and provledger-tools, Version = the meson
  project version = debian/changelog's, Architecture the build machine's;
- Depends computed by dpkg-shlibdeps (libpq5, libc6 ...), a Description with
  a synopsis and an extended text;
- the compiler and linker ran with dpkg-buildflags' hardening flags (the
  binaries themselves: test_debian_hardening.py);
- each program in /usr/bin has its man page in the same package, each man
  page was made by help2man from that program;
- conffiles: exactly the exporter's config and its /etc/default file;
- md5sums for every file, DEP-5 copyright and a changelog in each package;
- maintainer scripts: the units are handled by debhelper's generated
  snippets, no hand-written systemctl call (debian/*.postinst etc.); the
  ramp user is created by the dh_installsysusers snippet;
- the shipped units, dashboards, rules, examples are in the package they
  belong to, and nothing is in both packages.
"""
import gzip
import os
import platform
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import debpkg  # noqa: E402
import pkgtest as t  # noqa: E402

EXPORTER_CONFFILES = ["/etc/provledger_exporter/provledger.yml", "/etc/default/provledger_exporter"]
EXPECT = {
    "provledger-exporter": [
        "/usr/bin/provledger_exporter", "/lib/systemd/system/provledger_exporter.service",
        "/usr/share/doc/provledger_exporter/examples/provledger.yml",
        "/usr/share/doc/provledger_exporter/deployment.md",
        "/usr/share/provledger_exporter/alerts/rules.yml",
        "/usr/share/provledger_exporter/grafana/dashboards.yml",
        "/usr/share/provledger_exporter/schema/ledger.sql",
    ] + EXPORTER_CONFFILES,
    "provledger-tools": [
        "/usr/bin/provledger_evidence", "/usr/bin/provledger_report", "/usr/bin/provledger_ramp",
        "/usr/bin/provledger_migrate",
        "/lib/systemd/system/provledger_ramp.service", "/lib/systemd/system/provledger_ramp.timer",
        "/lib/systemd/system/provledger_report.service", "/lib/systemd/system/provledger_report.timer",
        "/usr/lib/sysusers.d/provledger_ramp.conf",
        "/usr/share/doc/provledger_exporter/examples/ramp.yml",
        "/usr/share/provledger_exporter/alerts/gen-rules",
    ],
}


def control_member(deb, d, name):
    ctl = os.path.join(d, os.path.basename(deb) + ".control")
    if not os.path.isdir(ctl):
        t.run(["dpkg-deb", "-e", deb, ctl])
    p = os.path.join(ctl, name)
    return open(p, encoding="utf-8").read() if os.path.exists(p) else None


def main():
    src, build = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    version = t.project_version(src)
    changelog = open(os.path.join(src, "debian", "changelog"), encoding="utf-8").readline()
    m = re.match(r"(\S+) \(([^)]+)\)", changelog)
    t.check(m and m.group(1) == debpkg.SOURCE and m.group(2).split("-")[0] == version,
            f"debian/changelog's top entry is {debpkg.SOURCE} {version} (meson.build's version)", changelog)

    debs = debpkg.built_debs(src, build)
    log = open(debs["_log"], encoding="utf-8", errors="replace").read()
    arch = t.run(["dpkg", "--print-architecture"]).stdout.strip()
    for pkg in debpkg.PACKAGES:
        if not t.check(pkg in debs, f"{pkg} is built", str(sorted(debs))):
            return t.report()
    t.check(sorted(k for k in debs if not k.startswith("_") and not k.endswith("-dbgsym")) == debpkg.PACKAGES,
            "exactly the packages provledger-exporter and provledger-tools (+ dbgsym)", str(sorted(debs)))

    # The build used dpkg-buildflags and meson (debhelper's meson build system).
    t.check("meson setup" in log and "--buildtype=plain" in log, "dh_auto_configure ran meson setup")
    compiles = [line for line in log.splitlines() if " -c " in line and ".cc" in line]
    links = [line for line in log.splitlines() if re.search(r" -o src/\w+/provledger_\w+ ", line)]
    t.check(bool(compiles) and all("-D_FORTIFY_SOURCE=2" in c and "-fstack-protector-strong" in c
                                   and re.search(r"-O2\b", c) for c in compiles),
            f"every compile ({len(compiles)}) has -O2 -D_FORTIFY_SOURCE=2 -fstack-protector-strong "
            "(dpkg-buildflags)", next((c for c in compiles if "-D_FORTIFY_SOURCE=2" not in c), "")[:400])
    if arch == "amd64":
        t.check(all("-fstack-clash-protection" in c and "-fcf-protection" in c for c in compiles),
                "every compile has -fstack-clash-protection -fcf-protection (debian/rules, amd64)")
    t.check(len(links) == 5 and all("-z,relro" in c and "-z,now" in c for c in links),
            "the 5 programs are linked with -z relro -z now (hardening=+all: bindnow)", str(len(links)))
    t.check("dh_auto_build -- installed" in log and not re.search(r" -o tests/", log),
            "nocheck: only the 'installed' target was built, no test program")

    owner = {}
    with t.tempdir("debian-build-") as d:
        for pkg in debpkg.PACKAGES:
            deb = debs[pkg]
            f = {k: debpkg.deb_field(deb, k) for k in ("Package", "Version", "Architecture", "Depends",
                                                          "Description", "Section", "Maintainer")}
            t.check(f["Version"] == version and f["Architecture"] == arch,
                    f"{pkg}: Version {version}, Architecture {arch}", str(f))
            depends = {re.split(r"[\s(]", a.strip())[0] for a in re.split(r"[,|]", f["Depends"]) if a.strip()}
            t.check({"libc6", "libpq5", "libstdc++6"} <= depends,
                    f"{pkg}: Depends from dpkg-shlibdeps (libc6, libpq5, libstdc++6 ...)", f["Depends"])
            desc = f["Description"].splitlines()
            t.check(len(desc) >= 3 and 10 < len(desc[0]) <= 80 and not desc[0].endswith("."),
                    f"{pkg}: Description has a synopsis and an extended text", f["Description"][:300])
            files = debpkg.deb_files(deb)
            for p in files:
                if p in owner:
                    t.check(False, f"{p} is in one package only", f"{owner[p]} and {pkg}")
                owner[p] = pkg
            for want in EXPECT[pkg]:
                t.check(want in files, f"{pkg} contains {want}")
            # Man pages: one per program, made by help2man.
            t.run(["dpkg-deb", "-x", deb, os.path.join(d, pkg)])
            progs = [p for p in files if p.startswith("/usr/bin/")]
            for prog in progs:
                name = os.path.basename(prog)
                page = f"/usr/share/man/man1/{name}.1.gz"
                if t.check(page in files, f"{pkg}: {prog} has its man page {page}"):
                    text = gzip.open(os.path.join(d, pkg) + page).read().decode("utf-8", "replace")
                    t.check("generated by help2man" in text and f".TH {name.upper()} \"1\"" in text,
                            f"{page} was generated by help2man", text[:300])
            t.check(not [p for p in files if p.startswith("/usr/share/man/") and
                         os.path.basename(p).split(".")[0] not in {os.path.basename(x) for x in progs}],
                    f"{pkg}: no man page without its program")
            # Control archive.
            md5 = control_member(deb, d, "md5sums") or ""
            listed = {"/" + line.split(None, 1)[1] for line in md5.splitlines() if line.strip()}
            regular = {p for p in files if os.path.isfile(os.path.join(d, pkg) + p)
                       and not os.path.islink(os.path.join(d, pkg) + p)}
            conffiles = (control_member(deb, d, "conffiles") or "").split()
            t.check(listed == regular - set(conffiles),
                    f"{pkg}: md5sums lists every file (conffiles are tracked by dpkg itself)",
                    f"missing {sorted(regular - set(conffiles) - listed)[:5]}")
            t.check(sorted(conffiles) == (sorted(EXPORTER_CONFFILES) if pkg == "provledger-exporter" else []),
                    f"{pkg}: conffiles {conffiles}")
            copyright_ = os.path.join(d, pkg, "usr/share/doc", pkg, "copyright")
            text = open(copyright_).read() if os.path.exists(copyright_) else ""
            t.check(text.startswith("Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/")
                    and "License: Apache-2.0" in text and "/usr/share/common-licenses/Apache-2.0" in text,
                    f"{pkg}: DEP-5 copyright, Apache-2.0")
            t.check(f"/usr/share/doc/{pkg}/changelog.gz" in files, f"{pkg}: changelog.gz")
            for script in ("postinst", "prerm", "postrm"):
                body = control_member(deb, d, script) or ""
                # Outside debhelper's generated sections nothing calls systemctl.
                own = re.sub(r"# Automatically added by dh_\w+.*?# End automatically added section", "",
                             body, flags=re.S)
                t.check("systemctl" not in own and "deb-systemd" not in own,
                        f"{pkg}: {script} calls systemctl only in debhelper's snippets", own[:500])
            postinst = control_member(deb, d, "postinst") or ""
            units = [p for p in files if p.startswith("/lib/systemd/system/")]
            t.check("systemctl --system daemon-reload" in postinst, f"{pkg}: postinst reloads systemd (dh_installsystemd)")
            for u in units:
                name = os.path.basename(u)
                if "[Install]" not in open(os.path.join(d, pkg) + u).read():
                    continue  # static: started by its timer only
                t.check(f"deb-systemd-helper debian-installed '{name}'" in postinst
                        and f"deb-systemd-helper update-state '{name}'" in postinst,
                        f"{pkg}: dh_installsystemd handles {name}, not enabled on install (--no-enable)",
                        postinst[:1500])
        tools_postinst = control_member(debs["provledger-tools"], d, "postinst") or ""
        t.check("systemd-sysusers" in tools_postinst and "provledger_ramp.conf" in tools_postinst,
                "provledger-tools: postinst creates the provledger-ramp user (dh_installsysusers)",
                tools_postinst[:800])
    return t.report()


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""hardening-check (devscripts) on every program of the built packages: PIE,
stack protector, fortified functions, read-only relocations, immediate binding
(bindnow): the protections of dpkg-buildflags' hardening=+all.

debian/rules also compiles with -fstack-clash-protection and -fcf-protection
(test_debian_build.py checks the compile lines), but hardening-check cannot
confirm them on bookworm: stack clash probes exist only in functions with
large frames ("unknown"), and the linker drops the CET property note because
bookworm's C runtime start files are built without it. So control-flow
protection is not required here (--nocfprotection); both lines are printed.

Usage: test_debian_hardening.py SRC_ROOT BUILD_ROOT
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import debpkg  # noqa: E402
import pkgtest as t  # noqa: E402

WANT = ["Position Independent Executable: yes", "Stack protected: yes", "Fortify Source functions: yes",
        "Read-only relocations: yes", "Immediate binding: yes"]


def main():
    src, build = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    debs = debpkg.built_debs(src, build)
    want = WANT
    with t.tempdir("hardening-") as d:
        progs = []
        for pkg in debpkg.PACKAGES:
            root = os.path.join(d, pkg)
            t.run(["dpkg-deb", "-x", debs[pkg], root])
            bindir = os.path.join(root, "usr", "bin")
            progs += [os.path.join(bindir, f) for f in sorted(os.listdir(bindir))]
        t.check(len(progs) == 5, "5 programs in /usr/bin of the packages", str(progs))
        for prog in progs:
            r = t.run(["hardening-check", "--nocfprotection", prog])
            out = r.stdout + r.stderr
            print(out.strip())
            missing = [w for w in want if w not in out]
            t.check(r.returncode == 0 and not missing, f"hardening-check {os.path.basename(prog)}",
                    f"exit status {r.returncode}; missing: {missing}")
    return t.report()


if __name__ == "__main__":
    sys.exit(main())

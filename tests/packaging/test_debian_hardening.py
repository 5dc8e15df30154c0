#!/usr/bin/env python3
"""hardening-check (devscripts) on every program of the built packages: PIE,
stack protector, fortified functions, read-only relocations, immediate binding
(bindnow), and on amd64 stack clash protection and control-flow integrity
(debian/rules adds those two, which bookworm's dpkg-buildflags do not yet).

Usage: test_debian_hardening.py SRC_ROOT BUILD_ROOT
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import debpkg  # noqa: E402
import pkgtest as t  # noqa: E402

WANT = ["Position Independent Executable: yes", "Stack protected: yes", "Fortify Source functions: yes",
        "Read-only relocations: yes", "Immediate binding: yes"]
WANT_AMD64 = ["Stack clash protection: yes", "Control flow integrity: yes"]


def main():
    src, build = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    debs = debpkg.built_debs(src, build)
    arch = t.run(["dpkg", "--print-architecture"]).stdout.strip()
    want = WANT + (WANT_AMD64 if arch == "amd64" else [])
    with t.tempdir("hardening-") as d:
        progs = []
        for pkg in debpkg.PACKAGES:
            root = os.path.join(d, pkg)
            t.run(["dpkg-deb", "-x", debs[pkg], root])
            bindir = os.path.join(root, "usr", "bin")
            progs += [os.path.join(bindir, f) for f in sorted(os.listdir(bindir))]
        t.check(len(progs) == 5, "5 programs in /usr/bin of the packages", str(progs))
        for prog in progs:
            r = t.run(["hardening-check", prog])
            out = r.stdout + r.stderr
            print(out.strip())
            missing = [w for w in want if w not in out]
            t.check(r.returncode == 0 and not missing, f"hardening-check {os.path.basename(prog)}",
                    f"exit status {r.returncode}; missing: {missing}")
    return t.report()


if __name__ == "__main__":
    sys.exit(main())

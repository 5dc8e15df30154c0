#!/usr/bin/env python3
"""lintian on the built binary packages: no error, no warning, no
informational tag (`lintian -I`) that debian/*.lintian-overrides does not
override with a reason; no unused override.

Usage: test_debian_lintian.py SRC_ROOT BUILD_ROOT

The packages come from debpkg.built_debs (dpkg-buildpackage in a copy of the
tree). The -dbgsym packages are checked together with the packages they
belong to.
"""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import debpkg  # noqa: E402
import pkgtest as t  # noqa: E402


def main():
    src, build = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    debs = debpkg.built_debs(src, build)
    files = [v for k, v in sorted(debs.items()) if not k.startswith("_")]
    t.check(len(files) >= 2, "packages to check", str(files))
    def lintian(*opts):
        r = t.run(["lintian", "--display-info", "--fail-on", "error,warning,info", "--tag-display-limit", "0",
                   *opts] + files)
        return r, [line for line in (r.stdout + r.stderr).splitlines()
                   if line.strip() and "running with root privileges is not recommended" not in line]

    # The overridden tags with their reasons, for the log (--show-overrides makes
    # them count for --fail-on, so the verdict comes from the run below).
    _, shown = lintian("--show-overrides")
    overridden = [line for line in shown if re.match(r"[ON]: ", line)]
    print("\n".join(overridden))
    r, lines = lintian()
    print("\n".join(lines) or "(lintian printed no tag)")
    tags = [line for line in lines if re.match(r"[EWIXP]: ", line)]
    t.check(r.returncode == 0 and not tags, "lintian: no error, warning or informational tag",
            "\n".join(tags[:30]) + f"\n(exit status {r.returncode})")
    t.check(not [x for x in tags if "unused-override" in x or "mismatched-override" in x],
            "every lintian override matches a tag it is meant for")
    # Every override has a reason: a comment right above it.
    for ovr in sorted(os.listdir(os.path.join(src, "debian"))):
        if not ovr.endswith("lintian-overrides"):
            continue
        prev = ""
        for line in open(os.path.join(src, "debian", ovr), encoding="utf-8"):
            line = line.rstrip("\n")
            if line.strip() and not line.startswith("#"):
                t.check(prev.startswith("#"), f"debian/{ovr}: override {line!r} has a reason above it")
            prev = line if line.strip() else ""
    print(f"{len([x for x in overridden if x.startswith('O:')])} overridden tag(s) shown above with O:")
    return t.report()


if __name__ == "__main__":
    sys.exit(main())

"""The Debian packages of the source tree, built once for the packaging tests.

`built_debs(src, build)` copies the source tree (the files git tracks plus
untracked ones it does not ignore, as they are now in the work tree) to
BUILD/debian-pkg/tree/provledger-exporter-VERSION and runs

    dpkg-buildpackage -us -uc -b      (DEB_BUILD_OPTIONS="nocheck parallel=2")

there, so the .debs land in BUILD/debian-pkg/tree. The result is reused
while the tree's content is unchanged (a sha256 over every copied file's path,
mode and bytes); a file lock makes the tests that need the packages
(debian-build, debian-lintian, debian-hardening, debian-autopkgtest,
deb-package) wait for one build instead of building in parallel, and a
test holds it (shared) while it uses the packages, so a changed tree is
rebuilt only when no test reads the old packages. ccache is
used when installed (PATH=/usr/lib/ccache, CCACHE_BASEDIR the copy, so a copy
in another place hits the same cache entries).

Never builds in the source tree itself: dpkg-buildpackage writes ../*.deb
next to the tree it builds, and debian/build, debian/tmp inside it.
"""
import fcntl
import glob
import hashlib
import os
import resource
import shutil
import subprocess
import time

import pkgtest as t

SOURCE = "provledger-exporter"
PACKAGES = ["provledger-exporter", "provledger-tools"]
BUILD_OPTIONS = "nocheck parallel=2"
_lock = None


def source_files(src):
    """Relative paths of the tree's files: git's view when src is a checkout
    (tracked + untracked not ignored), else every file outside build*/ and .git."""
    r = t.run(["git", "-C", src, "ls-files", "-z", "--cached", "--others", "--exclude-standard"])
    if r.returncode == 0 and r.stdout:
        files = [f for f in r.stdout.split("\0") if f]
    else:
        files = []
        for dirpath, dirnames, filenames in os.walk(src):
            rel = os.path.relpath(dirpath, src)
            if rel == ".":
                dirnames[:] = [d for d in dirnames if d != ".git" and not d.startswith("build")]
            files += [os.path.normpath(os.path.join(rel, f)) for f in filenames]
    # A tracked file deleted in the work tree is not part of the tree.
    return sorted(f for f in set(files) if os.path.isfile(os.path.join(src, f)) or os.path.islink(os.path.join(src, f)))


def tree_key(src, files):
    h = hashlib.sha256()
    h.update(BUILD_OPTIONS.encode())
    for f in files:
        p = os.path.join(src, f)
        h.update(f.encode() + b"\0")
        if os.path.islink(p):
            h.update(b"L" + os.readlink(p).encode() + b"\0")
            continue
        st = os.stat(p)
        h.update(b"%o\0" % (st.st_mode & 0o111))
        with open(p, "rb") as fh:
            h.update(hashlib.sha256(fh.read()).digest())
    return h.hexdigest()


def built_debs(src, build):
    """{package name: .deb path} for every binary package built (dbgsym
    included), plus the tree as key "_tree" and the build log as "_log".
    Calls t.fatal when the build fails."""
    version = t.project_version(src)
    out = os.path.join(build, "debian-pkg")
    os.makedirs(out, exist_ok=True)
    tree_parent = os.path.join(out, "tree")
    tree = os.path.join(tree_parent, f"{SOURCE}-{version}")
    log = os.path.join(out, "build.log")
    # Held (shared) until this process exits, so no other test rebuilds, and so
    # deletes, the packages while this one reads them.
    global _lock
    _lock = open(os.path.join(out, "lock"), "w")
    lock = _lock
    fcntl.flock(lock, fcntl.LOCK_EX)
    files = source_files(src)
    key = tree_key(src, files)
    stamp = os.path.join(out, "stamp")
    debs = sorted(glob.glob(os.path.join(tree_parent, "*.deb")))
    if os.path.exists(stamp) and open(stamp).read().strip() == key and debs:
        print(f"reusing the packages built from this tree ({out}; build took "
              f"{open(os.path.join(out, 'build-seconds')).read().strip()} s)")
    else:
        for p in (stamp, log):
            if os.path.exists(p):
                os.unlink(p)
        shutil.rmtree(tree_parent, ignore_errors=True)
        os.makedirs(tree)
        for f in files:
            s, d = os.path.join(src, f), os.path.join(tree, f)
            os.makedirs(os.path.dirname(d), exist_ok=True)
            shutil.copy2(s, d, follow_symlinks=False)
        env = dict(os.environ, DEB_BUILD_OPTIONS=BUILD_OPTIONS, LC_ALL="C.UTF-8")
        for k in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "DESTDIR"):
            env.pop(k, None)
        if os.path.isdir("/usr/lib/ccache"):
            env["PATH"] = "/usr/lib/ccache:" + env.get("PATH", "/usr/bin:/bin")
            env["CCACHE_BASEDIR"] = tree
            env["CCACHE_NOHASHDIR"] = "1"
            # debhelper (compat 13) points HOME into the tree, which would put
            # ccache's default cache there and throw it away with the tree.
            r = t.run(["ccache", "--get-config", "cache_dir"])
            if r.returncode == 0 and r.stdout.strip():
                env.setdefault("CCACHE_DIR", r.stdout.strip())
        print(f"building the Debian packages in {tree} (log: {log})", flush=True)
        t0 = time.monotonic()
        ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        with open(log, "w") as lf:
            r = subprocess.run(["dpkg-buildpackage", "-us", "-uc", "-b"], cwd=tree, env=env,
                               stdout=lf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        secs = time.monotonic() - t0
        ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
        if r.returncode != 0:
            t.fatal("dpkg-buildpackage -us -uc -b builds the packages", t.tail(log, 60))
        with open(os.path.join(out, "build-seconds"), "w") as f:
            f.write(f"{secs:.0f} (CPU {cpu:.0f})\n")
        with open(stamp, "w") as f:
            f.write(key + "\n")
        print(f"dpkg-buildpackage took {secs:.0f} s wall, {cpu:.0f} s CPU (user + system)")
        debs = sorted(glob.glob(os.path.join(tree_parent, "*.deb")))
    fcntl.flock(lock, fcntl.LOCK_SH)
    result = {}
    for d in debs:
        result[os.path.basename(d).split("_")[0]] = d
    result["_tree"] = tree
    result["_log"] = log
    return result


def deb_field(deb, field):
    return t.run(["dpkg-deb", "-f", deb, field]).stdout.strip()


def deb_files(deb):
    """Paths (absolute, as installed) of the regular files and symlinks in a .deb."""
    out = []
    for line in t.run(["dpkg-deb", "-c", deb]).stdout.splitlines():
        parts = line.split(None, 5)
        if len(parts) < 6 or line.startswith("d"):
            continue
        path = parts[5].split(" -> ")[0]
        out.append("/" + path[2:] if path.startswith("./") else path)
    return out


def installed_status(pkg):
    r = t.run(["dpkg-query", "-W", "-f", "${db:Status-Abbrev}", pkg])
    return r.stdout.strip() if r.returncode == 0 else ""


def purge(pkgs, env):
    """Purge whichever of pkgs is installed (or half-installed)."""
    present = [p for p in pkgs if installed_status(p) not in ("", "un")]
    if present:
        r = t.run(["dpkg", "--purge"] + present, env=env)
        print(f"cleanup: dpkg --purge {' '.join(present)}: status {r.returncode}")


def refuse_if_installed(pkgs):
    for p in pkgs:
        if installed_status(p) not in ("", "un"):
            t.fatal(f"{p} is not installed before the test",
                    f"status {installed_status(p)!r}; remove it first: dpkg --purge {p}")

#!/usr/bin/env python3
"""Checks packaging/docker/Dockerfile without a container engine.

Usage: test_docker_recipe.py SRC_ROOT EXPORTER_BINARY BUILD_ROOT

- structure: build stage FROM debian:bookworm running `meson setup
  --prefix=/usr` and `meson install --destdir`; runtime stage FROM
  debian:bookworm-slim with no -dev packages or compilers, numeric non-root
  USER, EXPOSE of the default port, exec-form ENTRYPOINT of the installed
  binary, OCI labels;
- runtime libraries: every library `ldd` resolves for the built binary belongs
  to a Debian package in the Depends closure of the runtime stage's
  `apt-get install` list (plus the base image's libc6/libgcc-s1/libstdc++6),
  and every directly NEEDED library's package is listed explicitly (or is base);
  dpkg-shlibdeps agrees (the Debian package's Depends come from it:
  debian/control's ${shlibs:Depends});
- build stage: every meson dependency() of the build dir is provided by the
  Depends closure of the build stage's `apt-get install` list.
"""
import json
import os
import re
import shlex
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pkgtest as t  # noqa: E402

# Packages debian:bookworm-slim already contains, so the recipe may rely on
# them without installing them. Each is part of the image because:
BASE_IMAGE_PACKAGES = {
    # glibc: Essential (libc-bin, dpkg and coreutils need it).
    "libc6": "glibc, present in every Debian image",
    # GCC runtime (libgcc_s.so.1): a dependency of libc6 itself.
    "libgcc-s1": "libgcc_s, a dependency of libc6",
    # C++ runtime: apt (in the slim image) is a C++ program and depends on it.
    "libstdc++6": "libstdc++, a dependency of apt, which the slim image ships",
}


# meson dependencies the build stage may lack, and why the result is the same.
OPTIONAL_DEPS = {
    "systemd": "packaging/meson.build reads only systemdsystemunitdir from systemd.pc and "
               "falls back to /lib/systemd/system for prefix /usr, the value systemd.pc has",
}


def parse_dockerfile(text):
    """[{'from': image, 'alias': name, 'instr': [(KEYWORD, args)]}], with ARG
    defaults declared before the first FROM substituted into FROM lines."""
    joined, buf = [], ""
    for raw in text.splitlines():
        s = raw.rstrip()
        if not buf and (not s.strip() or s.lstrip().startswith("#")):
            continue
        if buf and s.lstrip().startswith("#"):
            continue  # comment lines inside a continued instruction
        if s.endswith("\\"):
            buf += s[:-1] + " "
            continue
        joined.append((buf + s).strip())
        buf = ""
    if buf:
        joined.append(buf.strip())
    global_args, stages = {}, []
    for line in joined:
        kw, _, rest = line.partition(" ")
        kw = kw.upper()
        if kw == "ARG" and not stages:
            k, _, v = rest.strip().partition("=")
            global_args[k] = v
            continue
        if kw == "FROM":
            img = re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: global_args.get(m.group(1) or m.group(2), ""),
                         rest.strip())
            parts = img.split()
            alias = parts[2] if len(parts) >= 3 and parts[1].upper() == "AS" else None
            stages.append({"from": parts[0], "alias": alias, "instr": []})
            continue
        if stages:
            stages[-1]["instr"].append((kw, rest.strip()))
    return stages


def apt_installs(stage):
    """Package names from every `apt-get install` in the stage's RUN lines."""
    pkgs = []
    for kw, args in stage["instr"]:
        if kw != "RUN":
            continue
        for cmd in re.split(r"&&|;|\|\|", args):
            words = shlex.split(cmd)
            if len(words) >= 2 and words[0] in ("apt-get", "apt") and "install" in words:
                after = words[words.index("install") + 1:]
                pkgs += [w for w in after if not w.startswith("-")]
    return pkgs


def exec_form(args):
    try:
        v = json.loads(args)
        return v if isinstance(v, list) and all(isinstance(x, str) for x in v) else None
    except ValueError:
        return None


def main():
    src, exe, build = sys.argv[1], os.path.abspath(sys.argv[2]), sys.argv[3]
    dockerfile = os.path.join(src, "packaging", "docker", "Dockerfile")
    stages = parse_dockerfile(open(dockerfile, encoding="utf-8").read())
    defaults = t.config_hh_defaults(src)
    if not t.check(len(stages) >= 2, "Dockerfile is multi-stage", f"{len(stages)} stages"):
        return t.report()
    build_st, rt = stages[0], stages[-1]

    # 1. Structure.
    t.check(build_st["from"] == "debian:bookworm" and build_st["alias"],
            "build stage FROM debian:bookworm AS <name>", build_st["from"])
    t.check(rt["from"] == "debian:bookworm-slim", "runtime stage FROM debian:bookworm-slim", rt["from"])
    runs = " ".join(a for k, a in build_st["instr"] if k == "RUN")
    t.check(re.search(r"meson setup\b[^&]*--prefix=/usr", runs) is not None,
            "build stage runs `meson setup --prefix=/usr`")
    t.check(re.search(r"meson install\b[^&]*--destdir", runs) is not None,
            "build stage runs `meson install --destdir` (the layout the tests check)")
    copies = [a for k, a in rt["instr"] if k == "COPY"]
    t.check(copies and all(f"--from={build_st['alias']}" in c for c in copies),
            "runtime stage copies only from the build stage's install tree", str(copies))
    t.check(any("/usr/bin/provledger_exporter" in c for c in copies), "runtime stage copies the binary")
    user = [a for k, a in rt["instr"] if k == "USER"]
    t.check(user and re.fullmatch(r"[1-9][0-9]*(:[1-9][0-9]*)?", user[-1]) is not None,
            "runtime USER is numeric and non-root", str(user))
    expose = " ".join(a for k, a in rt["instr"] if k == "EXPOSE").split()
    t.check(str(defaults["port"]) in [e.split("/")[0] for e in expose],
            f"EXPOSE {defaults['port']} (the binary's default port)", str(expose))
    ep = [exec_form(a) for k, a in rt["instr"] if k == "ENTRYPOINT"]
    t.check(len(ep) == 1 and ep[0] == ["/usr/bin/provledger_exporter"],
            "ENTRYPOINT is exec form [\"/usr/bin/provledger_exporter\"]", str(ep))
    cmd = [exec_form(a) for k, a in rt["instr"] if k == "CMD"]
    t.check(not cmd or cmd[-1] is not None, "CMD (if any) is exec form")
    if cmd and cmd[-1]:
        cfgs = [a.split("=", 1)[1] for a in cmd[-1] if a.startswith("--config.file=")]
        t.check(cfgs and any(os.path.dirname(cfgs[0]) in c for c in copies),
                "CMD's --config.file is a path the image contains", str(cfgs))
    labels = " ".join(a for k, a in rt["instr"] if k == "LABEL")
    for lab in ("title", "description", "version", "revision", "licenses"):
        t.check(f"org.opencontainers.image.{lab}=" in labels, f"OCI label org.opencontainers.image.{lab}")

    rt_pkgs = apt_installs(rt)
    build_pkgs = apt_installs(build_st)
    t.check(bool(rt_pkgs), "runtime stage installs packages with apt-get", str(rt_pkgs))
    t.check(not [p for p in rt_pkgs if p.endswith("-dev") or p in ("g++", "gcc", "cmake", "meson")],
            "runtime stage installs no -dev packages or build tools", str(rt_pkgs))
    t.check(any("--no-install-recommends" in a for k, a in rt["instr"] if k == "RUN"),
            "runtime apt-get uses --no-install-recommends")
    t.check(any("rm -rf /var/lib/apt/lists" in a for k, a in rt["instr"] if k == "RUN"),
            "runtime stage removes apt lists")

    # 2. Runtime libraries of the built binary.
    rc, libs = t.ldd_paths(exe)
    t.check(rc == 0 and libs, f"ldd resolves {exe}", str(libs))
    missing = [s for s, p in libs if p is None]
    t.check(not missing, "ldd: no library 'not found'", str(missing))
    closure = t.depends_closure(set(rt_pkgs) | set(BASE_IMAGE_PACKAGES))
    owner_of = {}
    owners = t.dpkg_owners([p for _, p in libs if p])
    for soname, path in libs:
        if path is None:
            continue
        pkg = owners[path]
        owner_of[soname] = pkg
        t.check(pkg is not None and pkg in closure,
                f"{soname} ({pkg}) is provided by the runtime stage's packages",
                f"{path} -> {pkg}; runtime list {rt_pkgs}")
    listed = set(rt_pkgs) | set(BASE_IMAGE_PACKAGES)
    for soname in t.needed_sonames(exe):
        pkg = owner_of.get(soname)
        t.check(pkg in listed, f"directly needed {soname} ({pkg}) is listed explicitly or in the base image")
    for p in rt_pkgs:
        t.check(p in owner_of.values() or p in BASE_IMAGE_PACKAGES,
                f"runtime package {p} provides a library the binary loads",
                "unused packages bloat the image")

    with t.tempdir() as d:
        os.makedirs(os.path.join(d, "debian"))
        with open(os.path.join(d, "debian", "control"), "w") as f:
            f.write("Source: x\n\nPackage: x\nArchitecture: any\n")
        r = t.run(["dpkg-shlibdeps", "-O", exe], cwd=d)
        m = re.search(r"shlibs:Depends=(.*)", r.stdout)
        if t.check(m is not None, "dpkg-shlibdeps computes the binary's Depends", r.stderr[-2000:]):
            _, provides = t.installed_depends()
            shl = {re.split(r"[\s(]", a.strip())[0] for a in re.split(r"[,|]", m.group(1))}
            # A virtual name (libspdlog1.10-fmt9) counts when a listed package provides it.
            unmet = {p for p in shl if p not in listed and not set(provides.get(p, [])) & listed}
            t.check(shl and not unmet, "dpkg-shlibdeps' packages are all in the runtime stage or base image",
                    f"missing {sorted(unmet)}")

    # 3. The build stage provides every meson dependency of the build dir.
    r = t.run(["meson", "introspect", "--dependencies", build])
    deps = json.loads(r.stdout) if r.returncode == 0 else []
    t.check(bool(deps), "meson introspect --dependencies lists the build's dependencies", r.stderr)
    bclosure = t.depends_closure(set(build_pkgs))
    for dep in deps:
        name = dep["name"]
        if name == "threads":
            continue
        if name in OPTIONAL_DEPS:
            r = t.run(["pkg-config", "--variable=systemdsystemunitdir", "systemd"])
            t.check(r.stdout.strip() == "/lib/systemd/system",
                    f"optional dependency {name} is not needed in the build stage: "
                    f"{OPTIONAL_DEPS[name]}", r.stdout)
            continue
        files = [a for a in dep.get("link_args", []) if a.startswith("/") and os.path.exists(a)]
        pc = t.run(["pkg-config", "--path", name])
        if pc.returncode == 0 and pc.stdout.strip():
            files.append(pc.stdout.strip())
        owners = set(t.dpkg_owners(files).values())
        t.check(owners and None not in owners and owners <= bclosure,
                f"build stage provides dependency {name} ({', '.join(sorted(map(str, owners)))})",
                f"files {files}; build list {build_pkgs}")
    return t.report()


if __name__ == "__main__":
    sys.exit(main())

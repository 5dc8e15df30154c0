"""Shared helpers for the packaging tests (suite 'packaging').

Python 3 stdlib plus python3-yaml (Debian package python3-yaml) for the
manifest tests. Every check records a pass or a failure; a test script ends
with `sys.exit(report())`, which prints a summary and returns 1 if any check
failed. Processes a test starts are stopped by pid in `finally` blocks.
"""
import contextlib
import gzip
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

_failures = []
_passes = 0


def check(cond, what, detail=""):
    """Record one check; returns cond so callers can branch on it."""
    global _passes
    if cond:
        _passes += 1
        print(f"ok   {what}")
    else:
        _failures.append(what)
        print(f"FAIL {what}" + (f"\n     {detail}" if detail else ""))
    sys.stdout.flush()
    return bool(cond)


def fatal(what, detail=""):
    """A failure after which the test cannot go on."""
    check(False, what, detail)
    sys.exit(report())


def report():
    print(f"\n{_passes} checks passed, {len(_failures)} failed")
    for f in _failures:
        print(f"  failed: {f}")
    return 1 if _failures else 0


def sigterm_raises():
    """meson test stops a timed-out test with SIGTERM: turn it into SystemExit
    so `finally` blocks (kill the exporter, purge the package) still run."""
    def handler(signum, frame):
        raise SystemExit(f"terminated by signal {signum}")
    signal.signal(signal.SIGTERM, handler)


def need_yaml():
    try:
        import yaml  # noqa: F401
    except ImportError:
        fatal("python3-yaml importable",
              "install it: apt-get install python3-yaml (scripts/test installs it)")
    import yaml
    return yaml


def load_yaml_docs(path):
    """All documents of a (multi-document) YAML file, None documents dropped."""
    yaml = need_yaml()
    with open(path, encoding="utf-8") as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


def run(cmd, **kw):
    """subprocess.run with text output captured; never raises on exit status."""
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    return subprocess.run(cmd, **kw)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url, timeout=5.0, headers=None):
    """(status, headers dict lower-cased, body bytes); status 0 on connection error."""
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            body = r.read()
            hdrs = {k.lower(): v for k, v in r.headers.items()}
            if hdrs.get("content-encoding") == "gzip":
                body = gzip.decompress(body)
            return r.status, hdrs, body
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()
    except (urllib.error.URLError, OSError):
        return 0, {}, b""


def wait_http_ok(url, timeout=20.0, proc=None):
    """Poll until url answers 200; False on timeout or when proc exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        status, _, _ = http_get(url, timeout=2.0)
        if status == 200:
            return True
        time.sleep(0.1)
    return False


def stop_process(proc, timeout=10.0):
    """SIGTERM, then SIGKILL; returns the exit status (or None if it had to be killed)."""
    if proc is None or proc.poll() is not None:
        return None if proc is None else proc.returncode
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return None


def tail(path, n=30):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError:
        return ""


@contextlib.contextmanager
def tempdir(prefix="pkgtest-"):
    d = tempfile.mkdtemp(prefix=prefix)
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


def minimal_config(path, ledger_port, extra=""):
    """A valid config with one ledger on 127.0.0.1:<ledger_port>, where nothing
    listens: the exporter must start and serve with its database down."""
    with open(path, "w", encoding="utf-8") as f:
        f.write(
            "poll_interval: 1s\n"
            "ledgers:\n"
            "  - name: down\n"
            "    region: test\n"
            f"    dsn: \"host=127.0.0.1 port={ledger_port} dbname=ledger user=nobody\"\n"
            "    connect_timeout: 1s\n" + extra)


def config_hh_defaults(src_root):
    """Defaults of config::Web from src/config/config.hh (the fixed contract)."""
    text = open(os.path.join(src_root, "src/config/config.hh"), encoding="utf-8").read()
    m1 = re.search(r'listen_address\s*=\s*"([^"]*)"', text)
    m2 = re.search(r'telemetry_path\s*=\s*"([^"]*)"', text)
    if not m1 or not m2:
        fatal("config.hh declares Web::listen_address and Web::telemetry_path defaults")
    port = int(m1.group(1).rsplit(":", 1)[1])
    return {"listen_address": m1.group(1), "port": port, "telemetry_path": m2.group(1)}


def project_version(src_root):
    text = open(os.path.join(src_root, "meson.build"), encoding="utf-8").read()
    m = re.search(r"project\([^)]*?version\s*:\s*'([^']+)'", text, re.S)
    if not m:
        fatal("meson.build declares a project version")
    return m.group(1)


# ----------------------------------------------------------- dpkg queries

_owner_cache = {}


def _spellings(path):
    cands = [path, os.path.realpath(path)]
    for p in list(cands):
        if p.startswith("/usr/lib/") or p.startswith("/usr/lib64/"):
            cands.append(p[len("/usr"):])
        elif p.startswith("/lib/") or p.startswith("/lib64/"):
            cands.append("/usr" + p)
    return list(dict.fromkeys(cands))


def dpkg_owners(paths):
    """{path: package or None}: the package owning each path (arch qualifier
    stripped), trying the /usr-merged spellings Debian 12 uses (/lib vs
    /usr/lib). One dpkg-query call for all paths."""
    todo = [c for p in paths for c in _spellings(p) if c not in _owner_cache]
    if todo:
        r = run(["dpkg-query", "-S"] + todo)
        found = {}
        for line in r.stdout.splitlines():
            pkgs, _, owned = line.partition(": ")
            if "diversion" in pkgs or owned.strip() not in todo:
                continue
            found[owned.strip()] = pkgs.split(",")[0].strip().split(":")[0]
        for c in todo:
            _owner_cache[c] = found.get(c)
    out = {}
    for p in paths:
        out[p] = next((_owner_cache[c] for c in _spellings(p) if _owner_cache.get(c)), None)
    return out


def dpkg_owner(path):
    return dpkg_owners([path])[path]


def installed_depends():
    """{package: [[alternative, ...], ...]} for every installed package, from
    Depends and Pre-Depends, plus {virtual: [providers]}."""
    r = run(["dpkg-query", "-W", "-f",
             "${Package}\t${db:Status-Abbrev}\t${Depends}\t${Pre-Depends}\t${Provides}\n"])
    deps, provides = {}, {}
    for line in r.stdout.splitlines():
        pkg, status, dep, predep, prov = (line.split("\t") + [""] * 5)[:5]
        if not status.startswith("ii"):
            continue
        groups = []
        for field in (dep, predep):
            for g in filter(None, (x.strip() for x in field.split(","))):
                groups.append([re.split(r"[\s(:]", a.strip())[0] for a in g.split("|")])
        deps[pkg] = groups
        for p in filter(None, (x.strip() for x in prov.split(","))):
            provides.setdefault(re.split(r"[\s(:]", p)[0], []).append(pkg)
    return deps, provides


def depends_closure(roots):
    """Installed packages reachable from roots through Depends/Pre-Depends."""
    deps, provides = installed_depends()
    seen, todo = set(), list(roots)
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        for group in deps.get(p, []):
            for alt in group:
                for cand in [alt] + provides.get(alt, []):
                    if cand in deps:
                        todo.append(cand)
    return seen


def ldd_paths(exe):
    """[(soname, resolved path)] from ldd; path None for 'not found'."""
    r = run(["ldd", exe])
    out = []
    for line in r.stdout.splitlines():
        line = line.strip()
        m = re.match(r"(\S+) => (\S+) \(0x", line)
        if m:
            out.append((m.group(1), m.group(2)))
        elif "=> not found" in line:
            out.append((line.split()[0], None))
        else:
            m = re.match(r"(/\S+) \(0x", line)
            if m:
                out.append((os.path.basename(m.group(1)), m.group(1)))
    return r.returncode, out


def needed_sonames(exe):
    r = run(["readelf", "-d", exe])
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", r.stdout)


# ----------------------------------------------------------- mini kustomize

class KustomizeError(Exception):
    pass


KUSTOMIZE_FIELDS = {"apiVersion", "kind", "resources", "configMapGenerator",
                    "images", "labels", "patches", "namespace"}


def _within(root, path):
    root = os.path.realpath(root)
    path = os.path.realpath(path)
    return path == root or path.startswith(root + os.sep)


def _json_pointer(doc, pointer):
    parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]
    parent = doc
    for p in parts[:-1]:
        parent = parent[int(p)] if isinstance(parent, list) else parent[p]
    return parent, parts[-1]


def _json_patch(doc, ops):
    for op in ops:
        kind = op["op"]
        if kind == "move":
            parent, key = _json_pointer(doc, op["from"])
            value = parent.pop(int(key)) if isinstance(parent, list) else parent.pop(key)
            _json_patch(doc, [{"op": "add", "path": op["path"], "value": value}])
        elif kind in ("add", "replace"):
            parent, key = _json_pointer(doc, op["path"])
            if isinstance(parent, list):
                if key == "-":
                    parent.append(op["value"])
                elif kind == "add":
                    parent.insert(int(key), op["value"])
                else:
                    parent[int(key)] = op["value"]
            else:
                if kind == "replace" and key not in parent:
                    raise KustomizeError(f"replace: {op['path']} does not exist")
                parent[key] = op["value"]
        elif kind == "remove":
            parent, key = _json_pointer(doc, op["path"])
            if isinstance(parent, list):
                parent.pop(int(key))
            elif key in parent:
                del parent[key]
            else:
                raise KustomizeError(f"remove: {op['path']} does not exist")
        else:
            raise KustomizeError(f"unsupported JSON patch op {kind!r}")


def image_name(ref):
    """Image reference without tag or digest ("host:5000/a/b:1" -> "host:5000/a/b")."""
    ref = ref.split("@", 1)[0]
    slash = ref.rfind("/")
    colon = ref.rfind(":")
    return ref[:colon] if colon > slash else ref


def _pod_containers(doc):
    spec = doc.get("spec", {})
    if doc.get("kind") == "CronJob":
        spec = spec.get("jobTemplate", {}).get("spec", {})
    spec = spec.get("template", {}).get("spec", {})
    return spec.get("initContainers", []) + spec.get("containers", [])


def kustomize(path, _stack=()):
    """Resolve a kustomization directory the way `kubectl kustomize` does, for
    the subset of features this repository uses (resources, configMapGenerator,
    images, labels, JSON 6902 patches, namespace). Raises KustomizeError for a
    missing file, a file outside the kustomization root, an unknown field or a
    patch that does not apply. Generated ConfigMaps keep their base name (no
    hash suffix) and carry the annotation x-generated: "true"."""
    yaml = need_yaml()
    path = os.path.realpath(path)
    if path in _stack:
        raise KustomizeError(f"kustomization cycle at {path}")
    kfile = next((os.path.join(path, n) for n in ("kustomization.yaml", "kustomization.yml",
                                                 "Kustomization")
                  if os.path.isfile(os.path.join(path, n))), None)
    if kfile is None:
        raise KustomizeError(f"{path}: no kustomization.yaml")
    with open(kfile, encoding="utf-8") as f:
        k = yaml.safe_load(f) or {}
    unknown = set(k) - KUSTOMIZE_FIELDS
    if unknown:
        raise KustomizeError(f"{kfile}: fields this checker does not model: {sorted(unknown)}")
    if k.get("apiVersion") != "kustomize.config.k8s.io/v1beta1" or k.get("kind") != "Kustomization":
        raise KustomizeError(f"{kfile}: apiVersion/kind must be kustomize.config.k8s.io/v1beta1 Kustomization")
    docs = []
    for r in k.get("resources", []):
        p = os.path.join(path, r)
        if os.path.isdir(p):
            docs.extend(kustomize(p, _stack + (path,)))
        elif os.path.isfile(p):
            if not _within(path, p):
                raise KustomizeError(f"{kfile}: resource file {r} is outside the kustomization root")
            docs.extend(load_yaml_docs(p))
        else:
            raise KustomizeError(f"{kfile}: resource {r} does not exist")
    for g in k.get("configMapGenerator", []):
        data = {}
        for spec in g.get("files", []):
            key, sep, rel = spec.partition("=")
            if not sep:
                key, rel = os.path.basename(spec), spec
            p = os.path.join(path, rel)
            if not os.path.isfile(p):
                raise KustomizeError(f"{kfile}: configMapGenerator file {rel} does not exist")
            if not _within(path, p):
                raise KustomizeError(f"{kfile}: configMapGenerator file {rel} is outside the root")
            with open(p, encoding="utf-8") as f:
                data[key] = f.read()
        for lit in g.get("literals", []):
            key, _, value = lit.partition("=")
            data[key] = value
        labels = dict(g.get("options", {}).get("labels", {}))
        docs.append({"apiVersion": "v1", "kind": "ConfigMap",
                     "metadata": {"name": g["name"], "labels": labels,
                                  "annotations": {"x-generated": "true"}},
                     "data": data})
    for p in k.get("patches", []):
        if "path" in p:
            pp = os.path.join(path, p["path"])
            if not os.path.isfile(pp) or not _within(path, pp):
                raise KustomizeError(f"{kfile}: patch file {p['path']} missing or outside the root")
            with open(pp, encoding="utf-8") as f:
                ops = yaml.safe_load(f)
        else:
            ops = yaml.safe_load(p["patch"])
        if not isinstance(ops, list):
            raise KustomizeError(f"{kfile}: only JSON 6902 patches (a list of ops) are modelled")
        t = p.get("target", {})
        hits = 0
        for d in docs:
            group, _, version = d.get("apiVersion", "").rpartition("/")
            if (t.get("kind", d["kind"]) == d["kind"]
                    and t.get("name", d["metadata"]["name"]) == d["metadata"]["name"]
                    and t.get("group", group) == group and t.get("version", version) == version):
                try:
                    _json_patch(d, ops)
                except (KeyError, IndexError, ValueError) as e:
                    raise KustomizeError(f"{kfile}: patch does not apply: {e!r}")
                hits += 1
        if hits == 0:
            raise KustomizeError(f"{kfile}: patch target {t} matches no resource")
    for img in k.get("images", []):
        hits = 0
        for d in docs:
            for c in _pod_containers(d):
                if image_name(c.get("image", "")) == img["name"]:
                    c["image"] = f"{img.get('newName', img['name'])}:{img['newTag']}" \
                        if "newTag" in img else img.get("newName", img["name"])
                    hits += 1
        if hits == 0:
            raise KustomizeError(f"{kfile}: images entry {img['name']} matches no container")
    for entry in k.get("labels", []):
        if entry.get("includeSelectors") or entry.get("includeTemplates"):
            raise KustomizeError(f"{kfile}: labels with selectors/templates are not modelled")
        for d in docs:
            d.setdefault("metadata", {}).setdefault("labels", {}).update(entry["pairs"])
    if "namespace" in k:
        for d in docs:
            d["metadata"]["namespace"] = k["namespace"]
    return docs

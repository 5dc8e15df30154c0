#!/usr/bin/env python3
"""Runs the built binary the way packaging/kubernetes/base runs it in a Pod.

Usage: test_kubernetes_pod.py SRC_ROOT EXPORTER_BINARY      (needs root)

The base kustomization is resolved (pkgtest.kustomize); then, inside a private
mount and network namespace (unshare; only loopback, so the default port
cannot collide with anything on the machine):
- the ConfigMap, the Secret (defaultMode, fsGroup) and the emptyDir volumes are
  mounted at the container's mountPaths, and every other mount is made
  read-only (readOnlyRootFilesystem);
- the binary runs with exactly the container's args, as uid/gid 65532, with no
  capabilities and no_new_privs (runAsUser, drop ALL,
  allowPrivilegeEscalation: false);
- the startup, readiness and liveness probes' paths answer 200 on the
  container port, although the ledger database is unreachable; the
  PodMonitor's path serves the exposition with the ledger's
  provledger_exporter_source_up at 0; log lines follow --log.format;
- SIGTERM (Pod deletion) stops it with status 0.
"""
import json
import os
import shutil
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import pkgtest as t  # noqa: E402

EXPORTER = "provledger-exporter"
PSEUDO = ("/proc", "/sys", "/dev")


# ------------------------------------------------------------------ outside

def prepare(src, exe, workdir):
    """Resolve the manifests and lay out the volumes; returns the plan."""
    yaml = t.need_yaml()
    docs = t.kustomize(os.path.join(src, "packaging", "kubernetes", "base"))
    mon = t.kustomize(os.path.join(src, "packaging", "kubernetes", "monitoring"))
    dep = next(d for d in docs if d["kind"] == "Deployment")
    pod = dep["spec"]["template"]["spec"]
    ex = next(c for c in pod.get("initContainers", []) + pod["containers"] if c["name"] == EXPORTER)
    by_name = {(d["kind"], d["metadata"]["name"]): d for d in docs}
    sc = ex.get("securityContext", {})
    fsgroup = pod.get("securityContext", {}).get("fsGroup")
    os.chmod(workdir, 0o755)
    mounts = []
    for vm in ex.get("volumeMounts", []):
        vol = next(v for v in pod["volumes"] if v["name"] == vm["name"])
        vdir = os.path.join(workdir, "volumes", vm["name"])
        os.makedirs(vdir)
        if "configMap" in vol:
            cm = by_name[("ConfigMap", vol["configMap"]["name"])]
            mode = vol["configMap"].get("defaultMode", 0o644)
            for k, v in cm["data"].items():
                p = os.path.join(vdir, k)
                with open(p, "w", encoding="utf-8") as f:
                    f.write(v)
                os.chmod(p, mode)
        elif "secret" in vol:
            sec = by_name[("Secret", vol["secret"]["secretName"])]
            data = dict(sec.get("stringData", {}))
            mode = vol["secret"].get("defaultMode", 0o644)
            items = vol["secret"].get("items") or [{"key": k, "path": k} for k in data]
            for it in items:
                p = os.path.join(vdir, it["path"])
                with open(p, "w", encoding="utf-8") as f:
                    f.write(data[it["key"]])
                os.chmod(p, it.get("mode", mode))
                if fsgroup is not None:
                    os.chown(p, 0, fsgroup)
        elif "emptyDir" in vol:
            os.chmod(vdir, 0o777)
        else:
            t.fatal(f"volume {vm['name']} has a type this test models", str(vol))
        os.chmod(vdir, 0o755 if "emptyDir" not in vol else 0o777)
        mounts.append({"src": vdir, "target": vm["mountPath"], "ro": bool(vm.get("readOnly"))})
    bindir = os.path.join(workdir, "bin")
    os.makedirs(bindir)
    os.chmod(bindir, 0o755)
    shutil.copy2(exe, os.path.join(bindir, "provledger_exporter"))
    cfg_arg = next(a.split("=", 1)[1] for a in ex["args"] if a.startswith("--config.file="))
    cfg_vm = max((m for m in mounts if cfg_arg.startswith(m["target"].rstrip("/") + "/")),
                 key=lambda m: len(m["target"]))
    cfg = yaml.safe_load(open(os.path.join(cfg_vm["src"], os.path.relpath(cfg_arg, cfg_vm["target"]))))
    port = next(p["containerPort"] for p in ex["ports"] if p["name"] == "metrics")
    pm = next(d for d in mon if d["kind"] == "PodMonitor")
    probes = {k: ex[k]["httpGet"]["path"] for k in ("startupProbe", "readinessProbe", "livenessProbe")
              if k in ex}
    log_format = next((a.split("=", 1)[1] for a in ex["args"] if a.startswith("--log.format=")), "logfmt")
    return {
        "exe": os.path.join(bindir, "provledger_exporter"),
        "args": ex["args"],
        "uid": sc["runAsUser"], "gid": sc.get("runAsGroup", sc["runAsUser"]),
        "groups": [fsgroup] if fsgroup is not None else [],
        "mounts": mounts, "workdir": workdir, "port": port, "probes": probes,
        "metrics_path": pm["spec"]["podMetricsEndpoints"][0].get("path", "/metrics"),
        "ledgers": [lg["name"] for lg in cfg["ledgers"]],
        "log_format": log_format,
    }


# ------------------------------------------------------------------- inside

def loopback_up():
    """`ip link set lo up` without iproute2: SIOCGIFFLAGS / SIOCSIFFLAGS."""
    import fcntl
    import socket
    import struct
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        ifr = struct.pack("16sh", b"lo", 0)
        flags = struct.unpack("16sh", fcntl.ioctl(s, 0x8913, ifr))[1]
        fcntl.ioctl(s, 0x8914, struct.pack("16sh", b"lo", flags | 0x1))


def sh(*cmd):
    r = t.run(list(cmd))
    if r.returncode != 0:
        t.fatal(" ".join(cmd), r.stderr)


def mount_points():
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            parts = line.split()
            mp = parts[4].replace("\\040", " ")
            out.append((mp, parts[5].split(",")))
    return out


def setup_mounts(plan):
    sh("mount", "--make-rprivate", "/")
    for i, m in enumerate(plan["mounts"]):
        target = m["target"]
        if not os.path.isdir(target):
            # Create the mount point in an overlay of its deepest existing
            # ancestor, so the host's directories stay untouched.
            anc = os.path.dirname(target)
            while not os.path.isdir(anc):
                anc = os.path.dirname(anc)
            upper = os.path.join(plan["workdir"], "ovl", str(i), "upper")
            work = os.path.join(plan["workdir"], "ovl", str(i), "work")
            os.makedirs(upper)
            os.makedirs(work)
            sh("mount", "-t", "overlay", "overlay", "-o",
               f"lowerdir={anc},upperdir={upper},workdir={work}", anc)
            os.makedirs(target)
        sh("mount", "--bind", m["src"], target)
    writable = {m["target"] for m in plan["mounts"] if not m["ro"]}
    for mp, opts in mount_points():
        if mp in writable or mp.startswith(PSEUDO) or "ro" in opts:
            continue
        r = t.run(["mount", "-o", "remount,bind,ro", mp])
        if mp == "/" or mp in {m["target"] for m in plan["mounts"]}:
            t.check(r.returncode == 0, f"read-only remount of {mp}", r.stderr)
    probe = os.path.join(os.path.dirname(plan["exe"]), ".rw-probe")
    try:
        open(probe, "w").close()
        os.unlink(probe)
        t.check(False, "root filesystem is read-only inside the simulated Pod")
    except OSError:
        t.check(True, "root filesystem is read-only inside the simulated Pod")


def inside(plan_path):
    t.sigterm_raises()
    plan = json.load(open(plan_path))
    loopback_up()
    setup_mounts(plan)
    base = f"http://127.0.0.1:{plan['port']}"
    cmd = ["setpriv", f"--reuid={plan['uid']}", f"--regid={plan['gid']}",
           "--groups=" + ",".join(map(str, plan["groups"])) if plan["groups"] else "--clear-groups",
           "--no-new-privs", "--inh-caps=-all", "--bounding-set=-all", "--",
           plan["exe"]] + plan["args"]
    lines, proc = [], None
    try:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd="/",
                                env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/"})
        reader = threading.Thread(target=lambda: lines.extend(
            proc.stdout.read().decode("utf-8", "replace").splitlines()), daemon=True)
        reader.start()
        startup = plan["probes"].get("startupProbe", plan["probes"]["readinessProbe"])
        ok = t.wait_http_ok(base + startup, 30, proc)
        if not t.check(ok, f"startup probe {startup} answers 200 on :{plan['port']} (default port)",
                       f"exporter status {proc.poll()}"):
            return
        for k, path in plan["probes"].items():
            status = t.http_get(base + path)[0]
            t.check(status == 200, f"{k} {path}: 200 with the ledger database unreachable", str(status))
        deadline = time.monotonic() + 40
        want = [f'provledger_exporter_source_up{{source="{n}"}} 0' for n in plan["ledgers"]]
        status, hdrs, body = 0, {}, b""
        while time.monotonic() < deadline:
            status, hdrs, body = t.http_get(base + plan["metrics_path"])
            text = body.decode("utf-8", "replace")
            if status == 200 and all(w in text for w in want):
                break
            time.sleep(0.5)
        t.check(status == 200, f"PodMonitor path {plan['metrics_path']} serves metrics", str(status))
        t.check("version=0.0.4" in hdrs.get("content-type", ""), "exposition Content-Type has version=0.0.4",
                hdrs.get("content-type"))
        t.check(all(w in body.decode("utf-8", "replace") for w in want),
                "ledger source reported down (source_up 0), not a failed scrape", str(want))
        with open(f"/proc/{proc.pid}/status") as f:
            st = dict(l.split(":", 1) for l in f.read().splitlines() if ":" in l)
        t.check(st["Uid"].split()[0] == str(plan["uid"]) and st["Gid"].split()[0] == str(plan["gid"]),
                f"runs as {plan['uid']}:{plan['gid']}", st["Uid"] + " / " + st["Gid"])
        t.check(st.get("NoNewPrivs", "").strip() == "1" and int(st["CapEff"], 16) == 0
                and int(st["CapBnd"], 16) == 0, "no capabilities, no_new_privs")
        t.check(proc.poll() is None, "still running (no write to the read-only root needed)")
    finally:
        rc = t.stop_process(proc, timeout=20)
        if proc is not None:
            reader.join(timeout=5)
    t.check(rc == 0, "SIGTERM stops it with status 0", f"status {rc}")
    logs = [l for l in lines if l.strip()]
    if plan["log_format"] == "json":
        bad = []
        for l in logs:
            try:
                if not isinstance(json.loads(l), dict):
                    bad.append(l)
            except ValueError:
                bad.append(l)
        t.check(logs and not bad, "every log line is a JSON object (--log.format=json)", "\n".join(bad[:5]))
    print("exporter output (last lines):\n  " + "\n  ".join(logs[-8:]))
    return


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--inside":
        inside(sys.argv[2])
        return t.report()
    t.sigterm_raises()
    src, exe = sys.argv[1], os.path.abspath(sys.argv[2])
    if os.geteuid() != 0:
        t.fatal("runs as root (needs unshare for mount/network namespaces)")
    for tool in ("unshare", "setpriv", "mount"):
        if not shutil.which(tool):
            t.fatal(f"{tool} is installed", "packages util-linux, mount")
    with t.tempdir("k8spod-") as d:
        plan = prepare(src, exe, d)
        plan_path = os.path.join(d, "plan.json")
        with open(plan_path, "w") as f:
            json.dump(plan, f)
        proc = subprocess.Popen(["unshare", "--mount", "--net", "--fork", "--",
                                 sys.executable, os.path.abspath(__file__), "--inside", plan_path])
        try:
            rc = proc.wait(timeout=180)
        finally:
            t.stop_process(proc)
        t.check(rc == 0, "all checks inside the simulated Pod passed", f"status {rc}")
    return t.report()


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Packaging of the ramp controller (docs/ramp.md, "Running it").

Usage: test_ramp_packaging.py SRC_ROOT RAMP_BINARY

- systemd: provledger_ramp.service and .timer pass `systemd-analyze verify` without a
  warning (on copies whose ExecStart names the built binary), and a broken copy does not;
  the service is a hardened oneshot `--once` run (exposure <= 2.5 by `systemd-analyze
  security --offline`); the timer starts that service; ARGS uses only flags the binary
  accepts; the StateDirectory is where the example plan puts flags.spec and the journal;
  the sysusers.d entry creates the unit's User;
- Kubernetes: packaging/kubernetes/ramp resolves (kustomize subset of pkgtest); the CronJob
  forbids concurrent runs, runs `--once` with a plan the binary accepts (`--check` on the
  generated ConfigMap's plan), non-root with a read-only root file system, and mounts the
  directories of the plan's flags_file, journal and metrics_textfile;
- Docker: the `ramp` stage of packaging/docker/Dockerfile installs exactly the packages
  that own the libraries `ldd` shows for the built provledger_ramp (plus the base image's)
  and copies the binary its ENTRYPOINT names.
"""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pkgtest as t  # noqa: E402
import test_docker_recipe as docker  # noqa: E402
import test_systemd_unit as unitlib  # noqa: E402

MAX_EXPOSURE = 2.5


def accepted_flags(exe):
    r = t.run([exe, "--help"])
    return set(re.findall(r"(--[a-z][a-z-]*)", r.stdout))


def main():
    src, exe = sys.argv[1], os.path.abspath(sys.argv[2])
    yaml = t.need_yaml()
    sd = os.path.join(src, "packaging", "systemd")
    flags_ok = accepted_flags(exe)
    t.check({"--plan", "--once", "--dry-run", "--git-dir"} <= flags_ok, "provledger_ramp --help lists its flags",
            str(flags_ok))
    example = os.path.join(src, "config", "ramp.example.yml")
    plan = yaml.safe_load(open(example, encoding="utf-8"))

    # ------------------------------------------------------------------ systemd
    svc_text = open(os.path.join(sd, "provledger_ramp.service"), encoding="utf-8").read()
    tmr_text = open(os.path.join(sd, "provledger_ramp.timer"), encoding="utf-8").read()
    for name, text in (("service", svc_text), ("timer", tmr_text)):
        bad = [raw for raw in text.splitlines()
               if raw.strip() and raw.strip()[0] not in "#;[" and re.search(r"\s#", raw)]
        t.check(not bad, f"{name}: comments only on their own lines", str(bad))
    svc = unitlib.parse_unit(svc_text)
    tmr = unitlib.parse_unit(tmr_text)

    def val(sec, section, key):
        return unitlib.values(sec, section, key)
    t.check(val(svc, "Service", "Type") == ["oneshot"], "service is Type=oneshot")
    exec_start = val(svc, "Service", "ExecStart")
    t.check(exec_start == ["/usr/bin/provledger_ramp --once $ARGS"], "ExecStart runs --once with $ARGS", str(exec_start))
    args = [v.split("=", 1)[1] for v in val(svc, "Service", "Environment") if v.startswith("ARGS=")]
    t.check(len(args) == 1, "one default ARGS")
    for a in (args[0].split() if args else []):
        t.check(a.split("=", 1)[0] in flags_ok, f"ARGS flag {a} is accepted by the binary")
    for key, want in (("NoNewPrivileges", "yes"), ("ProtectSystem", "strict"), ("PrivateTmp", "yes"),
                      ("CapabilityBoundingSet", ""), ("StateDirectory", "provledger_ramp")):
        t.check(want in val(svc, "Service", key), f"service {key}={want}", str(val(svc, "Service", key)))
    state_dir = "/var/lib/" + (val(svc, "Service", "StateDirectory") or ["?"])[0]
    for key in ("flags_file", "journal", "metrics_textfile"):
        t.check(os.path.dirname(plan[key]) == state_dir,
                f"example plan's {key} is in the unit's StateDirectory {state_dir}", plan[key])
    t.check(val(tmr, "Timer", "Unit") == ["provledger_ramp.service"], "timer starts provledger_ramp.service")
    t.check(bool(val(tmr, "Timer", "OnUnitActiveSec")), "timer repeats (OnUnitActiveSec)")
    t.check("timers.target" in val(tmr, "Install", "WantedBy"), "timer WantedBy=timers.target")
    users = open(os.path.join(sd, "provledger_ramp.sysusers"), encoding="utf-8").read()
    user = (val(svc, "Service", "User") or ["?"])[0]
    t.check(re.search(rf"^u {re.escape(user)} ", users, re.M) is not None,
            f"sysusers.d creates the unit's User {user}")

    with t.tempdir() as d:
        def write(svc_body):
            with open(os.path.join(d, "provledger_ramp.service"), "w") as f:
                f.write(svc_body.replace("/usr/bin/provledger_ramp", exe))
            with open(os.path.join(d, "provledger_ramp.timer"), "w") as f:
                f.write(tmr_text)
        write(svc_text)
        rc, out = unitlib.verify(os.path.join(d, "provledger_ramp.service"), d)
        rc2, out2 = unitlib.verify(os.path.join(d, "provledger_ramp.timer"), d)
        t.check(rc == 0 and not out, "systemd-analyze verify provledger_ramp.service: clean", out)
        t.check(rc2 == 0 and not out2, "systemd-analyze verify provledger_ramp.timer: clean", out2)
        write(svc_text.replace("Type=oneshot", "Type=oneshot-please"))
        rc, out = unitlib.verify(os.path.join(d, "provledger_ramp.service"), d)
        t.check(rc != 0 or out, "verify catches a broken copy", out)
        write(svc_text)
        r = t.run(["systemd-analyze", "security", "--offline=yes", "provledger_ramp.service"], cwd=d,
                  env=dict(os.environ, SYSTEMD_LOG_COLOR="0", SYSTEMD_PAGER=""))
        m = re.search(r"Overall exposure level for \S+: ([0-9.]+)", r.stdout + r.stderr)
        t.check(m is not None and float(m.group(1)) <= MAX_EXPOSURE,
                f"systemd-analyze security exposure <= {MAX_EXPOSURE}", (r.stdout + r.stderr)[-400:])

    # --------------------------------------------------------------- Kubernetes
    docs = t.kustomize(os.path.join(src, "packaging", "kubernetes", "ramp"))
    cron = [d for d in docs if d.get("kind") == "CronJob"]
    cms = [d for d in docs if d.get("kind") == "ConfigMap"]
    pvcs = [d for d in docs if d.get("kind") == "PersistentVolumeClaim"]
    t.check(len(cron) == 1 and len(cms) == 1 and len(pvcs) == 1, "one CronJob, ConfigMap and PVC")
    if cron and cms and pvcs:
        spec = cron[0]["spec"]
        t.check(spec.get("concurrencyPolicy") == "Forbid", "CronJob concurrencyPolicy: Forbid")
        pod = spec["jobTemplate"]["spec"]["template"]["spec"]
        c = pod["containers"][0]
        t.check("--once" in c["args"], "container runs --once", str(c["args"]))
        for a in c["args"]:
            t.check(a.split("=", 1)[0] in flags_ok, f"container arg {a} is accepted by the binary")
        t.check(pod["securityContext"].get("runAsNonRoot") is True, "pod runAsNonRoot")
        t.check(c["securityContext"].get("readOnlyRootFilesystem") is True, "readOnlyRootFilesystem")
        t.check(c["securityContext"].get("allowPrivilegeEscalation") is False, "no privilege escalation")
        plan_arg = [a.split("=", 1)[1] for a in c["args"] if a.startswith("--plan=")]
        mounts = {m["name"]: m for m in c["volumeMounts"]}
        vols = {v["name"]: v for v in pod["volumes"]}
        cm_vol = [n for n, v in vols.items() if v.get("configMap", {}).get("name") == cms[0]["metadata"]["name"]]
        t.check(bool(cm_vol) and plan_arg and os.path.dirname(plan_arg[0]) == mounts[cm_vol[0]]["mountPath"],
                "--plan is in the mounted ConfigMap", str(plan_arg))
        pvc_vol = [n for n, v in vols.items()
                   if v.get("persistentVolumeClaim", {}).get("claimName") == pvcs[0]["metadata"]["name"]]
        key = os.path.basename(plan_arg[0]) if plan_arg else "plan.yml"
        text = cms[0]["data"].get(key, "")
        with t.tempdir() as d:
            p = os.path.join(d, key)
            with open(p, "w") as f:
                f.write(text)
            r = t.run([exe, f"--plan={p}", "--check"])
            t.check(r.returncode == 0, "provledger_ramp --check accepts the ConfigMap's plan", r.stdout + r.stderr)
        kplan = yaml.safe_load(text) or {}
        for k in ("flags_file", "journal", "metrics_textfile"):
            t.check(bool(pvc_vol) and os.path.dirname(kplan.get(k, "")) == mounts[pvc_vol[0]]["mountPath"],
                    f"the plan's {k} is on the mounted claim", kplan.get(k, ""))
            t.check(not (mounts[pvc_vol[0]].get("readOnly") if pvc_vol else True), "the claim is writable")

    # ------------------------------------------------------------------- Docker
    stages = docker.parse_dockerfile(open(os.path.join(src, "packaging", "docker", "Dockerfile"),
                                          encoding="utf-8").read())
    ramp = [s for s in stages if s["alias"] == "ramp"]
    t.check(len(ramp) == 1, "Dockerfile has a `ramp` stage")
    t.check(stages[-1]["alias"] != "ramp", "the default (last) stage is still the exporter image")
    if ramp:
        st = ramp[0]
        pkgs = set(docker.apt_installs(st))
        base = set(docker.BASE_IMAGE_PACKAGES)
        rc, libs = t.ldd_paths(exe)
        t.check(rc == 0 and libs and all(p for _, p in libs), f"ldd resolves {exe}", str(libs))
        owners = t.dpkg_owners([p for _, p in libs if p])
        closure = t.depends_closure(pkgs | base)
        missing = sorted({owners[p] for _, p in libs if p} - closure)
        t.check(not missing, "every library provledger_ramp loads comes from the ramp stage's packages", str(missing))
        direct = {owners[p] for so, p in libs if p and so in set(t.needed_sonames(exe))}
        t.check(direct <= pkgs | base, "directly needed libraries are listed explicitly or in the base image",
                str(sorted(direct - pkgs - base)))
        extra = {"ca-certificates", "git"}  # https to Prometheus; git for --git-dir
        t.check(pkgs - direct - base <= extra, "the ramp stage installs nothing else",
                str(sorted(pkgs - direct - base - extra)))
        entry = [docker.exec_form(a) for k, a in st["instr"] if k == "ENTRYPOINT"]
        copies = [a for k, a in st["instr"] if k == "COPY"]
        t.check(entry == [["/usr/bin/provledger_ramp"]], "ENTRYPOINT is the ramp binary", str(entry))
        t.check(any(a.endswith("/usr/bin/provledger_ramp /usr/bin/provledger_ramp") for a in copies),
                "the stage copies the binary")
        t.check(any(k == "USER" and a.startswith("65532") for k, a in st["instr"]), "numeric non-root USER")
    sys.exit(t.report())


if __name__ == "__main__":
    main()

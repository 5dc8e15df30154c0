#!/usr/bin/env python3
"""Static checks of packaging/kubernetes (no cluster, no kubectl needed).

Usage: test_kubernetes_manifests.py SRC_ROOT PROJECT_VERSION

- every YAML file parses (multi-document); every object has apiVersion, kind,
  metadata.name;
- each kustomization resolves (mini kustomize in pkgtest.py): listed resources
  and configMapGenerator files exist and stay inside their root, patches apply;
- the base: native sidecar (initContainer, restartPolicy Always), container
  port `metrics` = the default port from src/config/config.hh, probes on
  /-/healthy and /-/ready, restricted securityContext, requests <= limits,
  config file / password file / state file paths backed by the right volumes;
- the plain-sidecar variant holds the same exporter container as a regular
  container;
- Service, PodMonitor and the job label agree with the container and with
  alerts/rules.yml; the PrometheusRule equals alerts/rules.yml (drift check via
  gen-prometheusrule --check and a semantic comparison).
"""
import copy
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pkgtest as t  # noqa: E402

EXPORTER = "provledger-exporter"


def quantity(q):
    """Kubernetes quantity -> float (cpu cores or bytes)."""
    q = str(q)
    units = {"m": 1e-3, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "k": 1e3, "M": 1e6, "G": 1e9}
    for u, f in sorted(units.items(), key=lambda x: -len(x[0])):
        if q.endswith(u):
            return float(q[:-len(u)]) * f
    return float(q)


def by_kind(docs, kind):
    return [d for d in docs if d.get("kind") == kind]


def one(docs, kind):
    found = by_kind(docs, kind)
    if not t.check(len(found) == 1, f"exactly one {kind}", f"found {len(found)}"):
        t.fatal(f"cannot continue without one {kind}")
    return found[0]


def mount_for(container, volumes, path):
    """(volumeMount, volume) whose mountPath contains `path`."""
    best = None
    for m in container.get("volumeMounts", []):
        mp = m["mountPath"].rstrip("/")
        if path == mp or path.startswith(mp + "/"):
            if best is None or len(mp) > len(best["mountPath"]):
                best = m
    if best is None:
        return None, None
    vol = next((v for v in volumes if v["name"] == best["name"]), None)
    return best, vol


def main():
    src, version = sys.argv[1], sys.argv[2]
    kdir = os.path.join(src, "packaging", "kubernetes")
    yaml = t.need_yaml()
    defaults = t.config_hh_defaults(src)

    def generated_files(d):
        k = os.path.join(d, "kustomization.yaml")
        if not os.path.isfile(k):
            return set()
        doc = yaml.safe_load(open(k, encoding="utf-8")) or {}
        return {os.path.basename(f.partition("=")[2] or f) for g in doc.get("configMapGenerator", [])
                for f in g.get("files", [])}

    # 1. Every YAML file parses.
    for dirpath, _, files in os.walk(kdir):
        for fn in sorted(files):
            if not fn.endswith((".yaml", ".yml")):
                continue
            p = os.path.join(dirpath, fn)
            rel = os.path.relpath(p, src)
            try:
                docs = t.load_yaml_docs(p)
            except yaml.YAMLError as e:
                t.check(False, f"{rel} parses as YAML", str(e))
                continue
            t.check(bool(docs), f"{rel} parses as YAML ({len(docs)} documents)")
            if fn.startswith("kustomization") or fn in generated_files(dirpath):
                continue  # kustomize input, or a config file a configMapGenerator embeds
            for i, d in enumerate(docs):
                t.check(isinstance(d, dict) and d.get("apiVersion") and d.get("kind")
                        and d.get("metadata", {}).get("name"),
                        f"{rel} document {i} has apiVersion, kind, metadata.name")

    # 2. Kustomizations resolve.
    resolved = {}
    for name in ["base", "monitoring", "variants/plain-sidecar", "variants/tls", "."]:
        try:
            resolved[name] = t.kustomize(os.path.join(kdir, name))
            t.check(True, f"kustomization {name} resolves "
                          f"({', '.join(d['kind'] for d in resolved[name])})")
        except t.KustomizeError as e:
            t.check(False, f"kustomization {name} resolves", str(e))
    if set(resolved) != {"base", "monitoring", "variants/plain-sidecar", "variants/tls", "."}:
        t.fatal("all kustomizations resolve")
    base = resolved["base"]

    # 3. The Deployment with the native sidecar.
    dep = one(base, "Deployment")
    pod = dep["spec"]["template"]["spec"]
    labels = dep["spec"]["template"]["metadata"]["labels"]
    t.check(all(labels.get(k) == v for k, v in dep["spec"]["selector"]["matchLabels"].items()),
            "Deployment selector matches its pod template labels")
    inits = [c for c in pod.get("initContainers", []) if c["name"] == EXPORTER]
    if not t.check(len(inits) == 1, f"{EXPORTER} is an initContainer (native sidecar)"):
        t.fatal("exporter container present")
    ex = inits[0]
    t.check(ex.get("restartPolicy") == "Always", "native sidecar has restartPolicy: Always")
    others = [c for c in pod.get("containers", [])]
    t.check(len(others) >= 1 and all(c["name"] != EXPORTER for c in others),
            "a ledger container runs beside the sidecar",
            str([c["name"] for c in others]))
    t.check(ex["image"].endswith(":" + version),
            f"exporter image tag is the project version {version}", ex["image"])

    ports = {p["name"]: p for p in ex.get("ports", [])}
    t.check("metrics" in ports and ports["metrics"]["containerPort"] == defaults["port"],
            f"container port `metrics` is the binary's default {defaults['port']}", str(ports))
    args = ex.get("args", []) + ex.get("command", [])[1:]
    t.check(not any(a.startswith("--web.listen-address") or a.startswith("--web.telemetry-path")
                    for a in args),
            "container keeps the default listen address and telemetry path")

    probes = {k: ex.get(k) for k in ("livenessProbe", "readinessProbe", "startupProbe")}
    want = {"livenessProbe": "/-/healthy", "readinessProbe": "/-/ready"}
    for k, path in want.items():
        p = probes[k] or {}
        t.check(p.get("httpGet", {}).get("path") == path and p["httpGet"].get("port") in
                ("metrics", defaults["port"]), f"{k} is httpGet {path} on the metrics port", str(p))
    if probes["startupProbe"]:
        t.check(probes["startupProbe"].get("httpGet", {}).get("path") in ("/-/ready", "/-/healthy"),
                "startupProbe uses a health endpoint")

    sc = ex.get("securityContext", {})
    t.check(sc.get("runAsNonRoot") is True, "securityContext.runAsNonRoot")
    t.check(isinstance(sc.get("runAsUser"), int) and sc["runAsUser"] == 65532,
            "securityContext.runAsUser is numeric 65532", str(sc.get("runAsUser")))
    t.check(sc.get("readOnlyRootFilesystem") is True, "securityContext.readOnlyRootFilesystem")
    t.check(sc.get("allowPrivilegeEscalation") is False, "securityContext.allowPrivilegeEscalation false")
    t.check(sc.get("capabilities", {}).get("drop") == ["ALL"] and not sc.get("capabilities", {}).get("add"),
            "securityContext drops ALL capabilities, adds none")
    seccomp = sc.get("seccompProfile") or pod.get("securityContext", {}).get("seccompProfile")
    t.check(seccomp == {"type": "RuntimeDefault"}, "seccompProfile RuntimeDefault")

    res = ex.get("resources", {})
    for r in ("cpu", "memory"):
        req, lim = res.get("requests", {}).get(r), res.get("limits", {}).get(r)
        t.check(req is not None and lim is not None and quantity(req) <= quantity(lim),
                f"exporter {r} request <= limit", f"{req} / {lim}")

    # The memory limit is the systemd unit's MemoryMax= (one figure, from the
    # sizing table in docs/deployment.md "Memory"; bench/memory checks it).
    unit = open(os.path.join(src, "packaging", "systemd", "provledger_exporter.service"), encoding="utf-8").read()
    mm = re.search(r"^MemoryMax=([0-9]+)([MG])$", unit, re.M)
    if t.check(mm is not None, "the systemd unit sets MemoryMax=N[MG]"):
        unit_bytes = int(mm.group(1)) * (2**20 if mm.group(2) == "M" else 2**30)
        lim = res.get("limits", {}).get("memory")
        t.check(lim is not None and quantity(lim) == unit_bytes,
                "exporter resources.limits.memory equals the systemd unit's MemoryMax", f"{lim} vs {mm.group(0)}")

    # 4. Config, secret, state volumes.
    volumes = pod.get("volumes", [])
    cfg_arg = next((a.split("=", 1)[1] for a in args if a.startswith("--config.file=")), None)
    t.check(cfg_arg is not None, "container passes --config.file=")
    cm = one(base, "ConfigMap")
    m, vol = mount_for(ex, volumes, cfg_arg or "/nonexistent")
    cfg_text = None
    if t.check(vol is not None and "configMap" in vol and vol["configMap"]["name"] == cm["metadata"]["name"],
               "--config.file lies in the generated ConfigMap's mount", str(vol)):
        key = os.path.relpath(cfg_arg, m["mountPath"])
        cfg_text = cm["data"].get(key)
        t.check(cfg_text is not None, f"ConfigMap has key {key}", str(list(cm["data"])))
        t.check(m.get("readOnly") is True, "config mount is readOnly")
    t.check(cm["metadata"].get("annotations", {}).get("x-generated") == "true",
            "ConfigMap comes from configMapGenerator (a config change rolls the Pod)")

    secret = one(base, "Secret")
    if cfg_text is not None:
        cfg = yaml.safe_load(cfg_text)
        web = cfg.get("web") or {}
        if "listen_address" in web:
            t.check(web["listen_address"].rsplit(":", 1)[1] == str(defaults["port"]),
                    "config's web.listen_address port matches the container port")
        if "telemetry_path" in web:
            t.check(web["telemetry_path"] == defaults["telemetry_path"],
                    "config's telemetry path matches the PodMonitor")
        sources = cfg.get("ledgers", []) + cfg.get("trace_stores", [])
        t.check(len(cfg.get("ledgers", [])) >= 1, "config has at least one ledger")
        for s in sources:
            t.check("password" not in s.get("dsn", "").lower(),
                    f"source {s.get('name')}: no password in the DSN")
            pf = s.get("password_file")
            if not t.check(pf is not None, f"source {s.get('name')}: password from password_file"):
                continue
            pm, pv = mount_for(ex, volumes, pf)
            ok = pv is not None and "secret" in pv and pv["secret"]["secretName"] == secret["metadata"]["name"]
            if t.check(ok, f"password_file {pf} is in a mount of Secret {secret['metadata']['name']}", str(pv)):
                rel = os.path.relpath(pf, pm["mountPath"])
                items = pv["secret"].get("items")
                key = next((i["key"] for i in items if i["path"] == rel), None) if items else rel
                data = dict(secret.get("data", {}), **secret.get("stringData", {}))
                t.check(key in data, f"Secret has key {key} for {pf}", str(list(data)))
                mode = pv["secret"].get("defaultMode", 0o644)
                fsg = pod.get("securityContext", {}).get("fsGroup")
                readable = bool(mode & 0o004) or (bool(mode & 0o040) and fsg == sc.get("runAsGroup"))
                t.check(readable, "password file readable by uid/gid 65532 (defaultMode/fsGroup)",
                        f"mode {oct(mode)} fsGroup {fsg}")
        if cfg.get("state_file"):
            sm, sv = mount_for(ex, volumes, cfg["state_file"])
            t.check(sv is not None and "emptyDir" in sv and not sm.get("readOnly"),
                    "state_file is on a writable emptyDir (root filesystem is read-only)", str(sv))

    # Other containers that reference the Secret use an existing key.
    for c in pod.get("containers", []):
        for e in c.get("env", []):
            ref = e.get("valueFrom", {}).get("secretKeyRef")
            if ref:
                data = dict(secret.get("data", {}), **secret.get("stringData", {}))
                t.check(ref["name"] == secret["metadata"]["name"] and ref["key"] in data,
                        f"container {c['name']} env {e['name']} refers to an existing Secret key")

    # 5. Service.
    svc = one(base, "Service")
    t.check(all(labels.get(k) == v for k, v in svc["spec"]["selector"].items()),
            "Service selector matches the pod labels")
    sp = {p["name"]: p for p in svc["spec"]["ports"]}
    t.check("metrics" in sp and sp["metrics"]["port"] == defaults["port"]
            and sp["metrics"].get("targetPort") in ("metrics", defaults["port"]),
            f"Service port `metrics` {defaults['port']} targets the container port", str(sp.get("metrics")))
    all_ports = {p["name"] for c in pod.get("containers", []) + pod.get("initContainers", [])
                 for p in c.get("ports", [])}
    for n, p in sp.items():
        tp = p.get("targetPort")
        t.check(not isinstance(tp, str) or tp in all_ports, f"Service port {n} targets an existing port name")

    # 6. Plain-sidecar variant.
    vdep = one(resolved["variants/plain-sidecar"], "Deployment")
    vpod = vdep["spec"]["template"]["spec"]
    t.check(not vpod.get("initContainers"), "variant has no initContainers")
    vex = [c for c in vpod["containers"] if c["name"] == EXPORTER]
    expect = copy.deepcopy(ex)
    expect.pop("restartPolicy", None)
    t.check(len(vex) == 1 and vex[0] == expect,
            "variant runs the same exporter container as a regular container (no restartPolicy)")
    t.check(all("restartPolicy" not in c for c in vpod["containers"]),
            "variant containers carry no container-level restartPolicy")
    t.check({c["name"] for c in vpod["containers"]} == {c["name"] for c in others} | {EXPORTER},
            "variant keeps the ledger container")

    # 7. Prometheus Operator objects.
    mon = resolved["monitoring"]
    pm = one(mon, "PodMonitor")
    t.check(pm["metadata"]["labels"].get("release"), "PodMonitor carries a `release` label (set in monitoring/kustomization.yaml)")
    t.check(all(labels.get(k) == v for k, v in pm["spec"]["selector"]["matchLabels"].items()),
            "PodMonitor selects the ledger pods")
    eps = pm["spec"]["podMetricsEndpoints"]
    t.check(len(eps) == 1 and eps[0]["port"] == "metrics" and "metrics" in ports,
            "PodMonitor scrapes the container port named metrics")
    t.check(eps[0].get("path", "/metrics") == defaults["telemetry_path"],
            f"PodMonitor path is the default telemetry path {defaults['telemetry_path']}")
    rules_path = os.path.join(src, "alerts", "rules.yml")
    rules_text = open(rules_path, encoding="utf-8").read()
    jobs = set(re.findall(r'job\s*=\s*"([^"]+)"', rules_text))
    relabel_job = [r.get("replacement") for r in eps[0].get("relabelings", [])
                   if r.get("targetLabel") == "job"]
    t.check(len(jobs) == 1, "alerts/rules.yml selects one job", str(jobs))
    t.check(relabel_job and set(relabel_job) == jobs,
            "PodMonitor sets the job label the rules select on", f"{relabel_job} vs {jobs}")

    pr = one(mon, "PrometheusRule")
    t.check(pr["metadata"]["labels"].get("release") == pm["metadata"]["labels"].get("release"),
            "PrometheusRule and PodMonitor carry the same release label")
    t.check(pr["spec"] == yaml.safe_load(rules_text),
            "PrometheusRule spec equals alerts/rules.yml (semantic)")
    gen = os.path.join(kdir, "gen-prometheusrule")
    r = t.run([sys.executable, gen, "--check"])
    t.check(r.returncode == 0, "gen-prometheusrule --check: prometheusrule.yaml is up to date",
            (r.stdout + r.stderr)[-3000:])
    # The drift check itself must be able to fail.
    with t.tempdir() as d:
        drifted = os.path.join(d, "rules.yml")
        with open(drifted, "w", encoding="utf-8") as f:
            f.write(rules_text.replace("groups:", "groups:\n  - name: drift_probe\n    rules: []", 1))
        r = t.run([sys.executable, gen, "--check", "--rules", drifted])
        t.check(r.returncode == 1 and "drift_probe" in r.stdout,
                "gen-prometheusrule --check reports a changed rule file")

    # 7b. TLS variant: the exporter reads a web config from the TLS Secret,
    # probes speak HTTPS, the PodMonitor scrapes https with the CA and basic
    # auth from the scrape Secret, and that password matches the bcrypt hash.
    tls = resolved["variants/tls"]
    tdep = one(tls, "Deployment")
    tpod = tdep["spec"]["template"]["spec"]
    tex = [c for c in tpod.get("initContainers", []) if c["name"] == EXPORTER][0]
    web_args = [a.split("=", 1)[1] for a in tex.get("args", []) if a.startswith("--web.config.file=")]
    secrets = {d["metadata"]["name"]: d for d in by_kind(tls, "Secret")}
    web_cfg = None
    if t.check(len(web_args) == 1, "TLS variant passes --web.config.file", str(tex.get("args"))):
        m, v = mount_for(tex, tpod.get("volumes", []), web_args[0])
        sec_name = (v or {}).get("secret", {}).get("secretName")
        key = os.path.relpath(web_args[0], m["mountPath"]) if m else None
        t.check(sec_name in secrets and key in secrets[sec_name].get("stringData", {}),
                "the web config file comes from a Secret key", f"{sec_name} {key}")
        if sec_name in secrets and key in secrets[sec_name].get("stringData", {}):
            sdata = secrets[sec_name]["stringData"]
            web_cfg = yaml.safe_load(sdata[key])
            tsc = web_cfg.get("tls_server_config", {})
            t.check(tsc.get("cert_file") in sdata and tsc.get("key_file") in sdata,
                    "cert_file and key_file are keys of the same Secret (relative to the web config)", str(tsc))
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        t.check(tex.get(probe, {}).get("httpGet", {}).get("scheme") == "HTTPS", f"TLS variant {probe} uses HTTPS")
    tpm = one([d for d in tls if d.get("kind") == "PodMonitor"], "PodMonitor")
    tep = tpm["spec"]["podMetricsEndpoints"][0]
    t.check(tep.get("scheme") == "https", "TLS variant PodMonitor scheme is https")
    ca_ref = tep.get("tlsConfig", {}).get("ca", {}).get("secret", {})
    t.check(ca_ref.get("name") in secrets and ca_ref.get("key") in secrets[ca_ref["name"]].get("stringData", {}),
            "PodMonitor tlsConfig.ca refers to an existing Secret key", str(ca_ref))
    ba = tep.get("basicAuth", {})
    refs_ok = all(ba.get(k, {}).get("name") in secrets and
                  ba[k].get("key") in secrets[ba[k]["name"]].get("stringData", {}) for k in ("username", "password"))
    if t.check(refs_ok, "PodMonitor basicAuth refers to existing Secret keys", str(ba)) and web_cfg:
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            import crypt
        user = secrets[ba["username"]["name"]]["stringData"][ba["username"]["key"]]
        password = secrets[ba["password"]["name"]]["stringData"][ba["password"]["key"]]
        hashed = web_cfg.get("basic_auth_users", {}).get(user, "")
        t.check(bool(hashed) and crypt.crypt(password, hashed) == hashed,
                "the scrape Secret's password matches the web config's bcrypt hash for its user", user)

    # 9. The sharded StatefulSet (packaging/kubernetes/sharded): one config
    # file per pod ordinal, shard index = ordinal, total = replicas, the same
    # sources in every file; the PodMonitor labels targets with the shard.
    try:
        sharded = t.kustomize(os.path.join(kdir, "sharded"))
        t.check(True, f"kustomization sharded resolves ({', '.join(d['kind'] for d in sharded)})")
    except t.KustomizeError as e:
        t.check(False, "kustomization sharded resolves", str(e))
        sharded = None
    if sharded is not None:
        sts = one(sharded, "StatefulSet")
        replicas = sts["spec"]["replicas"]
        spod = sts["spec"]["template"]["spec"]
        sexs = [c for c in spod["containers"] if c["name"] == EXPORTER]
        if not t.check(len(sexs) == 1, f"the StatefulSet has one {EXPORTER} container"):
            t.fatal("sharded exporter container present")
        sex = sexs[0]
        t.check(sex["image"].endswith(":" + version), "sharded image tag is the project version", sex["image"])
        env = {e["name"]: e for e in sex.get("env", [])}
        t.check(env.get("SHARD_INDEX", {}).get("valueFrom", {}).get("fieldRef", {}).get("fieldPath")
                == "metadata.labels['apps.kubernetes.io/pod-index']", "SHARD_INDEX is the pod ordinal label")
        sargs = sex.get("args", [])
        cfg_arg = next((a.split("=", 1)[1] for a in sargs if a.startswith("--config.file=")), "")
        t.check("$(SHARD_INDEX)" in cfg_arg, "--config.file is chosen by $(SHARD_INDEX)", cfg_arg)
        scm = one(sharded, "ConfigMap")
        m, vol = mount_for(sex, spod.get("volumes", []), cfg_arg.replace("$(SHARD_INDEX)", "0"))
        t.check(vol is not None and vol.get("configMap", {}).get("name") == scm["metadata"]["name"],
                "the shard configs are the generated ConfigMap's mount", str(vol))
        sources = None
        for i in range(replicas):
            key = os.path.relpath(cfg_arg.replace("$(SHARD_INDEX)", str(i)), m["mountPath"] if m else "/")
            text = scm["data"].get(key)
            if not t.check(text is not None, f"ConfigMap has {key} for ordinal {i}", str(list(scm["data"]))):
                continue
            c = yaml.safe_load(text)
            shard = (c.get("tenants") or {}).get("shard") or {}
            t.check(shard == {"index": i, "total": replicas}, f"{key}: tenants.shard is {{index: {i}, total: "
                    f"{replicas}}}", str(shard))
            del c["tenants"]["shard"]
            if sources is None:
                sources = c
            t.check(c == sources, f"{key}: everything but the shard index equals shard-0's")
        t.check(len(scm["data"]) == replicas, "one config file per replica", str(list(scm["data"])))
        sres = sex.get("resources", {})
        t.check(all(sres.get(k, {}).get("memory") for k in ("requests", "limits")),
                "sharded exporter sets a memory request and limit", str(sres))
        t.check(sres.get("limits", {}).get("memory") == res.get("limits", {}).get("memory"),
                "sharded exporter has the base's memory limit", str(sres))
        spm = one(sharded, "PodMonitor")
        rl = spm["spec"]["podMetricsEndpoints"][0].get("relabelings", [])
        t.check(any(r.get("targetLabel") == "job" and r.get("replacement") == "provledger_exporter" for r in rl),
                "sharded PodMonitor sets job=provledger_exporter")
        t.check(any(r.get("targetLabel") == "shard" and r.get("sourceLabels") ==
                    ["__meta_kubernetes_pod_label_apps_kubernetes_io_pod_index"] for r in rl),
                "sharded PodMonitor labels targets with shard = pod ordinal")
        t.check(all(spm["spec"]["selector"]["matchLabels"].get(k) == v for k, v in
                    sts["spec"]["template"]["metadata"]["labels"].items()),
                "sharded PodMonitor selects the StatefulSet's pods")
        svc = one(sharded, "Service")
        t.check(svc["metadata"]["name"] == sts["spec"]["serviceName"] and svc["spec"].get("clusterIP") == "None",
                "the StatefulSet's headless Service")

    # 8. The top-level kustomization is base + monitoring.
    top = sorted((d["kind"], d["metadata"]["name"]) for d in resolved["."])
    t.check(top == sorted((d["kind"], d["metadata"]["name"]) for d in base + mon),
            "packaging/kubernetes = base + monitoring")
    return t.report()


if __name__ == "__main__":
    sys.exit(main())

"""Evidence for migrated receipts, end to end (issue 10): a real PostgreSQL
with simulator data (v1 and v2 rows, anchored), provledger_migrate apply,
then provledger_evidence export and verify.

- every migrated receipt's record carries the archived original (version 1,
  its stored body and content_hash: the bytes its anchor covers) at the top,
  the inclusion proof from that hash, and migration.v2 = the row now (body,
  canonical content_hash); verify proves the original against the anchor,
  recomputes the v2 form's canonical hash and checks the v2 form is the
  original's conversion; nothing FAILs;
- masked: the v1 field is masked in the original and under /payload in the
  v2 form; verify reports the v2 form "masked", never ok or FAIL;
- tamper cases (re-signed with our key, so only the evidence checks can
  catch them) on the archived original and on the v2 form: all rejected.
"""
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "e2e"))
from harness import BUILD, SIM, Postgres, ledger_config, log, run_test  # noqa: E402
from test_evidence import ev, read_zip, resign, write_zip  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402

MIGRATE = os.environ.get("PROVLEDGER_MIGRATE_BIN") or os.path.join(BUILD, "src", "migrate", "provledger_migrate")


def lines(r, kind=None):
    out = [l for l in r.stdout.splitlines() if l]
    return [l for l in out if l.startswith(kind + " ")] if kind else out


def test_evidence_migrated():
    work = tempfile.mkdtemp(prefix="provledger-evidence-mig-")
    pg = Postgres()
    for db in ("ledger_eu", "traces"):
        pg.psql("postgres", f"CREATE DATABASE {db}")
    ledgers = ["--ledger", f"eu-west={pg.dsn('ledger_eu')}"]
    traces = ["--traces-dsn", pg.dsn("traces")]
    subprocess.run([SIM, "init", *ledgers, *traces], check=True, capture_output=True)
    end = int(time.time()) - 20 * 60   # all older than --min-age 15m
    subprocess.run([SIM, "load", *ledgers, *traces, "--receipts", "3000", "--tenants", "3", "--hours", "1",
                    "--seed", "29", "--end-ts", str(end)], check=True, capture_output=True, text=True)
    cfg = os.path.join(work, "provledger.yml")
    with open(cfg, "w") as f:
        f.write(ledger_config(pg, [("eu", "eu-west", "ledger_eu")], "traces", grace="5s"))
    key = os.path.join(work, "signing.key")
    pub = json.loads(ev("keygen", f"--out={key}", check=0).stdout)["public_key"]
    priv = serialization.load_pem_private_key(open(key, "rb").read(), None)

    tenant = pg.psql("ledger_eu", "SELECT tenant_id FROM receipts GROUP BY 1 ORDER BY count(*) DESC LIMIT 1")[0][0]
    # Anchored v1 receipts (to be migrated) and a few v2 ones (untouched).
    v1 = pg.psql("ledger_eu", f"SELECT op_id, receipt_id, body::text, content_hash FROM receipts WHERE tenant_id = "
                              f"'{tenant}' AND version = 1 AND anchor_id IS NOT NULL ORDER BY receipt_id LIMIT 12")
    v2 = pg.psql("ledger_eu", f"SELECT op_id FROM receipts WHERE tenant_id = '{tenant}' AND version = 2 "
                              "AND anchor_id IS NOT NULL ORDER BY receipt_id LIMIT 4")
    assert len(v1) == 12 and len(v2) == 4, (len(v1), len(v2))
    original = {rid: (body, h) for _, rid, body, h in v1}
    ops = sorted({r[0] for r in v1} | {r[0] for r in v2})

    r = subprocess.run([MIGRATE, "apply", "--dsn", pg.dsn("ledger_eu"), "--min-age", "15m"], capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, (r.returncode, r.stderr[-2000:])
    now = {rid: (body, h, int(ver)) for rid, body, h, ver in pg.psql(
        "ledger_eu", "SELECT receipt_id, body::text, content_hash, version FROM receipts WHERE receipt_id IN (" +
        ",".join(f"'{rid}'" for rid in original) + ")")}
    assert all(v[2] == 2 for v in now.values()), "apply left a selected v1 receipt unconverted"
    assert all(now[rid][1] != original[rid][1] for rid in original), "migration kept a v1 content hash"

    # --- export -> verify: the original proven against its anchor, the v2 form beside it.
    bundle = os.path.join(work, "bundle.zip")
    op_args = [f"--op-id={o}" for o in ops]
    ev("export", f"--config.file={cfg}", f"--tenant={tenant}", *op_args, f"--key-file={key}", f"--out={bundle}", check=0)
    r = ev("verify", bundle, f"--public-key={pub}")
    assert r.returncode == 3 and not lines(r, "FAIL"), r.stdout[-3000:]   # 3: v1 originals' body->hash is unproven
    files, _ = read_zip(bundle)
    seen = 0
    for name, data in files.items():
        if not name.startswith("ops/"):
            continue
        for rc in json.loads(data)["receipts"]:
            rid = rc["receipt_id"]
            if rid not in original:
                assert "migration" not in rc, rid   # a v2-born receipt has no migration block
                continue
            seen += 1
            m = rc["migration"]
            assert (rc["version"], rc["body"], rc["content_hash"]) == (1, original[rid][0], original[rid][1]), rid
            assert (m["v2"]["version"], m["v2"]["body"], m["v2"]["content_hash"]) == (2, now[rid][0], now[rid][1]), rid
            assert m["anchored_form"] == "original" and m["archive_table"] == "receipts_v1_archive", m
            assert rc["inclusion_proof"], rid
            for step in ("hash->anchor", "v2 form", "v2 form->original"):
                mine = [l for l in lines(r) if f"receipt {rid}: {step}: " in l]
                assert mine and all(l.startswith("ok ") for l in mine), (rid, step, mine)
            body_lines = [l for l in lines(r) if f"receipt {rid}: body->hash" in l]
            assert body_lines and all("body hash unproven (v1)" in l for l in body_lines), body_lines
    assert seen == len(original), (seen, len(original))

    # --- masked: the v1 field /actor is masked in the original and as
    # /payload/actor in the v2 form; the v2 form is reported masked.
    mcfg = os.path.join(work, "masked.yml")
    with open(mcfg, "w") as f:
        f.write(open(cfg).read() + 'evidence:\n  mask: ["/actor"]\n')
    mbundle = os.path.join(work, "masked.zip")
    ev("export", f"--config.file={mcfg}", f"--tenant={tenant}", *op_args, f"--key-file={key}", f"--out={mbundle}",
       check=0)
    r = ev("verify", mbundle, f"--public-key={pub}")
    assert r.returncode == 0 and not lines(r, "FAIL"), r.stdout[-3000:]   # every body masked: nothing unproven
    mfiles, _ = read_zip(mbundle)
    for name, data in mfiles.items():
        if not name.startswith("ops/"):
            continue
        for rc in json.loads(data)["receipts"]:
            if rc["receipt_id"] in original:
                actor = json.loads(original[rc["receipt_id"]][0])["actor"]
                assert rc["masked"] == ["/actor"] and actor not in rc["body"], rc["body"]
                assert rc["migration"]["v2"]["masked"] == ["/payload/actor"], rc["migration"]["v2"]
                assert actor not in rc["migration"]["v2"]["body"], "the v2 form leaks a masked field"
    rid0 = sorted(original)[0]
    mine = [l for l in lines(r) if f"receipt {rid0}: v2 form" in l]
    assert mine and all(l.startswith("masked ") for l in mine), mine
    assert any(l.startswith("ok ") and f"receipt {rid0}: hash->anchor" in l for l in lines(r)), "masking broke the proof"

    # --- tamper cases on migrated receipts (re-signed with our key).
    target = None
    for name in sorted(files):
        if name.startswith("ops/"):
            recs = json.loads(files[name])["receipts"]
            for i, rc in enumerate(recs):
                if rc["receipt_id"] == rid0:
                    target = (name, i)
    assert target
    k, i = target

    def signed_edit(fn):
        o = json.loads(files[k])
        fn(o["receipts"][i])
        p = os.path.join(work, f"mig{len(cases):02d}.zip")
        write_zip(p, resign({**files, k: json.dumps(o, indent=2).encode()}, priv))
        return p

    def flip_hex(h):
        return ("1" if h[0] != "1" else "2") + h[1:]

    def edit_body(text, key_, value):
        b = json.loads(text)
        b[key_] = value
        return json.dumps(b)

    cases = []
    cases.append(("archived original: content hash", signed_edit(lambda r: r.__setitem__("content_hash", flip_hex(r["content_hash"])))))
    cases.append(("archived original: body", signed_edit(lambda r: r.__setitem__("body", edit_body(r["body"], "decision", "tampered")))))
    cases.append(("v2 form: body", signed_edit(lambda r: r["migration"]["v2"].__setitem__("body", edit_body(r["migration"]["v2"]["body"], "decision", "tampered")))))
    cases.append(("v2 form: content hash", signed_edit(lambda r: r["migration"]["v2"].__setitem__("content_hash", flip_hex(r["migration"]["v2"]["content_hash"])))))
    cases.append(("v2 form: version", signed_edit(lambda r: r["migration"]["v2"].__setitem__("version", 1))))
    cases.append(("v2 form: payload", signed_edit(lambda r: r["migration"]["v2"].__setitem__("body", edit_body(
        r["migration"]["v2"]["body"], "payload", {**json.loads(r["migration"]["v2"]["body"])["payload"], "amount": 1})))))
    cases.append(("anchored form switched to v2", signed_edit(lambda r: r["migration"].__setitem__("anchored_form", "v2"))))
    cases.append(("migration block malformed", signed_edit(lambda r: r["migration"].__setitem__("v2", "gone"))))
    # The v2 body re-hashed consistently but naming another original.
    # (The verifier must still see that it is not this original's conversion.)
    def other_original(r):
        b = json.loads(r["migration"]["v2"]["body"])
        b["migrated_from"]["content_hash"] = flip_hex(b["migrated_from"]["content_hash"])
        r["migration"]["v2"]["body"] = json.dumps(b)
    cases.append(("v2 form names another original", signed_edit(other_original)))
    b = bytearray(files[k])
    b[len(b) // 2] ^= 1
    p = os.path.join(work, "mig-flip.zip")
    write_zip(p, {**files, k: bytes(b)})
    cases.append(("flip a byte in a migrated receipt's record (unsigned)", p))
    control = os.path.join(work, "mig-control.zip")
    write_zip(control, resign(files, priv))
    r = ev("verify", control, f"--public-key={pub}")
    assert r.returncode == 3 and not lines(r, "FAIL"), r.stdout[-2000:]

    rejected, accepted = 0, []
    for name, path in cases:
        r = ev("verify", path, f"--public-key={pub}")
        fails = lines(r, "FAIL")
        if r.returncode == 1 and fails and (name.endswith("(unsigned)") or any(f"op " in l for l in fails)):
            rejected += 1
        else:
            accepted.append((name, r.returncode, fails[:3]))
    print(f"migrated tamper cases: {len(cases)} cases, {rejected} rejected, {len(accepted)} accepted")
    log(f"migrated tamper cases: {len(cases)} cases, {rejected} rejected, {len(accepted)} accepted")
    assert not accepted, accepted


if __name__ == "__main__":
    run_test(test_evidence_migrated)

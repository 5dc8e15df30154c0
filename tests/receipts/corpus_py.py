#!/usr/bin/env python3
"""Runs the receipt fixture corpus through adapters/python; one JSON line per case."""
import hashlib
import json
import os
import struct
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "adapters", "python"))
import provledger_receipt as pr  # noqa: E402


def main(fixtures: str) -> int:
    with open(os.path.join(fixtures, "cases.json"), encoding="utf-8") as f:
        doc = json.load(f)
    for c in doc["cases"]:
        cols = dict(doc["columns"], **c.get("columns", {}))
        created = pr.parse_timestamp(cols.pop("created_at"))
        columns = pr.Columns(created_us=created, **cols)
        with open(os.path.join(fixtures, c["body"]), "rb") as f:
            body = f.read()
        out = {"name": c["name"], "impl": "python"}
        try:
            pr.check_body(c["version"], body, columns)
            out.update(verdict="valid", error=None)
        except pr.ReceiptError as e:
            out.update(verdict="invalid", error=e.code, message=str(e))
        try:
            out["canonical_hash"] = pr.content_hash(body)
        except pr.ReceiptError:
            out["canonical_hash"] = None
        if c["version"] == 1:
            try:
                v2 = pr.convert_v1(body, columns)
                out.update(convert="ok", v2_hash=hashlib.sha256(v2).hexdigest())
                try:
                    m = pr.read_v2(v2)   # the migration fills NULL columns from the conversion
                    after = pr.Columns(**dict(columns.__dict__, region=m.region, kid=m.kid,
                                              policy_version=m.policy_version))
                    pr.check_body(2, v2, after)
                    out["v2_valid"] = pr.canonicalize(v2) == v2
                except pr.ReceiptError:
                    out["v2_valid"] = False
            except pr.ReceiptError as e:
                out.update(convert=e.code, v2_hash=None)
        print(json.dumps(out, ensure_ascii=False))
    # RFC 8785 vectors: canonical bytes of each jcs/*.in.json, the number table.
    jcs = os.path.join(fixtures, "jcs")
    for name in sorted(os.listdir(jcs)):
        if name.endswith(".in.json"):
            with open(os.path.join(jcs, name), "rb") as f:
                got = pr.canonicalize(f.read())
            print(json.dumps({"impl": "python", "jcs": name[:-8], "canonical_hex": got.hex()}))
    with open(os.path.join(fixtures, "numbers.txt"), encoding="utf-8") as f:
        for line in f:
            if line.strip() and not line.startswith("#"):
                hexbits = line.split()[0]
                value = struct.unpack(">d", bytes.fromhex(hexbits))[0]
                print(json.dumps({"impl": "python", "number": hexbits, "text": pr.format_number(value)}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))

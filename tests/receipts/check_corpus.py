#!/usr/bin/env python3
"""The receipt fixture corpus test: runs src/receipt and the exporter's
decoder (corpus_cpp), adapters/python and adapters/typescript over
tests/fixtures/receipts and fails on any disagreement with the expectations
in cases.json or between implementations (zero disagreements is the test).

  check_corpus.py <corpus_cpp binary> <fixtures dir> [--write-hashes]

--write-hashes records canonical_hash / v2_hash in cases.json where all
three implementations agree (used once when a fixture is added; review the
diff). Without it, the recorded hashes are checked.
"""
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
IMPLS = ("cpp", "python", "typescript")


def run(cmd):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
    if p.returncode != 0:
        sys.exit("check_corpus: %s failed (%d): %s" % (cmd[0], p.returncode, p.stderr.decode(errors="replace")))
    return [json.loads(line) for line in p.stdout.decode().splitlines() if line.strip()]


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    write = "--write-hashes" in sys.argv
    cpp, fixtures = args
    lines = run([cpp, fixtures])
    lines += run([sys.executable, os.path.join(HERE, "corpus_py.py"), fixtures])
    lines += run(["node", os.path.join(HERE, "corpus_ts.mjs"), fixtures])

    results, jcs, numbers = {}, {}, {}
    for r in lines:
        if "jcs" in r:
            jcs.setdefault(r["jcs"], {})[r["impl"]] = r["canonical_hex"]
        elif "number" in r:
            numbers.setdefault(r["number"], {})[r["impl"]] = r["text"]
        else:
            results.setdefault(r["name"], {})[r["impl"]] = r

    path = os.path.join(fixtures, "cases.json")
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    problems = []
    checked = 0

    def bad(name, msg):
        problems.append("%s: %s" % (name, msg))

    for c in doc["cases"]:
        name, exp = c["name"], c["expect"]
        got = results.get(name, {})
        for impl in IMPLS + ("decoder",):
            if impl not in got:
                bad(name, "no result from " + impl)
        if len(got) != 4:
            continue
        checked += 1
        for impl in IMPLS:
            g = got[impl]
            if g["verdict"] != exp["verdict"]:
                bad(name, "%s says %s (%s), expected %s" % (impl, g["verdict"], g.get("message", ""), exp["verdict"]))
            if g["error"] != exp["error"]:
                bad(name, "%s error %s (%s), expected %s" % (impl, g["error"], g.get("message", ""), exp["error"]))
            if c["version"] == 1:
                if g["convert"] != exp["convert"]:
                    bad(name, "%s convert %s, expected %s" % (impl, g["convert"], exp["convert"]))
                if g["convert"] == "ok" and not g.get("v2_valid"):
                    bad(name, "%s: the converted body is not canonical valid v2 for its row" % impl)
        if got["decoder"]["verdict"] != exp["verdict"]:
            bad(name, "decoder says %s (%s), expected %s" % (got["decoder"]["verdict"], got["decoder"]["message"],
                                                           exp["verdict"]))
        for key in ("canonical_hash", "v2_hash") if c["version"] == 1 else ("canonical_hash",):
            values = {impl: got[impl].get(key) for impl in IMPLS}
            if len(set(values.values())) != 1:
                bad(name, "%s differs between implementations: %s" % (key, values))
                continue
            value = values["cpp"]
            if write:
                exp[key] = value
            elif exp.get(key, "missing") != value:
                bad(name, "%s is %s, cases.json records %s" % (key, value, exp.get(key, "nothing")))
        if exp.get("same_canonical_hash_as"):
            other = results.get(exp["same_canonical_hash_as"], {}).get("cpp", {})
            if other.get("canonical_hash") != got["cpp"]["canonical_hash"]:
                bad(name, "canonical hash differs from " + exp["same_canonical_hash_as"])
    if checked < 60:
        bad("corpus", "only %d cases checked" % checked)

    # RFC 8785 vectors in the adapters (the C++ library has them in unit_receipt).
    jdir = os.path.join(fixtures, "jcs")
    for stem, per in sorted(jcs.items()):
        with open(os.path.join(jdir, stem + ".out.json"), "rb") as f:
            want = f.read().hex()
        for impl in ("python", "typescript"):
            if per.get(impl) != want:
                bad("jcs/" + stem, "%s canonical form differs from %s.out.json" % (impl, stem))
    if len(jcs) < 8:
        bad("jcs", "only %d vectors" % len(jcs))
    with open(os.path.join(fixtures, "numbers.txt"), encoding="utf-8") as f:
        table = dict(line.split() for line in f if line.strip() and not line.startswith("#"))
    for hexbits, want in table.items():
        for impl in ("python", "typescript"):
            if numbers.get(hexbits, {}).get(impl) != want:
                bad("numbers/" + hexbits, "%s writes %s, expected %s" % (impl, numbers.get(hexbits, {}).get(impl), want))

    if write:
        with open(path, "w", encoding="utf-8") as f:
            json.dump(doc, f, indent=1, ensure_ascii=False)
            f.write("\n")
    for p in problems:
        print("DISAGREE", p)
    print("receipt corpus: %d cases x 3 implementations + decoder, %d RFC 8785 vectors, %d numbers: %d disagreements"
          % (checked, len(jcs), len(table), len(problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

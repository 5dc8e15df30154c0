#!/usr/bin/env python3
"""The rule generators re-target every rule at another job (suite 'rules', promtool only).

alerts/gen-rules (plain Prometheus) and packaging/kubernetes/gen-prometheusrule (Operator)
take the job selector as a parameter. For a job name unlike the shipped one
("monitoring/ledger-eu", what a PodMonitor gives without relabelling):

1. the generated file passes `promtool check rules --lint=all --lint-fatal` and holds
   no shipped selector any more, and exactly as many selectors as the shipped file;
2. tests/rules/rules_test.yml with its series and expected labels moved to that job passes
   `promtool test rules` against the generated file: every alert still fires and stays
   quiet at exactly the shipped thresholds and `for`, and the cases with job="other" stay
   quiet;
3. control: the same moved test FAILS against the shipped file (the shipped rules do not
   see that job: the silence the generator exists to prevent);
4. the PrometheusRule generated with the same --job holds exactly that rule file under
   `spec:` (one substitution for both);
5. bad parameters and hand-edited rule files are refused (exit 2, message).
"""

import os
import re
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import provtest as t  # noqa: E402

OTHER_JOB = "monitoring/ledger-eu"
GEN = t.GEN_RULES
GEN_PR = os.path.join(t.REPO, "packaging", "kubernetes", "gen-prometheusrule")


def moved_rules_test(text, rules_path):
    """rules_test.yml for OTHER_JOB: series, expected labels and descriptions."""
    out = text.replace('job="provledger_exporter"', f'job="{OTHER_JOB}"')
    out = out.replace("job: provledger_exporter", f'job: "{OTHER_JOB}"')
    out = out.replace("job provledger_exporter", f"job {OTHER_JOB}")  # rendered descriptions
    out = re.sub(r"^rule_files:\n  - .*$", f"rule_files:\n  - {rules_path}", out, count=1, flags=re.M)
    if re.search(r"job\W{0,3}provledger_exporter\b", out):
        t.fail("rules_test.yml still names the shipped job after the move")
    return out


def main():
    promtool = t.find_tool("promtool")
    work = tempfile.mkdtemp(prefix="rules-gen-")
    try:
        shipped = open(t.RULES_FILE, encoding="utf-8").read()
        def body_of(text):  # the rules, without the header comments
            return text[text.index("\ngroups:"):]
        n_shipped = body_of(shipped).count('job="provledger_exporter"')
        gen_path = os.path.join(work, "rules.gen.yml")
        t.run([sys.executable, GEN, "--job", OTHER_JOB, "--output", gen_path])
        gen_text = open(gen_path, encoding="utf-8").read()
        if 'job="provledger_exporter"' in gen_text:
            t.fail("the generated rules still select the shipped job")
        n_gen = body_of(gen_text).count(f'job="{OTHER_JOB}"')
        if n_gen != n_shipped:
            t.fail(f"expected {n_shipped} selectors for {OTHER_JOB}, found {n_gen}")
        t.run([promtool, "check", "rules", "--lint=all", "--lint-fatal", gen_path])
        print(f"ok: gen-rules --job {OTHER_JOB}: {n_shipped} selectors moved, promtool check rules clean")

        test_path = os.path.join(work, "rules_test.gen.yml")
        with open(test_path, "w", encoding="utf-8") as f:
            f.write(moved_rules_test(open(t.RULES_TEST_FILE, encoding="utf-8").read(), gen_path))
        r = t.run([promtool, "test", "rules", test_path], check=False, timeout=300)
        if r.returncode != 0:
            t.fail(f"promtool test rules on the generated rules failed:\n{r.stdout[-4000:]}")
        print(f"ok: rules_test.yml moved to job {OTHER_JOB} passes against the generated rules")

        ctl_path = os.path.join(work, "rules_test.shipped.yml")
        with open(ctl_path, "w", encoding="utf-8") as f:
            f.write(moved_rules_test(open(t.RULES_TEST_FILE, encoding="utf-8").read(), t.RULES_FILE))
        r = t.run([promtool, "test", "rules", ctl_path], check=False, timeout=300)
        if r.returncode == 0 or "AnchorLatencySLO" not in r.stdout:
            t.fail(f"control: the shipped rules passed the moved test (exit {r.returncode}); "
                   f"the job selector is not exercised:\n{r.stdout[-2000:]}")
        print("ok: control: the shipped rules do not fire for that job (promtool test rules fails)")

        r = t.run([sys.executable, GEN_PR, "--job", OTHER_JOB, "--output", "-"])
        spec = r.stdout.split("\nspec:\n", 1)
        body = "\n".join(ln[2:] for ln in spec[1].splitlines()) if len(spec) == 2 else ""
        # Compare from `groups:` on (gen-rules adds its own header comment above it).
        if "groups:" not in body or body[body.find("groups:"):].rstrip() != gen_text[gen_text.find("groups:"):].rstrip():
            t.fail("gen-prometheusrule --job does not embed the rules gen-rules produces for that job")
        print("ok: gen-prometheusrule --job embeds exactly gen-rules' output")

        bad_file = os.path.join(work, "edited.yml")
        with open(bad_file, "w", encoding="utf-8") as f:
            f.write(shipped.replace('up{job="provledger_exporter"} == 0', 'up{job="mine"} == 0', 1))
        for args, want in [
            (["--selector", 'instance="x"'], "one matcher on the job label"),
            (["--selector", 'job=""'], "empty job"),
            (["--selector", 'job=~"("'], "not a regular expression"),
            (["--job", ""], "empty"),
            (["--job", "a\nb"], "control character"),
            (["--runbook-base", "not a url"], "http(s) URL"),
            (["--windows", "5m=20s"], "no --windows mapping"),
            (["--windows", "5m"], "bad item"),
            (["--rules", bad_file, "--job", "x"], 'job="mine"'),
            (["--rules", os.path.join(work, "missing.yml")], "missing.yml"),
        ]:
            r = t.run([sys.executable, GEN] + args, check=False)
            if r.returncode != 2 or want not in r.stdout:
                t.fail(f"gen-rules {args}: want exit 2 and {want!r}, got {r.returncode}: {r.stdout}")
        r = t.run([sys.executable, GEN_PR, "--selector", "up", "--output", "-"], check=False)
        if r.returncode != 2 or "one matcher on the job label" not in r.stdout:
            t.fail(f"gen-prometheusrule --selector up: want exit 2, got {r.returncode}: {r.stdout}")
        print("ok: bad selectors, windows, URLs and hand-edited rule files are refused (exit 2)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    t.main_wrapper(main)

"""Shared helpers for the 'rules' test suite (python3 standard library only).

- load_yaml(): a YAML subset reader, enough for alerts/rules.yml and
  tests/rules/rules_test.yml (block mappings and sequences, flow collections,
  quoted and plain scalars, | and > block scalars, comments). Plain scalars
  stay strings. Its reading of alerts/rules.yml is cross-checked against
  Prometheus's own (/api/v1/rules) by check_rules_structure.py.
- promql_selectors(): a PromQL lexer that finds every vector selector (metric
  name and label matchers) in an expression; metric_names() builds on it.
- Dashboard walking, template-variable substitution and label_values()
  reduction for the dashboard checks.
- Process helpers: free loopback ports, a Prometheus started on loopback in a
  temp dir (stopped by pid), small HTTP JSON client.

Everything raises on malformed input instead of guessing.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
RULES_FILE = os.path.join(REPO, "alerts", "rules.yml")
RULES_TEST_FILE = os.path.join(REPO, "tests", "rules", "rules_test.yml")
DASHBOARD_DIR = os.path.join(REPO, "dashboards")
RUNBOOK = os.path.join(REPO, "docs", "runbook.md")
GEN_RULES = os.path.join(REPO, "alerts", "gen-rules")

JOB = "provledger_exporter"
JOB_MATCHER = ("job", "=", JOB)
RUNBOOK_BASE = "https://git.example.com/provledger_exporter/blob/main/docs/runbook.md"
SEED_ALERTS = ("AnchorLatencySLO", "CoverageBelow100", "DivergenceDetected", "NotaryLag")
# Series Prometheus itself adds to every scrape or rule evaluation; never exported.
PROMETHEUS_SYNTHETIC = {"up", "scrape_duration_seconds", "scrape_samples_scraped",
                        "scrape_samples_post_metric_relabeling", "scrape_series_added",
                        "ALERTS", "ALERTS_FOR_STATE"}


class TestFailure(Exception):
    pass


def fail(msg):
    raise TestFailure(msg)


def find_tool(name):
    path = shutil.which(name)
    if not path:
        fail(f"{name} not found in PATH (Debian package 'prometheus' provides it)")
    return path


# --------------------------------------------------------------------------- YAML subset

class YamlError(Exception):
    pass


def _strip_comment(line):
    """Remove a trailing comment that is outside quotes and flow brackets."""
    quote = None
    i = 0
    while i < len(line):
        c = line[i]
        if quote:
            if c == quote:
                if quote == "'" and i + 1 < len(line) and line[i + 1] == "'":
                    i += 2
                    continue
                quote = None
            elif c == "\\" and quote == '"':
                i += 1
        elif c in "'\"" and (i == 0 or line[i - 1] in " \t[{,:-"):
            quote = c
        elif c == "#" and (i == 0 or line[i - 1] in " \t"):
            return line[:i].rstrip()
        i += 1
    return line.rstrip()


def _split_key(text):
    """Split 'key: value' at the first ': ' (or trailing ':') outside quotes.
    Returns (key, rest) or None when text is not a mapping entry."""
    quote = None
    depth = 0
    i = 0
    while i < len(text):
        c = text[i]
        if quote:
            if c == quote:
                quote = None
            elif c == "\\" and quote == '"':
                i += 1
        elif c in "'\"" and (i == 0 or text[i - 1] in " \t[{,:"):
            quote = c
        elif c in "[{":
            depth += 1
        elif c in "]}":
            depth -= 1
        elif c == ":" and depth == 0 and (i + 1 == len(text) or text[i + 1] in " \t"):
            key = text[:i].strip()
            return _scalar(key), text[i + 1:].strip()
        i += 1
    return None


def _scalar(text):
    text = text.strip()
    if not text:
        return None
    if text[0] == "'":
        if not text.endswith("'") or len(text) < 2:
            raise YamlError(f"unterminated single-quoted scalar: {text}")
        return text[1:-1].replace("''", "'")
    if text[0] == '"':
        try:
            return json.loads(text)
        except ValueError as e:
            raise YamlError(f"bad double-quoted scalar {text}: {e}")
    if text[0] in "[{":
        value, pos = _flow(text, 0)
        if text[pos:].strip():
            raise YamlError(f"trailing text after flow collection: {text}")
        return value
    if text in ("~", "null"):
        return None
    if text[0] in "&*!|>%@`":
        raise YamlError(f"unsupported YAML construct: {text}")
    return text


def _flow(text, pos):
    """Parse a flow collection starting at text[pos] ('[' or '{')."""
    opening = text[pos]
    closing = "]" if opening == "[" else "}"
    items = [] if opening == "[" else {}
    pos += 1
    while True:
        while pos < len(text) and text[pos] in " \t":
            pos += 1
        if pos >= len(text):
            raise YamlError(f"unterminated flow collection: {text}")
        if text[pos] == closing:
            return items, pos + 1
        # one entry: up to ',' or closing at depth 0, outside quotes
        start = pos
        quote = None
        depth = 0
        while pos < len(text):
            c = text[pos]
            if quote:
                if c == quote:
                    if quote == "'" and pos + 1 < len(text) and text[pos + 1] == "'":
                        pos += 2
                        continue
                    quote = None
                elif c == "\\" and quote == '"':
                    pos += 1
            elif c in "'\"":
                quote = c
            elif c in "[{":
                depth += 1
            elif c in "]}":
                if depth == 0:
                    break
                depth -= 1
            elif c == "," and depth == 0:
                break
            pos += 1
        entry = text[start:pos].strip()
        if opening == "[":
            items.append(_scalar(entry))
        else:
            kv = _split_key(entry)
            if kv is None:
                raise YamlError(f"flow mapping entry without ':' : {entry}")
            items[kv[0]] = _scalar(kv[1])
        if pos < len(text) and text[pos] == ",":
            pos += 1


class _Lines:
    def __init__(self, text):
        self.raw = text.split("\n")

    def next_content(self, i):
        """Index of the next line with content at or after i, or len."""
        while i < len(self.raw):
            s = self.raw[i].strip()
            if s and not s.startswith("#") and s != "---":
                return i
            i += 1
        return len(self.raw)


def _indent(line):
    return len(line) - len(line.lstrip(" "))


def _block_scalar(lines, i, parent_indent, header):
    style = header[0]
    chomp = header[1:].strip()
    body = []
    content_indent = None
    j = i
    while j < len(lines.raw):
        line = lines.raw[j]
        if line.strip() == "":
            body.append("")
            j += 1
            continue
        ind = _indent(line)
        if ind <= parent_indent:
            break
        if content_indent is None:
            content_indent = ind
        if ind < content_indent:
            raise YamlError(f"line {j + 1}: block scalar less indented than its first line")
        body.append(line[content_indent:])
        j += 1
    while body and body[-1] == "":
        body.pop()
    if style == "|":
        text = "\n".join(body)
    else:
        out = []
        for b in body:
            if b == "":
                out.append("\n")
            else:
                if out and out[-1] not in ("\n",):
                    out.append(" ")
                out.append(b)
        text = "".join(out)
    if chomp != "-" and body:
        text += "\n"
    return text, j


def _parse_block(lines, i, indent):
    i = lines.next_content(i)
    if i >= len(lines.raw):
        return None, i
    line = _strip_comment(lines.raw[i])
    if _indent(line) != indent:
        raise YamlError(f"line {i + 1}: expected indent {indent}, got {_indent(line)}")
    if line.strip() == "-" or line.strip().startswith("- "):
        return _parse_seq(lines, i, indent)
    return _parse_map(lines, i, indent)


def _parse_value(lines, i, indent, rest):
    """Value after 'key:' or '- ' on line i (already consumed); indent is the owner's."""
    if rest == "":
        j = lines.next_content(i + 1)
        if j >= len(lines.raw):
            return None, j
        ind = _indent(lines.raw[j])
        stripped = lines.raw[j].strip()
        if ind > indent or (ind == indent and (stripped == "-" or stripped.startswith("- "))):
            return _parse_block(lines, j, ind)
        return None, i + 1
    if rest[0] in "|>":
        return _block_scalar(lines, i + 1, indent, rest)
    return _scalar(rest), i + 1


def _parse_map(lines, i, indent):
    out = {}
    while True:
        i = lines.next_content(i)
        if i >= len(lines.raw):
            return out, i
        line = _strip_comment(lines.raw[i])
        ind = _indent(line)
        if ind < indent:
            return out, i
        if ind > indent:
            raise YamlError(f"line {i + 1}: unexpected indentation")
        text = line.strip()
        if text.startswith("- "):
            return out, i
        kv = _split_key(text)
        if kv is None:
            raise YamlError(f"line {i + 1}: expected 'key: value', got {text!r}")
        key, rest = kv
        if key in out:
            raise YamlError(f"line {i + 1}: duplicate key {key!r}")
        out[key], i = _parse_value(lines, i, indent, rest)


def _parse_seq(lines, i, indent):
    out = []
    while True:
        i = lines.next_content(i)
        if i >= len(lines.raw):
            return out, i
        line = _strip_comment(lines.raw[i])
        ind = _indent(line)
        text = line.strip()
        if ind < indent or not (text == "-" or text.startswith("- ")):
            if ind > indent:
                raise YamlError(f"line {i + 1}: unexpected indentation")
            return out, i
        if ind > indent:
            raise YamlError(f"line {i + 1}: unexpected indentation")
        item = text[1:].strip()
        if item == "":
            value, i = _parse_value(lines, i, indent, "")
            out.append(value)
            continue
        kv = _split_key(item) if item[0] not in "[{'\"" else None
        if kv is not None:
            # A mapping that starts on the dash line: re-read it as if the dash were a space.
            child_indent = ind + (len(text) - len(item))
            lines.raw[i] = " " * child_indent + item
            value, i = _parse_map(lines, i, child_indent)
            out.append(value)
        else:
            value, i = _parse_value(lines, i, indent, item)
            out.append(value)


def load_yaml(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if "\t" in text:
        raise YamlError(f"{path}: tab characters are not supported")
    lines = _Lines(text)
    try:
        value, i = _parse_block(lines, 0, 0)
        i = lines.next_content(i)
        if i < len(lines.raw):
            raise YamlError(f"line {i + 1}: unexpected content {lines.raw[i]!r}")
    except YamlError as e:
        raise YamlError(f"{path}: {e}")
    return value


# --------------------------------------------------------------------------- PromQL lexing

_KEYWORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left",
             "group_right", "bool", "offset", "atan2", "inf", "nan"}
_LIST_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right"}
_AGGREGATIONS = {"sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values",
                 "bottomk", "topk", "quantile"}
_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)
  | (?P<number>(?:0[xX][0-9a-fA-F]+)|(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?(?:(?:ms|[smhdwy])(?:\d+(?:ms|[smhdwy]))*)?)
  | (?P<var>\$\{[^}]+\}|\$[a-zA-Z_][a-zA-Z0-9_]*)
  | (?P<ident>[a-zA-Z_:][a-zA-Z0-9_:]*)
  | (?P<op>=~|!~|!=|==|>=|<=|[-+*/%^=<>(){}\[\],@:])
""", re.VERBOSE)


def promql_tokens(expr):
    pos = 0
    out = []
    while pos < len(expr):
        m = _TOKEN.match(expr, pos)
        if not m:
            fail(f"cannot lex PromQL at {expr[pos:pos + 20]!r} in: {expr}")
        kind = m.lastgroup
        if kind != "ws":
            out.append((kind, m.group(kind)))
        pos = m.end()
    return out


def _unquote(s):
    if s[0] == "`":
        return s[1:-1]
    return json.loads('"' + s[1:-1].replace('\\\'', "'") + '"') if s[0] == "'" else json.loads(s)


def promql_selectors(expr):
    """Every vector selector in expr as a Selector (name, [(label, op, value), ...], range)."""
    toks = promql_tokens(expr)
    sels = []
    i = 0
    n = len(toks)
    while i < n:
        kind, text = toks[i]
        if kind == "ident":
            nxt = toks[i + 1] if i + 1 < n else (None, None)
            low = text.lower()
            if low in _LIST_KEYWORDS:
                # by (...), on (...), group_left (...): a label list, not selectors
                if nxt == ("op", "("):
                    j = i + 2
                    while j < n and toks[j] != ("op", ")"):
                        j += 1
                    i = j + 1
                    continue
                i += 1
                continue
            if low in _KEYWORDS:
                i += 1
                continue
            if nxt == ("op", "(") or (low in _AGGREGATIONS and nxt[0] == "ident"
                                       and nxt[1].lower() in ("by", "without")):
                i += 1  # function or aggregation
                continue
            matchers = []
            i += 1
            if i < n and toks[i] == ("op", "{"):
                matchers, i = _matchers(toks, i, expr)
            rng, i = _range(toks, i)
            sels.append(Selector(text, matchers, rng))
            continue
        if (kind, text) == ("op", "{"):
            matchers, i = _matchers(toks, i, expr)
            name = None
            rest = []
            for m in matchers:
                if m[0] == "__name__" and m[1] == "=":
                    name = m[2]
                else:
                    rest.append(m)
            rng, i = _range(toks, i)
            sels.append(Selector(name, rest if name else matchers, rng))
            continue
        if (kind, text) == ("op", "["):
            j = i
            while j < n and toks[j] != ("op", "]"):
                j += 1
            i = j + 1
            continue
        i += 1
    return sels


class Selector(tuple):
    """(name, matchers, range): name None when only matchers; range the text inside a
    following [...] (e.g. '5m', '$__rate_interval', '1h:5m') or None for an instant selector."""

    def __new__(cls, name, matchers, rng):
        return super().__new__(cls, (name, matchers, rng))

    name = property(lambda self: self[0])
    matchers = property(lambda self: self[1])
    range = property(lambda self: self[2])


def _range(toks, i):
    if i < len(toks) and toks[i] == ("op", "["):
        j = i + 1
        parts = []
        while j < len(toks) and toks[j] != ("op", "]"):
            parts.append(toks[j][1])
            j += 1
        return "".join(parts), j + 1
    return None, i


def _matchers(toks, i, expr):
    assert toks[i] == ("op", "{")
    i += 1
    out = []
    while True:
        if i >= len(toks):
            fail(f"unterminated label matchers in: {expr}")
        if toks[i] == ("op", "}"):
            return out, i + 1
        if toks[i] == ("op", ","):
            i += 1
            continue
        if i + 2 >= len(toks) or toks[i][0] != "ident" or toks[i + 1][0] != "op" or toks[i + 2][0] != "string":
            fail(f"cannot read label matcher at {toks[i:i + 3]} in: {expr}")
        out.append((toks[i][1], toks[i + 1][1], _unquote(toks[i + 2][1])))
        i += 3


def metric_names(expr):
    names = set()
    for name, _, _ in promql_selectors(expr):
        if name is None:
            fail(f"selector without a metric name in: {expr}")
        names.add(name)
    return names


# --------------------------------------------------------------------------- dashboards

def load_dashboards():
    out = []
    for fn in sorted(os.listdir(DASHBOARD_DIR)):
        if fn.endswith(".json"):
            with open(os.path.join(DASHBOARD_DIR, fn), encoding="utf-8") as f:
                out.append((fn, json.load(f)))
    if not out:
        fail(f"no dashboards in {DASHBOARD_DIR}")
    return out


def iter_panels(dash):
    for p in dash.get("panels", []):
        yield p
        for q in p.get("panels", []) or []:
            yield q


def template_promql(var):
    """The PromQL a query variable runs, reduced for validation; None for non-PromQL."""
    if var.get("type") != "query":
        return None
    q = var.get("query")
    if isinstance(q, dict):
        q = q.get("query")
    if not isinstance(q, str):
        fail(f"variable {var.get('name')}: query is not a string")
    q = q.strip()
    m = re.fullmatch(r"label_values\((.*),\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)", q, re.S)
    if m:
        return m.group(1).strip()
    m = re.fullmatch(r"query_result\((.*)\)", q, re.S)
    if m:
        return m.group(1).strip()
    if q.startswith("label_values(") or q.startswith("metrics(") or q.startswith("label_names("):
        return None
    return q


def dashboard_queries(fn, dash):
    """(where, expr) for every PromQL expression of a dashboard: targets and query variables."""
    out = []
    for p in iter_panels(dash):
        for t in p.get("targets", []) or []:
            expr = t.get("expr")
            if expr is None:
                fail(f"{fn}: panel {p.get('id')} {p.get('title')!r} target {t.get('refId')} has no expr")
            out.append((f"{fn} panel {p.get('id')} {p.get('title')!r} ref {t.get('refId')}", expr))
    for v in dash.get("templating", {}).get("list", []):
        q = template_promql(v)
        if q is not None:
            out.append((f"{fn} variable ${v.get('name')}", q))
    return out


DEFAULT_SUBST = {
    "__rate_interval": "1m", "__interval": "15s", "__range": "6h",
    "__interval_ms": "15000", "__range_s": "21600", "__range_ms": "21600000",
    "job": JOB, "instance": ".+", "tenant": ".+", "region": ".+", "source": ".+",
    "datasource": "prometheus",
    # tenants.json's textbox variable (its default): the exporter's settlement lag.
    "settlement_lag": "2m5s",
}


def substitute(expr, values=None):
    vals = dict(DEFAULT_SUBST)
    if values:
        vals.update(values)

    def rep(m):
        name = m.group(1) or m.group(2) or m.group(3)
        name = name.split(":")[0]
        if name not in vals:
            fail(f"unknown template variable ${name} in: {expr}")
        return vals[name]

    out = re.sub(r"\$\{([a-zA-Z_][a-zA-Z0-9_:]*)\}|\[\[([a-zA-Z_][a-zA-Z0-9_:]*)\]\]|\$([a-zA-Z_][a-zA-Z0-9_]*)",
                 rep, expr)
    if "$" in out:
        fail(f"unsubstituted '$' left in: {out}")
    return out


# --------------------------------------------------------------------------- rule files

def rules_groups(path=None):
    path = path or RULES_FILE
    doc = load_yaml(path)
    if not isinstance(doc, dict) or not isinstance(doc.get("groups"), list):
        fail(f"{path}: no 'groups' list")
    return doc["groups"]


def all_rules(path=None):
    for g in rules_groups(path):
        for r in g.get("rules", []):
            yield g["name"], r


def recording_rule_names(path=None):
    return {r["record"] for _, r in all_rules(path) if "record" in r}


def write_rules_json(path, groups):
    """Write a rules file (JSON is YAML) from [(group_name, [(record_name, expr), ...])]."""
    doc = {"groups": [{"name": g, "rules": [{"record": n, "expr": e} for n, e in rules]}
                      for g, rules in groups]}
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=1)


def run(cmd, check=True, timeout=120, **kw):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       timeout=timeout, **kw)
    if check and p.returncode != 0:
        fail(f"{' '.join(cmd)} exited {p.returncode}:\n{p.stdout}")
    return p


# --------------------------------------------------------------------------- processes and HTTP

def free_port():
    # A free 127.0.0.1 port outside the kernel's ephemeral range (pgtmp's rule:
    # outgoing connections cannot take it between this choice and the bind).
    out = subprocess.run([os.path.join(REPO, "tests", "support", "pgtmp"), "port"], check=True, capture_output=True, text=True)
    return int(out.stdout.strip())


def http_get(url, timeout=5, headers=None):
    req = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.status, r.read()


def http_json(url, timeout=10):
    _, body = http_get(url, timeout=timeout)
    doc = json.loads(body)
    if doc.get("status") != "success":
        fail(f"{url}: {doc}")
    return doc["data"]


def wait_until(what, fn, timeout, interval=0.5):
    """Call fn until it returns a truthy value; fail with `what` after timeout seconds."""
    deadline = time.monotonic() + timeout
    last_err = None
    while time.monotonic() < deadline:
        try:
            v = fn()
            if v:
                return v
        except (OSError, urllib.error.URLError, ValueError, TestFailure) as e:
            last_err = e
        time.sleep(interval)
    fail(f"timed out after {timeout}s waiting for {what}" + (f" (last error: {last_err})" if last_err else ""))


class Proc:
    """A child process we started; stopped by its own pid only."""

    def __init__(self, name, cmd, log_path, env=None, cwd=None):
        self.name = name
        self.log_path = log_path
        self.log = open(log_path, "w")
        self.p = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, env=env, cwd=cwd,
                                  start_new_session=True)

    def alive(self):
        return self.p.poll() is None

    def stop(self, timeout=15):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait(timeout=5)
        self.log.close()

    def tail(self, n=40):
        try:
            with open(self.log_path, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""


class Prometheus:
    """Debian's prometheus on 127.0.0.1:<free port> with storage in a temp dir."""

    def __init__(self, workdir, rule_files, scrape_targets=None, scrape_interval="15s",
                 evaluation_interval="15s", job=JOB, retention="1d"):
        self.binary = find_tool("prometheus")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        cfg = os.path.join(workdir, "prometheus.yml")
        lines = ["global:", f"  scrape_interval: {scrape_interval}",
                 f"  evaluation_interval: {evaluation_interval}", "rule_files:"]
        lines += [f"  - {json.dumps(r)}" for r in rule_files] or []
        if not rule_files:
            lines[-1] = "rule_files: []"
        if scrape_targets:
            lines += ["scrape_configs:", f"  - job_name: {json.dumps(job)}",
                      f"    scrape_interval: {scrape_interval}",
                      "    scrape_timeout: " + scrape_interval,
                      "    static_configs:", "      - targets: " + json.dumps(scrape_targets)]
        else:
            lines += ["scrape_configs: []"]
        with open(cfg, "w") as f:
            f.write("\n".join(lines) + "\n")
        data = os.path.join(workdir, "prometheus-data")
        os.makedirs(data, exist_ok=True)
        self.proc = Proc("prometheus", [
            self.binary, f"--config.file={cfg}", f"--storage.tsdb.path={data}",
            f"--web.listen-address=127.0.0.1:{self.port}", f"--storage.tsdb.retention.time={retention}",
            "--web.enable-lifecycle", "--log.level=warn"],
            os.path.join(workdir, "prometheus.log"))

    def wait_ready(self, timeout=60):
        def ready():
            if not self.proc.alive():
                fail(f"prometheus exited:\n{self.proc.tail()}")
            status, _ = http_get(self.url + "/-/ready", timeout=2)
            return status == 200
        wait_until("prometheus /-/ready", ready, timeout)

    def api(self, path, **params):
        q = urllib.parse.urlencode(params)
        return http_json(f"{self.url}/api/v1/{path}" + (f"?{q}" if q else ""))

    def query(self, expr, **params):
        return self.api("query", query=expr, **params)

    def stop(self):
        self.proc.stop()


def gen_rules():
    """alerts/gen-rules as a module: the one implementation of the selector and window
    substitutions (a script without .py, so loaded by path)."""
    import importlib.machinery
    import importlib.util
    loader = importlib.machinery.SourceFileLoader("gen_rules", GEN_RULES)
    spec = importlib.util.spec_from_loader("gen_rules", loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


def temp_workdir(prefix):
    return tempfile.mkdtemp(prefix=prefix)


def main_wrapper(fn):
    """Run fn(); print the failure and exit 1 on TestFailure or YamlError."""
    try:
        fn()
    except (TestFailure, YamlError) as e:
        print(f"FAIL: {e}", file=sys.stderr)
        sys.exit(1)
    sys.exit(0)

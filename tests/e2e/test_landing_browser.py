#!/usr/bin/env python3
"""The landing page in a real browser (issue 16): headless Chromium renders "/" of the
built exporter polling a real PostgreSQL fed by the simulator; asserts run on the DOM
Chromium built (--dump-dom, parsed with html.parser) and on its screenshot (PNG decoded
here with zlib: no imaging library).

Data: a clean history (coverage 1, no divergence) and then live traffic in which
divergence is injected for three tenants and 3 % of receipts are withheld, so some tenants
are in trouble and most are not. The simulator is then stopped and the test waits until
nothing settles any more, so the page and /metrics show the same numbers.

Asserts:
1. no script element, no external resource (every src/href is the exporter's own or a
   configured link);
2. table#tenants: the rows marked "trouble" come first, in the page's worst-first order
   (lowest coverage, then most divergence, then most missing, then slowest p95 as shown),
   then the healthy rows by name; at least one row of each kind;
3. every number equals /metrics: coverage = attest_coverage_pct, divergence =
   attest_divergence_count, missing = attest_ops_settled_total{outcome="missing"} (the
   exporter started without a state file less than an hour ago, so "last hour" = since
   start);
4. a cell is highlighted (class "bad") exactly when its value is past the threshold of
   the matching alert, the thresholds read from alerts/rules.yml (CoverageBelow100 < 1,
   AnchorLatencySLO > 30, NotaryLag > 60, DivergenceDetected > 0) or is a missing count
   above 0; a row is "trouble" exactly when one of its cells is highlighted;
5. table#regions lists eu-west and us-east with their anchor_queue_depth;
6. the configured Prometheus and Grafana links (web.prometheus_url, web.grafana_url);
7. the screenshot is a PNG of the requested size in which the highlight colour
   (#ffdddd) and the trouble-row marker (#cc0000) are painted.
"""
import html.parser
import os
import re
import shutil
import struct
import subprocess
import tempfile
import time
import zlib

from harness import ROOT, SIM, Exporter, Postgres, ledger_config, log, run_test, wait_until

PROM_URL = "http://127.0.0.1:9/"
GRAFANA_URL = "https://grafana.example.org/sub"
WIDTH, HEIGHT = 1400, 2400


def chromium():
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    raise AssertionError("chromium is not installed (Debian package chromium; scripts/test installs it)")


def browser(args, workdir):
    cmd = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
           "--no-first-run", "--disable-extensions", f"--user-data-dir={os.path.join(workdir, 'chromium')}",
           *args]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise AssertionError(f"chromium exited {r.returncode}: {r.stderr[-2000:]}")
    return r.stdout


class Dom(html.parser.HTMLParser):
    """Tables (id -> rows of cells (text, class)), row classes, links, scripts, resources."""

    def __init__(self):
        super().__init__()
        self.tables, self.row_classes, self.links, self.resources = {}, {}, {}, []
        self.scripts = 0
        self._table = self._row = self._cell = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "script":
            self.scripts += 1
        for k in ("src", "href"):
            if k in a:
                self.resources.append((tag, a[k]))
        if tag == "a" and "id" in a:
            self.links[a["id"]] = a.get("href")
        if tag == "table":
            self._table = a.get("id")
            self.tables[self._table] = []
            self.row_classes[self._table] = []
        elif tag == "tr" and self._table is not None:
            self._row = []
            self.tables[self._table].append(self._row)
            self.row_classes[self._table].append(a.get("class", ""))
        elif tag in ("td", "th") and self._row is not None:
            self._cell = [tag, "", a.get("class", "")]
            self._row.append(self._cell)

    def handle_endtag(self, tag):
        if tag == "table":
            self._table = None
        elif tag in ("td", "th"):
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell[1] += data


def thresholds():
    """The governance thresholds as alerts/rules.yml writes them."""
    text = open(os.path.join(ROOT, "alerts", "rules.yml"), encoding="utf-8").read()

    def expr(alert):
        m = re.search(r"- alert: " + alert + r"\n\s+expr: \|\n((?:\s{10}.*\n)+)", text)
        assert m, f"alert {alert} not found in alerts/rules.yml"
        return m.group(1)
    cov = re.search(r"ratio_rate30m\{[^}]*\} < ([0-9.]+)", expr("CoverageBelow100"))
    lat = re.search(r'quantile="0.95"\} > ([0-9.]+)', expr("AnchorLatencySLO"))
    nota = re.search(r"\) > ([0-9.]+)\s*$", expr("NotaryLag").strip())
    div = re.search(r"\) > ([0-9.]+)\s*$", expr("DivergenceDetected").strip())
    assert cov and lat and nota and div, "cannot read the thresholds from alerts/rules.yml"
    return {"coverage_pct": float(cov.group(1)) * 100, "latency_ms": float(lat.group(1)),
            "notary_s": float(nota.group(1)), "divergence": float(div.group(1))}


def png_pixels(path):
    """(width, height, rows of (r, g, b)) of an 8-bit RGB/RGBA non-interlaced PNG."""
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, ihdr = 8, b"", None
    while pos < len(data):
        n, typ = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if typ == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif typ == b"IDAT":
            idat += body
        pos += 12 + n
    w, h, depth, ctype, _, _, interlace = ihdr
    assert depth == 8 and ctype in (2, 6) and interlace == 0, f"unexpected PNG format {ihdr}"
    bpp = 3 if ctype == 2 else 4
    raw = zlib.decompress(idat)
    stride = w * bpp
    rows, prev = [], bytearray(stride)
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return w, h, bpp, rows


def count_colour(rows, bpp, rgb, tol=3):
    n = 0
    for line in rows:
        for i in range(0, len(line), bpp):
            if all(abs(line[i + k] - rgb[k]) <= tol for k in range(3)):
                n += 1
    return n


def num(text):
    text = text.strip()
    return None if text in ("", "\u2013", "no proof yet") else float(text)


def test_landing_page_in_chromium():
    th = thresholds()
    log("thresholds from alerts/rules.yml:", th)
    chromium()
    pg = Postgres()
    work = tempfile.mkdtemp(prefix="provledger-e2e-browser-")
    sim_proc = None
    exp = None
    try:
        for db in ("ledger_eu", "ledger_us", "traces"):
            pg.psql("postgres", f"CREATE DATABASE {db}")
        ledgers = ["--ledger", f"eu-west={pg.dsn('ledger_eu')}", "--ledger", f"us-east={pg.dsn('ledger_us')}"]
        traces = ["--traces-dsn", pg.dsn("traces")]
        subprocess.run([SIM, "init", *ledgers, *traces], check=True, capture_output=True)
        subprocess.run([SIM, "load", *ledgers, *traces, "--receipts", "3000", "--tenants", "30", "--hours", "1",
                        "--end-ts", "now-1m", "--seed", "11", "--coverage", "1", "--divergence", "0"],
                       check=True, capture_output=True)
        extra = f'web:\n  prometheus_url: "{PROM_URL}"\n  grafana_url: "{GRAFANA_URL}"\n'
        cfg = ledger_config(pg, [("eu", "eu-west", "ledger_eu"), ("us", "us-east", "ledger_us")], "traces",
                            window="2h", grace="3s", extra=extra)  # nothing leaves the window
        exp = Exporter(cfg, workdir=work).start()
        control = os.path.join(work, "control")
        with open(control, "w") as f:
            f.write("divergence_rate=1\ndivergence_tenants=tenant-001,tenant-002,tenant-003\nmissing_rate=0.03\n")
        sim_proc = subprocess.Popen([SIM, "run", *ledgers, *traces, "--rate", "30", "--tenants", "30", "--seed", "12",
                                     "--instance", "1", "--control-file", control],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: exp.metrics().sum("attest_ops_settled_total", outcome="missing") >= 3, timeout=120,
                   what="some missing operations settled")
        wait_until(lambda: exp.metrics().sum("attest_divergence_count") >= 1, timeout=120,
                   what="a divergence counted")
        sim_proc.terminate()
        sim_proc.wait(timeout=30)
        sim_proc = None

        # Wait until nothing settles any more (grace 3s + out_of_order 1s + polls).
        def settled_total():
            return exp.metrics().sum("attest_ops_settled_total")
        last = settled_total()
        stable = 0
        while stable < 3:
            time.sleep(2)
            now = settled_total()
            stable = stable + 1 if now == last else 0
            last = now
        metrics = exp.metrics()

        url = exp.url("/")
        dom_text = browser(["--dump-dom", url], work)
        shot = os.path.join(work, "landing.png")
        browser([f"--screenshot={shot}", f"--window-size={WIDTH},{HEIGHT}", url], work)
        if os.environ.get("PROVLEDGER_KEEP_SCREENSHOT"):
            shutil.copy(shot, os.environ["PROVLEDGER_KEEP_SCREENSHOT"])
        dom = Dom()
        dom.feed(dom_text)

        # 1. static: no script, nothing fetched from elsewhere.
        assert dom.scripts == 0, "a script element in the landing page"
        for tag, ref in dom.resources:
            assert tag == "a" and (ref.startswith("/") or ref.startswith(PROM_URL) or ref.startswith(GRAFANA_URL)), \
                (tag, ref)

        # 2.-4. tenants.
        rows = dom.tables.get("tenants")
        assert rows, f"no table#tenants in the DOM: {dom_text[:2000]}"
        header = [c[1] for c in rows[0]]
        assert header[0] == "Tenant" and header[1] == "Coverage (%)", header
        assert header[4].startswith("Divergence") and header[5].startswith("Missing ops") \
            and header[6].startswith("Anchor latency p95"), header
        body = rows[1:]
        classes = dom.row_classes["tenants"][1:]
        trouble = ["trouble" in c for c in classes]
        assert any(trouble) and not all(trouble), f"want both kinds of rows, got {trouble}"
        first_healthy = trouble.index(False)
        assert not any(trouble[first_healthy:]), "a trouble row after a healthy one"
        parsed = []
        for cells, is_trouble in zip(body, trouble):
            tenant = cells[0][1]
            cov, div, miss, p95 = num(cells[1][1]), int(cells[4][1]), int(cells[5][1]), num(cells[6][1])
            bad = ["bad" in c[2].split() for c in cells]
            want_bad = [False, cov is not None and cov < th["coverage_pct"], False, False,
                        div > th["divergence"], miss > 0, p95 is not None and p95 > th["latency_ms"]]
            assert bad == want_bad, f"{tenant}: highlighted {bad}, want {want_bad} for {[c[1] for c in cells]}"
            assert is_trouble == any(want_bad), f"{tenant}: trouble={is_trouble} but cells {want_bad}"
            # 3. the same numbers as /metrics.
            m_cov = metrics.select("attest_coverage_pct", tenant=tenant)
            if cov is None:
                assert not m_cov, (tenant, m_cov)
            else:
                assert m_cov and abs(m_cov[0][1] - cov) < 0.006, (tenant, cov, m_cov)
            assert div == metrics.sum("attest_divergence_count", tenant=tenant), (tenant, div)
            assert miss == metrics.sum("attest_ops_settled_total", tenant=tenant, outcome="missing"), (tenant, miss)
            # Sorted by the exact value (the page shows two decimals).
            parsed.append((tenant, m_cov[0][1] if cov is not None else None, div, miss, p95, is_trouble))
        # Worst first among the trouble rows, then healthy by name.

        def key(r):
            tenant, cov, div, miss, p95, is_trouble = r
            if not is_trouble:
                return (True, 0, 0, 0, 0, tenant)
            return (False, cov if cov is not None else 101.0, -div, -miss,
                    -(p95 if p95 is not None else -1), tenant)
        assert parsed == sorted(parsed, key=key), "tenants not in worst-first order:\n" + "\n".join(map(str, parsed))
        div_tenants = {r[0] for r in parsed if r[2] > 0}
        assert div_tenants and div_tenants <= {"tenant-001", "tenant-002", "tenant-003"}, div_tenants
        summary = re.search(r"(\d+) of (\d+) tenants in trouble", dom_text)
        assert summary and int(summary.group(1)) == sum(trouble) and int(summary.group(2)) == len(body), summary

        # 5. regions.
        regions = {r[0][1]: r for r in dom.tables.get("regions", [])[1:]}
        assert set(regions) == {"eu-west", "us-east"}, regions.keys()
        for name, cells in regions.items():
            depth = metrics.sum("anchor_queue_depth", region=name)
            assert num(cells[1][1]) == depth, (name, cells[1][1], depth)
            age = num(cells[2][1])
            assert ("bad" in cells[2][2].split()) == (age is not None and age > th["notary_s"]), cells
            p95 = num(cells[4][1])
            assert ("bad" in cells[4][2].split()) == (p95 is not None and p95 > th["latency_ms"]), cells

        # 6. links.
        assert dom.links.get("prometheus") == PROM_URL, dom.links
        assert dom.links.get("prometheus-alerts") == PROM_URL.rstrip("/") + "/classic/alerts", dom.links
        assert dom.links.get("grafana-tenants") == GRAFANA_URL + "/d/provledger-tenants", dom.links
        assert dom.links.get("grafana-ledger") == GRAFANA_URL + "/d/provledger-ledger", dom.links

        # 7. the screenshot shows the highlights.
        w, h, bpp, pixels = png_pixels(shot)
        assert (w, h) == (WIDTH, HEIGHT), (w, h)
        highlight = count_colour(pixels, bpp, (0xff, 0xdd, 0xdd))
        marker = count_colour(pixels, bpp, (0xcc, 0x00, 0x00))
        log(f"screenshot {w}x{h}: {highlight} highlight pixels, {marker} trouble-marker pixels; "
            f"{sum(trouble)} of {len(body)} tenants in trouble")
        assert highlight > 200, f"the highlight colour is not painted ({highlight} pixels)"
        assert marker > 50, f"the trouble-row marker is not painted ({marker} pixels)"
        exp.stop()
        exp = None
    finally:
        if sim_proc is not None:
            sim_proc.kill()
            sim_proc.wait()
        if exp is not None:
            exp.kill()
        pg.destroy()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    run_test(test_landing_page_in_chromium)

"""The HTML report: built from real results (torch and the fake-offset backend), hand-made
bench and trace files; well-formed, escaped, the sections present; rendered in headless
Chromium when it is installed."""

from __future__ import annotations

import contextlib
import json
import pathlib
import shutil
import subprocess
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from html.parser import HTMLParser

import pytest

from conftest import HARNESS_BACKENDS, run_task
from paritykit.cli.main import main
from paritykit.core.errors import ParityError
from paritykit.core.registry import load_plugin
from paritykit.core.result import Result, Status
from paritykit.files.results import ResultStore
from paritykit.reports import write_json
from paritykit.reports._html_matrix import LARGE
from paritykit.reports._html_speedups import pair_bench_rows
from paritykit.reports._html_svg import HistogramRange, histogram_counts
from paritykit.reports.html import ReportInputs, build_html, load_bench, load_inputs

SVG = "{http://www.w3.org/2000/svg}"
EVIL = '<script>alert("x")</script> & more'
EVIL_CASE = 'odd<b>case&"'


def _bench_row(case: str, backend: str, variant: str, median_s: float | None,
               label: str = "", threads: int = 1) -> dict[str, object]:
    return {"case": case, "backend": backend, "variant": variant, "label": label or backend,
            "threads": threads, "median_s": median_s,
            "iqr_s": None if median_s is None else median_s / 20,
            "ci_low_s": median_s, "ci_high_s": median_s, "repeats": 25}


BENCH = {
    "schema": "paritykit-bench/1",
    "machine": {"cpu": "Test CPU", "cores": 2, "python": "3.11", "torch": "2.13.0"},
    "created": "2026-01-01T00:00:00+00:00",
    "rows": [
        _bench_row("abs", "torch", "reference", 4e-3, "torch eager"),
        _bench_row("abs", "inductor", "optimized", 2e-3),
        _bench_row("abs", "inductor", "baseline", 8e-3, "aot-eager"),
        {**_bench_row("abs", "iree", "optimized", 5e-3), "status": "MISMATCH"},
    ],
    "failures": [{"case": "abs", "backend": "openvino", "variant": "optimized",
                  "label": "openvino", "threads": 1, "status": "LOWER_ERROR",
                  "message": "abs @ openvino: lowering failed — <nope>"}],
}
TRACE = {
    "schema": "paritykit-trace/1", "model": "small_cnn", "backend": "fake-perturb",
    "first_mismatch": "features.2",
    "rows": [
        {"module": "features.0", "type": "Conv2d", "status": "PASS", "max_abs": 1e-7,
         "max_rel": 2e-7, "message": ""},
        {"module": "features.2", "type": "Conv2d", "status": "MISMATCH", "max_abs": 0.5,
         "max_rel": 0.25, "message": "values differ"},
        {"module": "classifier", "type": "Linear", "status": "MISMATCH", "max_abs": 0.75,
         "max_rel": 0.5, "message": "inputs already differ"},
    ],
}


def _handmade() -> list[Result]:
    """Statuses the real runs below do not produce: an escaped RUN_ERROR and an XFAIL."""
    return [
        Result(EVIL_CASE, "torch", Status.RUN_ERROR, base="odd", message=EVIL,
               repro=f"parity run '{EVIL_CASE}' -b torch", traceback="Traceback:\n  boom\n"),
        Result("relu", "fake-offset", Status.XFAIL, base="relu", raw_status="MISMATCH",
               message="relu @ fake-offset: values differ", max_abs_error=1.0,
               max_rel_error=1.0, max_ulp=8e6, expectation="known offset bug #12"),
    ]


@pytest.fixture(scope="module")
def artifact_dir(tmp_path_factory: pytest.TempPathFactory,
                 registries: Callable[[], contextlib.AbstractContextManager[None]]
                 ) -> Iterator[pathlib.Path]:
    """A run's directory: real results (PASS on torch, MISMATCH on fake-offset), the
    hand-made ones, a bench.json and a trace file."""
    out = tmp_path_factory.mktemp("run")
    with registries():
        load_plugin(str(HARNESS_BACKENDS))
        real = [run_task(out, case, backend, cache=False)
                for case in ("relu", "abs") for backend in ("torch", "fake-offset")
                if (case, backend) != ("relu", "fake-offset")]
    store = ResultStore(out / "results.jsonl")
    for r in real + _handmade():
        store.append(r)
    store.close()
    (out / "bench.json").write_text(json.dumps(BENCH))
    (out / "trace-small_cnn-fake-perturb.json").write_text(json.dumps(TRACE))
    yield out


@pytest.fixture(scope="module")
def page(artifact_dir: pathlib.Path) -> str:
    return build_html(load_inputs(artifact_dir), title="test <report>")


@pytest.fixture(scope="module")
def tree(page: str) -> ET.Element:
    return ET.fromstring(page)


def _text(element: ET.Element) -> str:
    return "".join(element.itertext())


def _matrix_cell(tree: ET.Element, case: str, backend: str) -> ET.Element:
    table = next(t for t in tree.iter("table") if "matrix" in t.get("class", ""))
    columns = [_text(th) for th in table.iterfind("thead/tr/th")]
    for row in table.iter("tr"):
        head = row.find("th")
        if head is not None and _text(head) == case and row.findall("td"):
            return row.findall("td")[columns.index(backend) - 1]
    raise AssertionError(f"no matrix row for {case}")


class _TagBalance(HTMLParser):
    """Checks that every non-void element is closed in order, as a browser would parse it."""

    VOID = frozenset({"meta", "br", "hr", "col", "img", "input", "link"})

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []

    def handle_starttag(self, tag: str, attrs: object) -> None:
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: object) -> None:
        pass

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes {self.stack[-1:]}"
        self.stack.pop()


def test_real_results_are_what_the_report_is_about(artifact_dir: pathlib.Path) -> None:
    results = {r.key: r for r in load_inputs(artifact_dir).results}
    assert results[("abs", "torch")].status is Status.PASS
    assert results[("abs", "fake-offset")].status is Status.MISMATCH
    assert results[("abs", "fake-offset")].max_abs_error == pytest.approx(1.0)


def test_page_is_well_formed_and_script_free(page: str, tree: ET.Element) -> None:
    checker = _TagBalance()
    checker.feed(page)
    checker.close()
    assert checker.stack == []
    assert tree.tag == "html"
    assert "<script" not in page.lower()  # no JavaScript, and the evil message is escaped
    assert not list(tree.iter("script"))
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert tree.findtext("head/title") == "test <report>"


def test_results_are_escaped(page: str, tree: ET.Element) -> None:
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; more" in page
    messages = [_text(p) for p in tree.iter("pre") if p.get("class") == "message"]
    assert EVIL in messages
    assert EVIL_CASE in {_text(th) for th in tree.iter("th")}  # a row header, as text


def test_matrix_shows_status_per_cell(tree: ET.Element) -> None:
    passed = _matrix_cell(tree, "abs", "torch")
    assert passed.get("class") == "s-pass"
    assert _text(passed).startswith("✓")
    wrong = _matrix_cell(tree, "abs", "fake-offset")
    assert wrong.get("class") == "s-mismatch"
    assert _text(wrong) == "✗ 1e0"
    assert "MISMATCH" in wrong.get("title", "")
    link = wrong.find("a")
    assert link is not None
    target = next(e for e in tree.iter() if e.get("id") == link.get("href", "")[1:])
    assert "values differ" in _text(target)  # the cell links to its failure entry
    assert _text(_matrix_cell(tree, "relu", "fake-offset")) == "x"


def test_failures_have_messages_and_repro(tree: ET.Element) -> None:
    failures = [a for a in tree.iter("article") if a.get("class") == "failure"]
    assert len(failures) == 2  # the MISMATCH and the RUN_ERROR; the XFAIL is not a failure
    mismatch = next(a for a in failures if "fake-offset" in _text(a))
    assert "abs @ fake-offset: values differ" in _text(mismatch)
    assert "parity run abs -b fake-offset" in _text(mismatch)


def test_error_histograms_and_speedups(tree: ET.Element) -> None:
    charts = [s for s in tree.iter(f"{SVG}svg")]
    hists = [s for s in charts if "hist" in s.get("class", "")]
    assert len(hists) == 4  # max rel and ULP for torch and fake-offset
    bars = [_text(t) for s in hists for t in s.iter(f"{SVG}title")]
    assert any("fail" in b and not b.endswith("0 fail") for b in bars)  # the mismatch's bar
    speed = next(s for s in charts if "speedup" in s.get("class", ""))
    labels = {_text(t) for t in speed.iter(f"{SVG}text")}
    assert {"inductor", "iree", "2.00×", "4.00×", "0.80×"} <= labels  # 4/2, 8/2, 4/5


def test_bench_table_flags_wrong_answers_and_untimed_programs(tree: ET.Element) -> None:
    section = next(s for s in tree.iter("section") if s.get("id") == "speedups")
    iree = next(r for r in section.iter("tr") if "iree" in _text(r))
    assert "✗ MISMATCH" in _text(iree)  # a fast wrong answer is not a speedup
    assert "Not timed (1)" in _text(section)
    assert "abs @ openvino: lowering failed — <nope>" in _text(section)


def test_trace_table_highlights_first_mismatch(tree: ET.Element) -> None:
    rows = [r for r in tree.iter("tr") if r.get("class") == "first-mismatch"]
    assert len(rows) == 1
    assert "features.2" in _text(rows[0])
    assert "first mismatch" in _text(rows[0])


def test_run_info_and_expectations(tree: ET.Element) -> None:
    info = _text(next(s for s in tree.iter("section") if s.get("id") == "info"))
    assert "Test CPU" in info and "fake-offset (1)" in info  # bench machine, expectations
    expected = _text(next(s for s in tree.iter("section") if s.get("id") == "expectations"))
    assert "known offset bug #12" in expected


def test_empty_results_still_make_a_page() -> None:
    tree = ET.fromstring(build_html(ReportInputs([])))
    text = _text(tree)
    assert "No results." in text and "No failures." in text and "No bench.json" in text


def test_truncated_last_line_is_skipped_and_said(artifact_dir: pathlib.Path,
                                                 tmp_path: pathlib.Path) -> None:
    lines = (artifact_dir / "results.jsonl").read_text()
    (tmp_path / "results.jsonl").write_text(lines + '{"case": "gelu", "backend": "tor')
    inputs = load_inputs(tmp_path / "results.jsonl")
    assert len(inputs.results) == len(lines.splitlines())
    assert inputs.skipped_lines == 1
    assert "1 incomplete line(s)" in build_html(inputs)


def test_bad_inputs_are_clear_errors(tmp_path: pathlib.Path) -> None:
    junk = tmp_path / "results.jsonl"
    junk.write_text("hello\nworld\n")
    with pytest.raises(ParityError, match=r"results\.jsonl: no line is a result"):
        load_inputs(junk)
    with pytest.raises(ParityError, match="no such file or directory"):
        load_inputs(tmp_path / "missing")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ParityError, match=r"has no results\.jsonl, bench\.json"):
        load_inputs(empty)
    bad = json.loads(json.dumps(BENCH))
    bad["rows"][0]["median_s"] = "fast"
    (tmp_path / "bench.json").write_text(json.dumps(bad))
    with pytest.raises(ParityError, match=r"bench.json: .*rows\[0\]\.median_s: 'fast'"):
        load_bench(tmp_path / "bench.json")


def test_json_report_and_single_files_are_inputs(artifact_dir: pathlib.Path,
                                                 tmp_path: pathlib.Path) -> None:
    results = load_inputs(artifact_dir).results
    write_json(tmp_path / "report.json", results)
    assert len(load_inputs(tmp_path / "report.json").results) == len(results)
    trace = load_inputs(artifact_dir / "trace-small_cnn-fake-perturb.json")
    assert trace.results == [] and trace.traces[0].first_mismatch == "features.2"


def test_reference_row_of_another_backend_pairs_with_every_optimized_one(
        tmp_path: pathlib.Path) -> None:
    (tmp_path / "bench.json").write_text(json.dumps(BENCH))
    bench = load_bench(tmp_path / "bench.json")
    paired = dict(pair_bench_rows(bench.rows))
    inductor = paired[("abs", "inductor", 1)]
    assert inductor["reference"].backend == "torch"
    assert inductor["baseline"].label == "aot-eager"
    assert ("abs", "torch", 1) not in paired  # a reference alone is not a speedup


def test_histogram_slots() -> None:
    span = HistogramRange.covering([1e-7, 3e-3])
    assert (span.lo, span.hi) == (-7, -2)
    counts = histogram_counts(
        [(0.0, True), (1e-7, True), (5e-3, False), (float("nan"), False), (1e3, False)], span)
    assert counts[0] == (1, 0)  # exactly zero
    assert counts[1] == (1, 0)  # first half decade
    assert counts[-1] == (0, 1)  # NaN
    assert counts[-2] == (0, 2)  # 5e-3 and 1e3 (clamped) in the last bin
    assert sum(p + f for p, f in counts) == 5


def _synthetic(cases: int, backends: int, per_base: int) -> list[Result]:
    out = []
    for i in range(cases):
        for b in range(backends):
            bad = (i * 7 + b) % 97 == 0
            out.append(Result(f"op{i // per_base}_cfg{i % per_base}", f"backend{b}",
                              Status.MISMATCH if bad else Status.PASS,
                              base=f"op{i // per_base}", max_abs_error=1e-6 * (1 + b),
                              max_rel_error=1e-6 * (1 + i % 9), max_ulp=float(i % 5),
                              message="values differ" if bad else ""))
    return out


def test_large_runs_are_grouped_and_stay_small() -> None:
    results = _synthetic(549, 12, 3)  # the size of the built-in suite × the real backends
    assert len(results) > LARGE
    start = time.perf_counter()
    page = build_html(ReportInputs(results))
    elapsed = time.perf_counter() - start
    tree = ET.fromstring(page)
    assert elapsed < 10
    assert len(page.encode()) < 2_500_000
    tables = {t.get("class"): t for t in tree.iter("table")}
    bases = tables["matrix bases"]
    assert len(bases.findall("tbody/tr")) == 183
    failing = sum(r.status is Status.MISMATCH for r in results)
    attention = next(h for h in tree.iter("h3") if "with a failure" in _text(h))
    assert f"({len({r.case for r in results if r.status is Status.MISMATCH})} of 549)" in \
        _text(attention)
    assert _text(tree).count("values differ") == failing


def test_cli_writes_the_report(artifact_dir: pathlib.Path, tmp_path: pathlib.Path,
                               capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "r.html"
    assert main(["report", str(artifact_dir), "--html", str(out), "--title", "T"]) == 0
    assert "5 results, 2 failed, 4 bench rows, 1 trace(s)" in capsys.readouterr().out
    assert ET.parse(out).getroot().findtext("head/title") == "T"
    assert main(["report", str(tmp_path / "nope"), "--html", str(out)]) == 2
    assert "nope: no such file or directory" in " ".join(capsys.readouterr().err.split())
    assert main(["report", str(artifact_dir), "--html", str(tmp_path)]) == 2  # a directory
    assert "cannot write the report" in " ".join(capsys.readouterr().err.split())


def _chromium() -> str | None:
    return next((p for p in map(shutil.which, ("chromium", "chromium-browser",
                                               "google-chrome")) if p), None)


@pytest.mark.slow
@pytest.mark.skipif(_chromium() is None, reason="needs Chromium (Debian package `chromium`)"
                    " to render the report; CI installs it")
def test_report_renders_in_headless_chromium(page: str, tmp_path: pathlib.Path) -> None:
    html_file = tmp_path / "report.html"
    html_file.write_text(page, encoding="utf-8")
    command = [
        str(_chromium()), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
        "--no-first-run", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom",
        html_file.as_uri(),
    ]
    dom = subprocess.run(command, capture_output=True, text=True, timeout=120, check=True).stdout
    rows = _RenderedMatrix()  # the dump is the browser's HTML serialisation, not XML
    rows.feed(dom)
    header = [text for _, text in rows.rows[0]]
    abs_row = next(r for r in rows.rows if r[0][1] == "abs")
    column = header.index("fake-offset")
    assert abs_row[column] == ("s-mismatch", "✗ 1e0")  # the matrix: case, backend, status
    assert abs_row[header.index("torch")] == ("s-pass", "✓ 0")
    assert "abs @ fake-offset: values differ" in dom  # the failure's message
    assert "&lt;script&gt;alert(\"x\")&lt;/script&gt;" in dom  # escaped, as text
    assert "<script" not in dom.lower()
    assert 'class="chart speedup"' in dom and "2.00×" in dom


class _RenderedMatrix(HTMLParser):
    """The rows of the first matrix table of a rendered page: (class, text) per cell."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[tuple[str, str]]] = []
        self._state = "before"  # before -> inside -> after the first matrix table
        self._cell: tuple[str, list[str]] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        css = dict(attrs).get("class") or ""
        if tag == "table" and self._state == "before" and "matrix" in css:
            self._state = "inside"
        elif self._state == "inside" and tag == "tr":
            self.rows.append([])
        elif self._state == "inside" and tag in ("td", "th"):
            self._cell = (css, [])

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell[1].append(data)

    def handle_endtag(self, tag: str) -> None:
        if self._state == "inside" and tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append((self._cell[0], "".join(self._cell[1])))
            self._cell = None
        elif self._state == "inside" and tag == "table":
            self._state = "after"

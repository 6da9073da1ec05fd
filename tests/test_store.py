"""``results.jsonl`` survives truncation and interruption, and ``--resume`` reruns only what is
missing."""

from __future__ import annotations

import contextlib
import json
import os
import pathlib
import signal
import subprocess
import sys
import time

import pytest

from conftest import HARNESS_BACKENDS, by_key, read_jsonl, read_report
from paritykit.cli.main import main
from paritykit.core.result import Result, Status
from paritykit.files.results import ResultStore, read_results


def _result(case: str, backend: str, status: Status = Status.PASS, **kw: object) -> Result:
    return Result(case, backend, status, base=case, **kw)  # type: ignore[arg-type]


# -- the store itself ---------------------------------------------------------------------


def test_read_results_skips_truncated_last_line(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "results.jsonl"
    store = ResultStore(path)
    store.append(_result("abs", "torch"))
    store.append(_result("neg", "torch", Status.MISMATCH, max_abs_error=0.5))
    store.close()
    partial = json.dumps(_result("square", "torch").to_dict())
    with path.open("a") as f:
        f.write(partial[: len(partial) // 2])  # a run killed mid-write

    results = read_results(path)
    assert [r.key for r in results] == [("abs", "torch"), ("neg", "torch")]
    assert results[1].status is Status.MISMATCH
    assert results[1].max_abs_error == 0.5


def test_read_results_later_line_wins_and_missing_file_is_empty(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "results.jsonl"
    assert read_results(path) == []
    store = ResultStore(path)
    store.append(_result("abs", "torch", Status.CRASH))
    store.append(_result("abs", "torch", Status.PASS))
    store.close()
    assert [(r.key, r.status) for r in read_results(path)] == [(("abs", "torch"), Status.PASS)]


def test_resume_store_drops_partial_tail_before_appending(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "results.jsonl"
    first = json.dumps(_result("abs", "torch").to_dict()) + "\n"
    path.write_text(first + '{"case": "neg", "backend": "tor')
    store = ResultStore(path, resume=True)
    store.append(_result("neg", "torch"))
    store.close()
    text = path.read_text()
    assert text.startswith(first)
    assert [(d["case"], d["backend"]) for d in read_jsonl(path)] == [
        ("abs", "torch"),
        ("neg", "torch"),
    ]


def test_fresh_store_replaces_old_results(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "results.jsonl"
    path.write_text(json.dumps(_result("old", "torch").to_dict()) + "\n")
    store = ResultStore(path)
    store.append(_result("new", "torch"))
    store.close()
    assert [r.case for r in read_results(path)] == ["new"]


# -- --resume end to end ------------------------------------------------------------------


def test_resume_reruns_only_missing_pairs(tmp_path: pathlib.Path) -> None:
    out = tmp_path / "out"
    cases = ["abs", "neg", "square"]
    args = ["run", *cases, "-b", "torch,torch-export", "--artifact-dir", str(out)]
    assert main(args) == 0
    jsonl = out / "results.jsonl"
    lines = jsonl.read_text().splitlines(keepends=True)
    assert len(lines) == 6
    keyed = {(d["case"], d["backend"]): line for d, line in zip(map(json.loads, lines), lines,
                                                                  strict=True)}
    dropped = {("neg", "torch-export"), ("square", "torch")}
    kept = [line for key, line in keyed.items() if key not in dropped]
    # The run "lost" two results; the last of them even half-written.
    truncated = keyed[("neg", "torch-export")][:40]
    jsonl.write_text("".join(kept) + truncated)
    inode = {key: (out / key[0] / key[1] / "result.json").stat().st_ino for key in keyed}

    report = tmp_path / "report.json"
    assert main([*args, "--resume", "--json", str(report)]) == 0

    after = jsonl.read_text().splitlines(keepends=True)
    assert after[: len(kept)] == kept  # kept results untouched, byte for byte
    new = [json.loads(line) for line in after[len(kept):]]
    assert {(d["case"], d["backend"]) for d in new} == dropped
    assert len(new) == len(dropped)
    assert all(d["status"] == "PASS" for d in new)
    # Only the dropped pairs ran again: their per-pair record was rewritten, no other was.
    for key in keyed:
        rewritten = (out / key[0] / key[1] / "result.json").stat().st_ino != inode[key]
        assert rewritten == (key in dropped), key
    final = read_report(report)
    assert set(by_key(final["results"])) == set(keyed)
    assert final["summary"]["total"] == 6
    assert final["summary"]["failed"] == 0


def _children(pid: int) -> list[int]:
    try:
        text = pathlib.Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def _reap_orphans(pids: list[int]) -> None:
    """Kill worker processes of a killed `parity run` that are still around (by pid)."""
    deadline = time.monotonic() + 10
    for pid in pids:
        while time.monotonic() < deadline:
            try:
                state = pathlib.Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
            except OSError:
                break
            if state == "Z":
                break
            time.sleep(0.1)
        else:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["sigint", "sigkill"])
def test_interrupted_run_keeps_finished_results_and_resume_completes(
    tmp_path: pathlib.Path, sig: signal.Signals
) -> None:
    out = tmp_path / "out"
    cases = ["abs", "neg", "square", "sin", "cos"]
    args = [
        "run", *cases, "-b", "torch,fake-slow", "-p", str(HARNESS_BACKENDS),
        "--backend-option", "fake-slow.seconds=1", "--artifact-dir", str(out),
    ]
    jsonl = out / "results.jsonl"
    interrupted_report = tmp_path / "interrupted.json"
    log = tmp_path / "run.log"
    workers: list[int] = []
    # Output goes to a file, not a pipe: orphaned workers of a killed run may still hold it.
    with log.open("w") as log_file:
        proc = subprocess.Popen(
            [sys.executable, "-m", "paritykit.cli.main", *args, "--json", str(interrupted_report)],
            stdout=log_file, stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 120
            while not (jsonl.exists() and len(read_results(jsonl)) >= 3):
                assert proc.poll() is None, log.read_text()
                assert time.monotonic() < deadline, "the run never produced 3 results"
                time.sleep(0.05)
            workers = _children(proc.pid)
            proc.send_signal(sig)
            proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            _reap_orphans(workers)
    output = log.read_text()

    finished = read_results(jsonl)
    assert 3 <= len(finished) < 2 * len(cases)
    assert all(r.status is Status.PASS for r in finished)
    if sig == signal.SIGINT:
        assert proc.returncode == 130, output
        assert "rerun with --resume" in " ".join(output.split())  # however rich wraps it
        assert len(read_jsonl(jsonl)) == len(finished)  # whole lines only
        summary = read_report(interrupted_report)["summary"]
        assert summary["interrupted"] is True
    else:
        assert proc.returncode == -signal.SIGKILL

    report = tmp_path / "report.json"
    assert main([*args, "--resume", "--json", str(report)]) == 0
    final = by_key(read_report(report)["results"])
    assert set(final) == {(c, b) for c in cases for b in ("torch", "fake-slow")}
    assert all(r["status"] == "PASS" for r in final.values())
    # Each pair is in the results file exactly once: nothing that finished ran again.
    assert len(by_key(read_jsonl(jsonl))) == 2 * len(cases)

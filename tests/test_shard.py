"""``--shard K/N``: a deterministic partition of the selection into whole cases, balanced by
the durations of an earlier run (or by pair count), that reproduces the unsharded run."""

from __future__ import annotations

import json
import pathlib
import random
import shutil

import pytest

from conftest import read_report
from paritykit.cli.main import main
from paritykit.core.cases import CASES
from paritykit.core.result import Result, Status
from paritykit.run.shard import Shard, assign, read_durations, select_shard

BACKENDS = ("torch", "inductor", "onnxruntime", "iree")


def _durations(refs: list, seed: int = 0) -> dict[tuple[str, str], float]:
    # Pair times spread over two orders of magnitude, as a real suite's are (a compile of a
    # transformer layer against a relu).
    rng = random.Random(seed)
    return {(r.id, b): rng.lognormvariate(-2, 1.2) for r in refs for b in BACKENDS}


def test_shards_partition_the_selection_into_whole_cases() -> None:
    refs = CASES.expand()
    shards = assign(refs, BACKENDS, 3, _durations(refs))
    ids = [r.id for shard in shards for r in shard]
    assert sorted(ids) == sorted(r.id for r in refs)  # every case once: none twice, none lost
    for shard in shards:  # each shard keeps the selection's order
        order = [refs.index(r) for r in shard]
        assert order == sorted(order)


def test_shards_do_not_depend_on_the_order_of_the_selection() -> None:
    refs = CASES.expand()
    durations = _durations(refs)
    forward = [{r.id for r in s} for s in assign(refs, BACKENDS, 4, durations)]
    backward = [{r.id for r in s} for s in assign(refs[::-1], BACKENDS, 4, durations)]
    assert forward == backward


@pytest.mark.parametrize("count", [2, 3, 5])
def test_shards_are_balanced_by_durations(count: int) -> None:
    refs = CASES.expand()
    durations = _durations(refs, seed=count)
    loads = [sum(durations[r.id, b] for r in shard for b in BACKENDS)
             for shard in assign(refs, BACKENDS, count, durations)]
    assert max(loads) <= 1.05 * (sum(loads) / count), loads


def test_without_durations_shards_balance_pair_counts() -> None:
    refs = CASES.expand()
    sizes = [len(s) for s in assign(refs, BACKENDS, 3)]
    assert max(sizes) - min(sizes) <= 1


def test_unknown_pairs_cost_their_backends_median() -> None:
    refs = CASES.expand()[:4]
    durations = {(refs[0].id, "iree"): 10.0, (refs[1].id, "iree"): 10.0}
    shards = assign(refs, ["iree"], 2, durations)
    # Four cases of equal expected cost (10 s each): two per shard.
    assert [len(s) for s in shards] == [2, 2]


def test_read_durations_from_results_and_reports(tmp_path: pathlib.Path) -> None:
    rows = [Result("relu", "torch", Status.PASS, total_s=0.5).to_dict(),
            Result("abs", "torch", Status.PASS, total_s=1.5).to_dict()]
    (tmp_path / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "report.json").write_text(json.dumps({"results": rows}))
    expected = {("relu", "torch"): 0.5, ("abs", "torch"): 1.5}
    assert read_durations(tmp_path / "results.jsonl") == expected
    assert read_durations(tmp_path / "report.json") == expected


@pytest.mark.parametrize("spec", ["0/3", "4/3", "3", "a/b", "1/0", ""])
def test_a_bad_shard_is_a_usage_error(spec: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--list", "-b", "torch", "--shard", spec]) == 2
    assert "1 <= K <= N" in capsys.readouterr().err


def test_durations_need_a_shard_and_a_file(tmp_path: pathlib.Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--list", "-b", "torch", "--durations", "x.jsonl"]) == 2
    assert "give --shard too" in capsys.readouterr().err
    assert main(["run", "--list", "-b", "torch", "--shard", "1/2", "--durations",
                 str(tmp_path / "none.jsonl")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_three_shards_reproduce_the_unsharded_run(tmp_path: pathlib.Path) -> None:
    args = ["run", "-b", "torch,torch-export", "relu", "abs", "neg", "sigmoid", "tanh"]
    assert main([*args, "--artifact-dir", str(tmp_path / "all"),
                 "--json", str(tmp_path / "all.json")]) == 0
    whole = {(r["case"], r["backend"]): r["status"]
             for r in read_report(tmp_path / "all.json")["results"]}
    merged: dict[tuple[str, str], str] = {}
    for k in (1, 2, 3):
        main([*args, "--shard", f"{k}/3", "--durations", str(tmp_path / "all.json"),
              "--artifact-dir", str(tmp_path / f"s{k}"), "--json", str(tmp_path / f"s{k}.json")])
        for r in read_report(tmp_path / f"s{k}.json")["results"]:
            assert (r["case"], r["backend"]) not in merged  # no result twice
            merged[r["case"], r["backend"]] = r["status"]
    assert merged == whole  # none missing, same statuses
    _check_merge(tmp_path, whole)


def _check_merge(tmp_path: pathlib.Path, whole: dict[tuple[str, str], str]) -> None:
    """``parity merge`` of the three shards is the unsharded run; a missing shard leaves gaps,
    a shard given twice duplicates, a changed status conflicts, another seed is refused."""
    shards = [str(tmp_path / f"s{k}") for k in (1, 2, 3)]
    assert main(["merge", str(tmp_path / "m"), *shards]) == 0
    report = read_report(tmp_path / "m" / "report.json")
    assert {(r["case"], r["backend"]): r["status"] for r in report["results"]} == whole
    assert all(r["stats"]["machine"]["host"] for r in report["results"])
    assert (tmp_path / "m" / "junit.xml").is_file() and (tmp_path / "m" / "report.html").is_file()
    assert report["summary"]["gaps"] == [] and report["summary"]["conflicts"] == []

    assert main(["merge", str(tmp_path / "gap"), *shards[:2]]) == 1
    gaps = read_report(tmp_path / "gap" / "report.json")["summary"]["gaps"]
    third = {(r["case"], r["backend"]) for r in read_report(tmp_path / "s3.json")["results"]}
    assert {tuple(g) for g in gaps} == third

    assert main(["merge", str(tmp_path / "dup"), *shards, shards[0]]) == 0
    dup = read_report(tmp_path / "dup" / "report.json")["summary"]["duplicates"]
    first = {(r["case"], r["backend"]) for r in read_report(tmp_path / "s1.json")["results"]}
    assert {tuple(d) for d in dup} == first

    other = tmp_path / "other"
    shutil.copytree(shards[0], other)
    lines = (other / "results.jsonl").read_text().splitlines()
    row = json.loads(lines[0])
    row["status"] = "MISMATCH"
    (other / "results.jsonl").write_text("\n".join([json.dumps(row), *lines[1:]]) + "\n")
    assert main(["merge", str(tmp_path / "conflict"), *shards, str(other)]) == 1
    (conflict,) = read_report(tmp_path / "conflict" / "report.json")["summary"]["conflicts"]
    assert (conflict["case"], conflict["backend"]) == (row["case"], row["backend"])
    assert sorted(s for _, s in conflict["found"]) == ["MISMATCH", "PASS"]

    record = json.loads((other / "run.json").read_text())
    (other / "run.json").write_text(json.dumps({**record, "seed": 7}))
    assert main(["merge", str(tmp_path / "seed"), shards[0], str(other)]) == 2


def test_select_shard_is_the_kth_part() -> None:
    refs = CASES.expand()
    parts = assign(refs, BACKENDS, 3)
    assert select_shard(refs, BACKENDS, Shard.parse("2/3")) == parts[1]
    assert str(Shard.parse("2/3")) == "2/3"

"""Every malformed tolerance rules file and expectations file of :mod:`fuzz_inputs` is refused.

For each variant: the loader the CLI calls (``ToleranceRules.load`` / ``ExpectationSet.load``)
raises a ParityError naming the file, and ``parity run -b torch -k relu --tolerances F`` (or
``--expectations DIR`` with the file as ``DIR/torch.toml``), run in-process from the variant's
own directory, exits 1 or 2 with one ``parity: error:`` line naming the file, no traceback, and
creates nothing outside its ``--artifact-dir`` (nor the cache). A usage error costs ~15 ms, so
every variant goes through the CLI.
"""

from __future__ import annotations

import pathlib
from collections.abc import Callable, Iterable

import pytest

from fuzz_inputs import Variant, malformed_expectation_files, malformed_tolerance_files
from paritykit.cli.main import main
from paritykit.core.errors import ParityError
from paritykit.core.expectations import ExpectationSet
from paritykit.core.tolerance import ToleranceRules

ARTIFACTS = "out"


@pytest.fixture(autouse=True)
def _wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    """rich wraps at $COLUMNS when output is not a terminal; keep messages on one line."""
    monkeypatch.setenv("COLUMNS", "1000")


def _tree(root: pathlib.Path) -> set[pathlib.Path]:
    return {p.relative_to(root) for p in root.rglob("*")}


def _place_tolerances(work: pathlib.Path, data: bytes) -> tuple[list[str], str]:
    (work / "tolerances.json").write_bytes(data)
    return ["--tolerances", "tolerances.json"], "tolerances.json"


def _place_expectations(work: pathlib.Path, data: bytes) -> tuple[list[str], str]:
    (work / "exp").mkdir()
    (work / "exp" / "torch.toml").write_bytes(data)
    return ["--expectations", "exp"], str(pathlib.Path("exp", "torch.toml"))


def _load_tolerances(work: pathlib.Path) -> None:
    ToleranceRules.load(work / "tolerances.json")


def _load_expectations(work: pathlib.Path) -> None:
    ExpectationSet.load([work / "exp"])


def _problems(name: str, work: pathlib.Path, load: Callable[[pathlib.Path], None],
              argv: list[str], shown: str, tmp_path: pathlib.Path,
              capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> list[str]:
    problems = []
    try:
        load(work)
        problems.append("the loader accepted it")
    except ParityError as exc:
        if shown not in str(exc):
            problems.append(f"loader message does not name {shown}: {exc}")
    except BaseException as exc:  # the point: nothing else escapes
        problems.append(f"the loader raised {type(exc).__name__}: {exc}"[:300])
    monkeypatch.chdir(work)
    before = _tree(tmp_path)
    capsys.readouterr()
    try:
        code: int | str = main(["run", "-b", "torch", "-k", "relu", "--artifact-dir", ARTIFACTS,
                                *argv])
    except BaseException as exc:
        code = f"raised {type(exc).__name__}: {exc}"[:300]
    out, err = capsys.readouterr()
    created = {p for p in _tree(tmp_path) - before
               if (work / ARTIFACTS) not in (tmp_path / p).parents
               and tmp_path / p != work / ARTIFACTS}
    lines = err.strip().splitlines()
    if code not in (1, 2):
        problems.append(f"exit {code!r}")
    if "Traceback" in out + err:
        problems.append("a traceback in the output")
    if len(lines) != 1 or not lines[0].startswith("parity: error: ") or shown not in lines[0]:
        problems.append(f"not one 'parity: error:' line naming {shown}: {err[:300]!r}")
    if created:
        problems.append(f"created outside {ARTIFACTS}/: {sorted(map(str, created))}")
    return [f"{name}: {p}" for p in problems]


@pytest.mark.parametrize(
    ("variants", "place", "load"),
    [(malformed_tolerance_files, _place_tolerances, _load_tolerances),
     (malformed_expectation_files, _place_expectations, _load_expectations)],
    ids=["tolerances", "expectations"],
)
def test_every_malformed_file_is_a_clean_usage_error(
    variants: Callable[[], Iterable[Variant]],
    place: Callable[[pathlib.Path, bytes], tuple[list[str], str]],
    load: Callable[[pathlib.Path], None],
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    found = list(variants())
    assert len(found) >= 30
    assert len({name for name, _ in found}) == len(found), "variant names must be unique"
    problems: list[str] = []
    for i, (name, data) in enumerate(found):
        work = tmp_path / f"v{i:03d}"
        work.mkdir()
        argv, shown = place(work, data)
        problems += _problems(name, work, load, argv, shown, tmp_path, capsys, monkeypatch)
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems)


def test_the_variants_are_bytes_and_cover_the_listed_kinds() -> None:
    tolerances = dict(malformed_tolerance_files())
    expectations = dict(malformed_expectation_files())
    assert all(isinstance(v, bytes) for v in [*tolerances.values(), *expectations.values()])
    for kind in ("-type-", "-literal-NaN", "-literal-1e400", "-out-of-range-", "unknown-key-",
                 "dtype-bad-", "utf-16", "truncated-", "empty-file", "deep-", "top-level-"):
        assert any(kind in name for name in tolerances), kind
    for kind in ("strict-", "entry-unknown-key-", "unknown-table-", "backend-", "utf-16",
                 "latin-1", "truncated-", "deep-", "duplicate-key"):
        assert any(kind in name for name in expectations), kind

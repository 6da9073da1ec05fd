"""The code in the README and docs runs as written."""

from __future__ import annotations

import pathlib
import re

import pytest

from paritykit.cli.main import main

ROOT = pathlib.Path(__file__).resolve().parents[1]
FENCE = re.compile(r"```python\n(.*?)```", re.S)


def _blocks(doc: str) -> list[str]:
    return FENCE.findall((ROOT / doc).read_text())


@pytest.mark.parametrize(("doc", "case"), [("README.md", "my_linear_nobias"),
                                           ("docs/writing-cases.md", "my_softmax_dim1_fp16")])
def test_case_examples_register_and_pass(doc: str, case: str, tmp_path: pathlib.Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    source = "\n".join(b for b in _blocks(doc) if "register_test" in b)
    plugin = tmp_path / "doc_cases.py"
    plugin.write_text(source)
    code = main(["run", case, "-p", str(plugin), "-b", "torch-export",
                 "--artifact-dir", str(tmp_path / "out"), "--no-cache"])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert "1 result: 1 PASS" in out


def test_third_party_backend_example_runs(tmp_path: pathlib.Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["run", "relu", "linear", "add_bf16", "-p",
                 str(ROOT / "examples/fx_interpreter_backend.py"), "-b", "fx-interpreter",
                 "--artifact-dir", str(tmp_path / "out"), "--no-cache", "-v"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "UNSUPPORTED" in out  # bf16, as its capabilities declare
    assert "FAIL" not in out and "MISMATCH" not in out


def test_every_builtin_backend_has_a_docs_page() -> None:
    """Each page title names the backends it covers: "# `openvino` and `openvino-default`"."""
    from paritykit.core.registry import BACKENDS

    titles = {p.name: p.read_text().splitlines()[0] for p in (ROOT / "docs/backends").glob("*.md")}
    for name in BACKENDS.names():
        if BACKENDS.info(name).origin == "built-in":
            assert any(f"`{name}`" in t for t in titles.values()), f"no docs/backends page: {name}"

"""Third-party backends arrive through the ``paritykit.backends`` entry-point group."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

BACKEND_MODULE = '''
import pathlib
import paritykit as pk
from paritykit.backends._torch_common import TorchPrepared


@pk.register_backend
class FakeEntryPointBackend(pk.Backend):
    """Test-only fake shipped by an installed distribution's entry point."""

    name = "fake-entry-point"
    description = "registered through an entry point"

    def prepare(self, program: pk.Program, workdir: pathlib.Path) -> pk.Prepared:
        return TorchPrepared(program.exported().module())
'''


def _install_fake_distribution(root: pathlib.Path) -> None:
    (root / "fake_ep_backend.py").write_text(BACKEND_MODULE)
    info = root / "fake_ep_dist-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: fake-ep-dist\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        "[paritykit.backends]\nfake-entry-point = fake_ep_backend\n")


def _parity(root: pathlib.Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(root), "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "paritykit.cli.main", *args], env=env, text=True,
                          capture_output=True, timeout=300, check=False)


def test_entry_point_backend_is_listed_and_runs(tmp_path: pathlib.Path) -> None:
    _install_fake_distribution(tmp_path)
    listed = _parity(tmp_path, "backends")
    assert listed.returncode == 0, listed.stderr
    line = next(x for x in listed.stdout.splitlines() if "fake-entry-point" in x)
    assert "fake_ep_backend" in line  # the origin column names the module
    ran = _parity(tmp_path, "run", "abs", "-b", "fake-entry-point", "--artifact-dir",
                  str(tmp_path / "out"), "--no-cache")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "1 result: 1 PASS" in ran.stdout


def test_broken_entry_point_is_a_usage_error_naming_it(tmp_path: pathlib.Path) -> None:
    _install_fake_distribution(tmp_path)
    (tmp_path / "fake_ep_backend.py").write_text("raise ImportError('no such framework')\n")
    listed = _parity(tmp_path, "backends")
    assert listed.returncode == 2
    assert "fake-entry-point" in listed.stderr and "no such framework" in listed.stderr
    assert "Traceback" not in listed.stderr

"""Small helpers shared by the workloads: where files go, repro commands, results."""

from __future__ import annotations

import pathlib
import shlex

from paritykit.core.result import Result, Status
from paritykit.evaluate.options import EvalOptions
from paritykit.files.artifacts import backend_dir
from paritykit.run.worker import repro_flags


def workdir(options: EvalOptions, backend: str, *parts: str) -> pathlib.Path:
    """``DIR/model_<name>/<backend>/<parts...>``: where a backend's lowered files go."""
    path = backend_dir(pathlib.Path(options.artifact_dir), options.case_id, backend)
    for part in parts:
        path = path / "".join(c if c.isalnum() or c in "-_." else "_" for c in part)
    return path


def repro(options: EvalOptions, backend: str, workload: str | None = None) -> str:
    """One command that reruns this model/workload on just ``backend``."""
    args = ["parity", "eval", "--model", options.model, "--workload",
            workload or options.workload, "-b", backend, "--seed", str(options.seed)]
    if options.weights:
        args += ["--weights", options.weights]
    args += repro_flags(options.plugins, options.tolerances_path, options.backend_options)
    return shlex.join(args)


def failed_result(options: EvalOptions, backend: str, status: Status, message: str,
                  detail: str) -> Result:
    """The Result of a backend job that crashed, timed out or raised."""
    return Result(case=options.case_id, backend=backend, base=options.case_id, status=status,
                  message=f"{options.case_id} @ {backend}: {message}", traceback=detail,
                  repro=repro(options, backend, "validate"))

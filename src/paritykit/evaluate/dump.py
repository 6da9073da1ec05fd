"""``--dump-dir DIR --dump-mode lowered|activations|all``: what was lowered, and what eager saw.

Layout::

    DIR/<model>/exported_program.txt          the torch.export program every backend starts from
    DIR/<model>/<backend>/<files>             the backend's lowered files (Prepared.artifact, ...)
    DIR/<model>/activations.safetensors       every traced module's inputs and outputs
                                              (``<module>[#call].input_<i>`` / ``.output_<i>``)
"""

from __future__ import annotations

import pathlib
import shutil

from paritykit.evaluate.options import EvalOptions


def model_dir(options: EvalOptions) -> pathlib.Path:
    """``DIR/<model>``."""
    assert options.dump_dir is not None
    return pathlib.Path(options.dump_dir, options.model)


def write_lowered(options: EvalOptions, backend: str, workdir: pathlib.Path,
                  sub: str = "") -> pathlib.Path:
    """Copy everything the backend wrote in ``workdir`` to ``DIR/<model>/<backend>[/sub]``."""
    target = model_dir(options) / backend
    if sub:
        target = target / sub
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(workdir, target)
    return target


def write_exported(options: EvalOptions) -> pathlib.Path | None:
    """The model's ``torch.export`` program as text (None when it cannot be exported)."""
    import torch

    from paritykit.evaluate.model import load_model

    loaded = load_model(options, with_reference=False)
    path = model_dir(options) / "exported_program.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        ep = torch.export.export(loaded.module, loaded.inputs, strict=False)
    except Exception as exc:
        path.write_text(f"torch.export failed: {type(exc).__name__}: {exc}\n")
        return None
    path.write_text(str(ep))
    return path


def write_activations(options: EvalOptions) -> pathlib.Path:
    """Every traced module call's inputs and outputs of the eager reference, as safetensors."""
    from paritykit.evaluate.capture import capture_calls
    from paritykit.evaluate.model import load_model

    loaded = load_model(options, with_reference=False)
    calls = capture_calls(loaded.module, loaded.inputs, options.trace_depth,
                          options.trace_all)
    path = model_dir(options) / "activations.safetensors"
    path.parent.mkdir(parents=True, exist_ok=True)
    import safetensors.torch

    tensors = {}
    for call in calls:
        for i, t in enumerate(call.tensor_args):
            tensors[f"{call.label}.input_{i}"] = t
        for i, t in enumerate(call.outputs):
            tensors[f"{call.label}.output_{i}"] = t
    safetensors.torch.save_file({k: v.contiguous() for k, v in tensors.items()}, str(path))
    return path


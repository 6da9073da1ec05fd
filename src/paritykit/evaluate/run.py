"""``run``: the model doing its job on a backend, next to the same job in torch eager.

- language models generate: the prompt goes through the tokenizer (bytes by default, or
  ``--tokenizer FILE``), then :func:`paritykit.models.generate` with the step compiled on the
  backend. Without ``--kv-cache`` the whole model is lowered once for a static window (the
  prefix right-padded, which causal attention cannot see); with it, ``kv_step_module`` is
  lowered twice, for the prompt (prefill) and for one token (decode).
- vision and tabular models classify: the top-5 classes and probabilities of the first sample of
  ``--input FILE.npy|.safetensors`` or of the model's deterministic random input.
"""

from __future__ import annotations

import pathlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from paritykit.core.errors import ParityError
from paritykit.core.program import Program
from paritykit.core.result import Status
from paritykit.evaluate import dump, lowering, profiling
from paritykit.evaluate.common import workdir
from paritykit.evaluate.model import LoadedModel, load_model
from paritykit.evaluate.options import EvalOptions

EAGER = "torch eager"


@dataclass
class RunOutput:
    """What one backend (or eager) produced for the run workload."""

    backend: str
    status: str = Status.PASS.value
    #: "generate" (language models) or "classify" (the others).
    task: str = ""
    message: str = ""
    tokens: list[int] = field(default_factory=list)
    text: str = ""
    top5: list[tuple[int, float]] = field(default_factory=list)
    prepare_s: float | None = None
    #: Profile table text (``--profile``), or why there is none.
    profile: str = ""

    @property
    def ok(self) -> bool:
        """True when the backend produced an answer."""
        return self.status == Status.PASS.value


def read_input(path: str) -> torch.Tensor:
    """``--input``: a ``.npy`` array or the first tensor of a ``.safetensors`` file."""
    p = pathlib.Path(path)
    if not p.is_file():
        raise ParityError(f"--input {path}: no such file")
    if p.suffix == ".npy":
        return torch.from_numpy(np.load(p, allow_pickle=False))
    if p.suffix == ".safetensors":
        import safetensors.torch

        tensors = safetensors.torch.load_file(str(p))
        if not tensors:
            raise ParityError(f"--input {path}: the file holds no tensor")
        return next(iter(tensors.values()))
    raise ParityError(f"--input {path}: expected a .npy or .safetensors file")


def model_inputs(options: EvalOptions, loaded: LoadedModel) -> tuple[torch.Tensor, ...]:
    """The classification input: ``--input`` (checked against the model's shape) or the default."""
    if options.input_path is None:
        return loaded.inputs
    tensor = read_input(options.input_path)
    want = loaded.inputs[0]
    if tensor.dim() == want.dim() - 1:
        tensor = tensor.unsqueeze(0)
    if tuple(tensor.shape[1:]) != tuple(want.shape[1:]):
        wants = ", ".join(map(str, want.shape[1:]))
        raise ParityError(f"--input {options.input_path}: shape {list(tensor.shape)} does not "
                          f"fit model {options.model} (wants [N, {wants}])")
    return (tensor.to(want.dtype),)


def top5(logits: np.ndarray) -> list[tuple[int, float]]:
    """The five most likely classes of the first sample, with softmax probabilities.

    >>> top5(np.array([[0.0, 3.0, 1.0]]))[0][0]
    1
    """
    row = np.asarray(logits, dtype=np.float64).reshape(logits.shape[0], -1)[0]
    probs = np.exp(row - row.max())
    probs /= probs.sum()
    order = np.argsort(-probs, kind="stable")[:5]
    return [(int(i), float(probs[i])) for i in order]


def prompt_ids(options: EvalOptions) -> tuple[Any, list[int]]:
    """The tokenizer and the encoded prompt."""
    from paritykit.models import load_tokenizer

    tokenizer = load_tokenizer(options.tokenizer)
    ids = list(tokenizer.encode(options.prompt))
    if not ids:
        raise ParityError("--prompt is empty; give at least one character")
    return tokenizer, ids


def _decode(tokenizer: Any, ids: list[int]) -> str:
    try:
        return str(tokenizer.decode(ids))
    except Exception as exc:  # ids outside the tokenizer's vocabulary: show the ids instead
        return f"<cannot decode: {type(exc).__name__}: {exc}>"


def run_eager(options: EvalOptions) -> RunOutput:
    """The run workload in torch eager (the reference answer)."""
    loaded = load_model(options, with_reference=False)
    language = loaded.spec.kind == "language"
    out = RunOutput(EAGER, task="generate" if language else "classify")
    if language:
        from paritykit.models import generate

        tokenizer, ids = prompt_ids(options)
        out.tokens = generate(loaded.module, ids, options.max_tokens, options.temperature,
                              options.seed)
        out.text = _decode(tokenizer, out.tokens)
    else:
        with torch.no_grad():
            logits = loaded.module(*model_inputs(options, loaded))
        out.top5 = top5(logits.numpy())
    return out


def _prepare(options: EvalOptions, backend: str, name: str, module: torch.nn.Module,
             inputs: tuple[torch.Tensor, ...], out: RunOutput) -> lowering.Outcome:
    program = Program(name, module, inputs,
                      options=dict(options.backend_options.get(backend, {})))
    directory = workdir(options, backend, "run-" + name.rsplit(":", 1)[-1])
    outcome = lowering.prepare(backend, program, directory, name)
    if outcome.prepared is not None:
        out.prepare_s = (out.prepare_s or 0.0) + (outcome.prepare_s or 0.0)
        if options.dumps_lowered:
            dump.write_lowered(options, backend, directory, sub=directory.name)
    return outcome


def _generate(options: EvalOptions, backend: str, loaded: LoadedModel, out: RunOutput) -> None:
    from paritykit.models import cache_shape, generate, kv_step_module

    tokenizer, ids = prompt_ids(options)
    total = len(ids) + options.max_tokens
    case = options.case_id
    if options.kv_cache:
        step = kv_step_module(loaded.module, total)
        shape = cache_shape(loaded.module, total)
        k = torch.zeros(shape)
        main_in: tuple[torch.Tensor, ...] = (
            torch.zeros(1, 1, dtype=torch.long), torch.zeros(1, dtype=torch.long), k, k.clone())
        decode = _prepare(options, backend, f"{case}:decode", step, main_in, out)
        prefill = None
        if decode.prepared is not None and len(ids) > 1:
            prefill = _prepare(options, backend, f"{case}:prefill", step,
                               (torch.tensor([ids]), torch.zeros(1, dtype=torch.long), k,
                                k.clone()), out)
        failed = next((o for o in (decode, prefill) if o is not None and o.prepared is None),
                      None)
        if failed is not None:
            out.status, out.message = failed.status.value, failed.message
            return
        assert decode.prepared is not None
        out.tokens = generate(decode.prepared.run, ids, options.max_tokens, options.temperature,
                              options.seed, cache_shape=shape,
                              prefill=prefill.prepared.run if prefill and prefill.prepared
                              else None)
        main = decode
    else:
        window = max(total - 1, 1)
        main_in = (torch.zeros(1, window, dtype=torch.long),)
        main = _prepare(options, backend, f"{case}:window", loaded.module, main_in, out)
        if main.prepared is None:
            out.status, out.message = main.status.value, main.message
            return
        out.tokens = generate(main.prepared.run, ids, options.max_tokens, options.temperature,
                              options.seed, window=window)
    out.text = _decode(tokenizer, out.tokens)
    if options.profile and main.prepared is not None:
        out.profile = profiling.profile_run(backend, main.prepared,
                                            lowering.numpy_inputs(main_in))


def run_backend(options: EvalOptions, backend: str) -> RunOutput:
    """The run workload with the model compiled on ``backend``; failures are statuses."""
    out = RunOutput(backend)
    loaded = load_model(options, with_reference=False)
    try:
        if loaded.spec.kind == "language":
            _generate(options, backend, loaded, out)
            return out
        inputs = model_inputs(options, loaded)
        outcome = _prepare(options, backend, options.case_id, loaded.module, inputs, out)
        outcome = lowering.run(outcome, lowering.numpy_inputs(inputs), options.case_id, backend)
    except ParityError:
        raise
    except Exception as exc:  # a failure while generating: the step ran and raised
        out.status = Status.RUN_ERROR.value
        out.message = f"{options.case_id} @ {backend}: run failed — {type(exc).__name__}: {exc}"
        return out
    if outcome.status is not Status.PASS:
        out.status, out.message = outcome.status.value, outcome.message
        return out
    out.top5 = top5(outcome.outputs[0])
    if options.profile and outcome.prepared is not None:
        out.profile = profiling.profile_run(backend, outcome.prepared,
                                            lowering.numpy_inputs(inputs))
    return out


def failed_run(options: EvalOptions, backend: str, status: Status, message: str,
               detail: str) -> RunOutput:
    """The output of a job whose process crashed, timed out or raised."""
    return RunOutput(backend, status=status.value,
                     message=f"{options.case_id} @ {backend}: {message}")

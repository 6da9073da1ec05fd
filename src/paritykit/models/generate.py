"""Token generation over an eager module or a backend-compiled step.

``generate(step, prompt_ids, max_tokens, temperature=0.0, seed=0, *, cache_shape=None,
prefill=None, window=None, top_k=None, stop_id=None) -> list[int]`` returns the new token ids
(batch 1). ``step`` is either a ``torch.nn.Module`` (run eagerly under ``no_grad``) or a callable
on NumPy arrays, ``step(list[np.ndarray]) -> list[np.ndarray]`` (what ``Prepared.run`` is):

- without a cache (``cache_shape=None``): ``step([ids [1, W] int64]) -> [logits [1, W, V]]``,
  re-run on the whole prefix for every token. ``W`` is the prefix length, or, when ``window`` is
  given (a program exported for one static length), the prefix right-padded with token 0 to
  ``window`` tokens (causal attention makes the padding invisible; a longer prefix keeps its last
  ``window`` tokens).
- with a KV cache (``cache_shape=(L, 1, H, max_len, Dh)``, see :func:`cache_shape`):
  ``step([ids [1, 1], pos [1], k, v]) -> [logits [1, 1, V], k, v]`` — a
  :func:`~paritykit.models.kv_step_module` exported with ``T = 1`` (an eager gpt2 model is
  wrapped in one for you). The prompt goes through
  ``prefill`` (the same step exported with ``T = len(prompt_ids)``) when given, else token by
  token through ``step``.

``temperature == 0`` is greedy (argmax, lowest id on ties); otherwise tokens are sampled from
``softmax(logits / temperature)`` (restricted to the ``top_k`` largest when set) with
``numpy.random.default_rng(seed)``, so a seed gives the same tokens on every run.

Example::

    model = get_model("gpt2-tiny").build(seed=0)
    greedy = generate(model, [72, 105], max_tokens=5, temperature=0.0, seed=0)
    cached = generate(kv_step_module(model, 16), [72, 105], 5, 0.0, 0,
                      cache_shape=cache_shape(model, 16))
    assert greedy == cached
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from paritykit.core.errors import ParityError
from paritykit.models.gpt2 import GPT2LMHeadModel, kv_step_module

NumpyStep = Callable[[list[np.ndarray]], list[np.ndarray]]


def torch_step(module: torch.nn.Module) -> NumpyStep:
    """Wrap a module as a NumPy-in, NumPy-out step (eager, ``no_grad``)."""
    def run(arrays: list[np.ndarray]) -> list[np.ndarray]:
        with torch.no_grad():
            out = module(*(torch.from_numpy(np.ascontiguousarray(a)) for a in arrays))
        outs = out if isinstance(out, (tuple, list)) else (out,)
        return [o.detach().cpu().numpy() for o in outs]
    return run


def cache_shape(model: torch.nn.Module, max_len: int, batch: int = 1) -> tuple[int, ...]:
    """``(n_layer, batch, n_head, max_len, head_dim)`` of a gpt2 model's KV cache."""
    config = getattr(getattr(model, "model", model), "config", None)  # a KVStep or the model
    if not isinstance(config, dict) or "n_head" not in config:
        raise ParityError(f"cache_shape needs a gpt2 model, got {type(model).__name__}")
    heads = int(config["n_head"])
    return (int(config["n_layer"]), batch, heads, max_len, int(config["n_embd"]) // heads)


def _as_step(step: Any) -> NumpyStep:
    if isinstance(step, torch.nn.Module):
        return torch_step(step)
    if not callable(step):
        raise ParityError(f"generate: step must be a module or a callable, got {type(step)}")
    return step


def _last_logits(outputs: Sequence[np.ndarray], index: int = -1) -> np.ndarray:
    logits = np.asarray(outputs[0])
    if logits.ndim != 3 or logits.shape[0] != 1:
        raise ParityError(f"generate: step returned logits of shape {logits.shape}; "
                          "expected [1, T, vocab]")
    return logits[0, index].astype(np.float64)


def pick(logits: np.ndarray, temperature: float, rng: np.random.Generator,
         top_k: int | None = None) -> int:
    """Greedy (``temperature == 0``) or sampled next token from one row of logits."""
    if temperature == 0:
        return int(np.argmax(logits))
    scaled = logits / temperature
    if top_k is not None and top_k < scaled.size:
        cutoff = np.partition(scaled, -top_k)[-top_k]
        scaled = np.where(scaled >= cutoff, scaled, -np.inf)
    probs = np.exp(scaled - scaled.max())
    probs /= probs.sum()
    return int(rng.choice(probs.size, p=probs))


def generate(step: Any, prompt_ids: Sequence[int], max_tokens: int, temperature: float = 0.0,
             seed: int = 0, *, cache_shape: Sequence[int] | None = None,
             prefill: Any = None, window: int | None = None, top_k: int | None = None,
             stop_id: int | None = None) -> list[int]:
    """The ``max_tokens`` new token ids after ``prompt_ids`` (fewer if ``stop_id`` comes).

    See the module docstring for the two step forms.
    """
    if not prompt_ids:
        raise ParityError("generate: the prompt is empty; give at least one token")
    if max_tokens < 0 or temperature < 0:
        raise ParityError("generate: max_tokens and temperature must not be negative")
    if cache_shape is not None and isinstance(step, GPT2LMHeadModel):
        step = kv_step_module(step, int(cache_shape[3]))  # the eager model, cached
    run = _as_step(step)
    rng = np.random.default_rng(seed)
    ids = [int(i) for i in prompt_ids]
    new: list[int] = []
    if cache_shape is None:
        for _ in range(max_tokens):
            feed, last = _window(ids, window)
            token = pick(_last_logits(run([feed]), last), temperature, rng, top_k)
            new.append(token)
            ids.append(token)
            if token == stop_id:
                break
        return new
    return _generate_cached(run, prefill, ids, max_tokens, temperature, rng,
                            tuple(int(s) for s in cache_shape), top_k, stop_id)


def _window(ids: list[int], window: int | None) -> tuple[np.ndarray, int]:
    """The ids to feed ([1, W]) and the index of the last real token in them."""
    if window is None:
        return np.asarray([ids], dtype=np.int64), len(ids) - 1
    kept = ids[-window:]
    padded = kept + [0] * (window - len(kept))
    return np.asarray([padded], dtype=np.int64), len(kept) - 1


def _generate_cached(run: NumpyStep, prefill: Any, ids: list[int], max_tokens: int,
                     temperature: float, rng: np.random.Generator, shape: tuple[int, ...],
                     top_k: int | None, stop_id: int | None) -> list[int]:
    if len(shape) != 5 or shape[1] != 1:
        raise ParityError(f"generate: cache_shape must be (layers, 1, heads, max_len, "
                          f"head_dim), got {shape}")
    max_len = shape[3]
    if len(ids) + max_tokens - 1 > max_len:
        raise ParityError(f"generate: prompt ({len(ids)} tokens) + max_tokens ({max_tokens}) "
                          f"does not fit the KV cache of {max_len} positions; export the step "
                          "with a larger max_len")
    k = np.zeros(shape, dtype=np.float32)
    v = np.zeros(shape, dtype=np.float32)
    if prefill is not None:
        outs = _as_step(prefill)([np.asarray([ids], dtype=np.int64),
                                  np.zeros(1, dtype=np.int64), k, v])
        logits, k, v = _last_logits(outs), outs[1], outs[2]
    else:
        for position, token in enumerate(ids):
            outs = run([np.asarray([[token]], dtype=np.int64),
                        np.asarray([position], dtype=np.int64), k, v])
            k, v = outs[1], outs[2]
        logits = _last_logits(outs)
    new: list[int] = []
    for i in range(max_tokens):
        token = pick(logits, temperature, rng, top_k)
        new.append(token)
        if token == stop_id or i == max_tokens - 1:
            break
        outs = run([np.asarray([[token]], dtype=np.int64),
                    np.asarray([len(ids) + i], dtype=np.int64), k, v])
        logits, k, v = _last_logits(outs), outs[1], outs[2]
    return new

"""GPT-2 with Hugging Face ``GPT2LMHeadModel`` parameter names, and its KV-cache step module.

Written in plain ops (matmul, softmax, ``where`` over a causal-mask buffer, tanh GELU) so that
every backend lowers it; no ``scaled_dot_product_attention``. Linear layers are HF's ``Conv1D``
(weight laid out ``[in, out]``), so ``transformer.h.0.attn.c_attn.weight`` of a real checkpoint
loads as is. ``lm_head.weight`` is tied to ``transformer.wte.weight``.

Example::

    model = get_model("gpt2-tiny").build(seed=0)
    step = kv_step_module(model, max_len=32)
    ids = torch.tensor([[1, 2, 3]])
    k, v = (torch.zeros(cache_shape(model, 32)) for _ in range(2))
    logits, k, v = step(ids, torch.tensor([0]), k, v)   # prefill 3 tokens
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from paritykit.models.spec import ModelSpec, register_model

#: The real GPT-2 small (124M parameters).
GPT2_CONFIG: dict[str, Any] = {"vocab_size": 50257, "n_positions": 1024, "n_embd": 768,
                               "n_layer": 12, "n_head": 12, "layer_norm_epsilon": 1e-5,
                               "initializer_range": 0.02}
#: A tiny config for CI; vocabulary 256 so that the byte tokenizer fits.
GPT2_TINY_CONFIG: dict[str, Any] = {"vocab_size": 256, "n_positions": 128, "n_embd": 64,
                                    "n_layer": 2, "n_head": 2, "layer_norm_epsilon": 1e-5,
                                    "initializer_range": 0.02}


class Conv1D(nn.Module):
    """HF's Conv1D: a linear layer whose weight is ``[in_features, out_features]``."""

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(in_features, out_features))
        self.bias = nn.Parameter(torch.zeros(out_features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x @ self.weight + self.bias


def gelu_new(x: torch.Tensor) -> torch.Tensor:
    """GPT-2's tanh approximation of GELU, written out as HF's ``NewGELUActivation`` does."""
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x.pow(3))))


def attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, allowed: torch.Tensor
           ) -> torch.Tensor:
    """Softmax attention of ``q [B,H,T,Dh]`` over ``k, v [B,H,S,Dh]``; ``allowed [T,S]`` bool."""
    scores = (q @ k.transpose(-1, -2)) / math.sqrt(q.shape[-1])
    # A finite minimum, not -inf: exp() underflows to exactly 0 and no row becomes NaN. A Python
    # scalar, not a tensor constant: lifted constants trip IREE (detach_) and torchax.
    masked = torch.where(allowed, scores, torch.finfo(scores.dtype).min)
    return torch.softmax(masked, dim=-1) @ v


class Attention(nn.Module):
    """Multi-head causal self-attention (``c_attn`` → heads → ``c_proj``)."""

    def __init__(self, n_embd: int, n_head: int) -> None:
        super().__init__()
        self.n_head = n_head
        self.c_attn = Conv1D(n_embd, 3 * n_embd)
        self.c_proj = Conv1D(n_embd, n_embd)

    def qkv(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Queries, keys and values, each ``[B, H, T, Dh]``."""
        b, t, d = x.shape
        q, k, v = self.c_attn(x).split(d, dim=2)
        def heads(y: torch.Tensor) -> torch.Tensor:
            return y.reshape(b, t, self.n_head, d // self.n_head).transpose(1, 2)
        return heads(q), heads(k), heads(v)

    def merge(self, y: torch.Tensor) -> torch.Tensor:
        """``[B, H, T, Dh]`` back to ``[B, T, D]``, then the output projection."""
        b, h, t, dh = y.shape
        return self.c_proj(y.transpose(1, 2).reshape(b, t, h * dh))

    def forward(self, x: torch.Tensor, allowed: torch.Tensor) -> torch.Tensor:
        q, k, v = self.qkv(x)
        return self.merge(attend(q, k, v, allowed))


class MLP(nn.Module):
    """``c_fc`` → GELU (tanh) → ``c_proj``."""

    def __init__(self, n_embd: int) -> None:
        super().__init__()
        self.c_fc = Conv1D(n_embd, 4 * n_embd)
        self.c_proj = Conv1D(4 * n_embd, n_embd)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.c_proj(gelu_new(self.c_fc(x)))


class Block(nn.Module):
    """Pre-norm transformer block: ``ln_1``, ``attn``, ``ln_2``, ``mlp``."""

    def __init__(self, n_embd: int, n_head: int, eps: float) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(n_embd, eps=eps)
        self.attn = Attention(n_embd, n_head)
        self.ln_2 = nn.LayerNorm(n_embd, eps=eps)
        self.mlp = MLP(n_embd)

    def forward(self, x: torch.Tensor, allowed: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x), allowed)
        return x + self.mlp(self.ln_2(x))


class GPT2Model(nn.Module):
    """Embeddings (``wte``, ``wpe``), blocks ``h.N``, final ``ln_f``."""

    causal: torch.Tensor

    def __init__(self, config: Mapping[str, Any]) -> None:
        super().__init__()
        d, ctx = int(config["n_embd"]), int(config["n_positions"])
        self.wte = nn.Embedding(int(config["vocab_size"]), d)
        self.wpe = nn.Embedding(ctx, d)
        eps = float(config["layer_norm_epsilon"])
        self.h = nn.ModuleList(Block(d, int(config["n_head"]), eps)
                               for _ in range(int(config["n_layer"])))
        self.ln_f = nn.LayerNorm(d, eps=eps)
        # Not persistent: absent from state_dict, as in Hugging Face's checkpoints.
        self.register_buffer("causal", torch.ones(ctx, ctx, dtype=torch.bool).tril(),
                             persistent=False)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        t = input_ids.shape[1]
        x = self.wte(input_ids) + self.wpe(torch.arange(t, device=input_ids.device))
        allowed = self.causal[:t, :t]
        for block in self.h:
            x = block(x, allowed)
        return self.ln_f(x)


class GPT2LMHeadModel(nn.Module):
    """GPT-2 language model: ``forward(input_ids [B, T] int64) -> logits [B, T, vocab]``."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        super().__init__()
        self.config = dict(config)
        self.transformer = GPT2Model(config)
        self.lm_head = nn.Linear(int(config["n_embd"]), int(config["vocab_size"]), bias=False)
        self.lm_head.weight = self.transformer.wte.weight  # tied, as in GPT-2

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        return self.lm_head(self.transformer(input_ids))

    @staticmethod
    def normalize_archive_keys(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Accept Hugging Face files as published: ``GPT2Model`` names without the
        ``transformer.`` prefix, and the ``attn.bias`` / ``attn.masked_bias`` mask buffers
        that older checkpoints carry."""
        out: dict[str, torch.Tensor] = {}
        for name, tensor in tensors.items():
            if name.endswith((".attn.bias", ".attn.masked_bias")):
                continue
            if not name.startswith(("transformer.", "lm_head.")):
                name = f"transformer.{name}"
            out[name] = tensor
        return out


def init_gpt2(model: GPT2LMHeadModel) -> None:
    """GPT-2's initialisation (normal, std ``initializer_range``; residual projections scaled by
    1/sqrt(2·n_layer)) plus small random biases and norms, so no term is trivially zero."""
    std = float(model.config["initializer_range"])
    n_layer = int(model.config["n_layer"])
    with torch.no_grad():
        for name, param in model.named_parameters():
            if name.endswith("c_proj.weight"):
                param.normal_(0.0, std / math.sqrt(2 * n_layer))
            elif "ln_" in name and name.endswith(".weight"):
                param.uniform_(0.8, 1.2)
            else:
                param.normal_(0.0, std)


class KVStep(nn.Module):
    """One static-shape prefill/decode step with an explicit KV cache (see :func:`kv_step_module`).

    The cache is written with a one-hot ``matmul`` and ``where`` rather than ``index_copy`` or
    in-place slicing, so the step is a pure function that every backend lowers.
    """

    key_pos: torch.Tensor

    def __init__(self, model: GPT2LMHeadModel, max_len: int) -> None:
        super().__init__()
        self.model = model
        self.max_len = max_len
        self.register_buffer("key_pos", torch.arange(max_len), persistent=False)

    def forward(self, ids: torch.Tensor, pos: torch.Tensor, k_cache: torch.Tensor,
                v_cache: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        tf = self.model.transformer
        t = ids.shape[1]
        q_pos = pos + torch.arange(t, device=ids.device)                 # [T]
        x = tf.wte(ids) + tf.wpe(q_pos)
        write = self.key_pos[None, :] == q_pos[:, None]                  # [T, S]
        scatter = write.to(x.dtype).transpose(0, 1)                      # [S, T]
        written = write.any(dim=0)[:, None]                              # [S, 1]
        allowed = self.key_pos[None, :] <= q_pos[:, None]                # [T, S]
        keys, values = [], []
        for layer, block in enumerate(tf.h):
            assert isinstance(block, Block)
            attn = block.attn
            q, k, v = attn.qkv(block.ln_1(x))
            k_all = torch.where(written, scatter @ k, k_cache[layer])
            v_all = torch.where(written, scatter @ v, v_cache[layer])
            x = x + attn.merge(attend(q, k_all, v_all, allowed))
            x = x + block.mlp(block.ln_2(x))
            keys.append(k_all)
            values.append(v_all)
        logits = self.model.lm_head(tf.ln_f(x))
        return logits, torch.stack(keys), torch.stack(values)


def kv_step_module(model: torch.nn.Module, max_len: int) -> torch.nn.Module:
    """A static-shape decode/prefill step around a gpt2 ``model`` (shares its parameters).

    ``forward(ids [B,T] int64, pos [1] int64, k_cache, v_cache [L,B,H,max_len,Dh] float)
    -> (logits [B,T,V], k_cache, v_cache)``: the ``T`` tokens sit at positions
    ``pos .. pos+T-1``; their keys and values are written into the returned caches, and each
    attends to every cached position up to its own. Export it once with ``T`` = prompt length
    (prefill) and once with ``T = 1`` (decode). Its logits equal the full forward's at those
    positions (float rounding aside).

    Example::

        step = kv_step_module(get_model("gpt2-tiny").build(), max_len=64)
    """
    from paritykit.core.errors import ParityError

    if not isinstance(model, GPT2LMHeadModel):
        raise ParityError(f"kv_step_module needs a gpt2 model, got {type(model).__name__}")
    ctx = int(model.config["n_positions"])
    if not 1 <= max_len <= ctx:
        raise ParityError(f"kv_step_module: max_len must be in 1..{ctx} (the model's "
                          f"n_positions), got {max_len}")
    return KVStep(model, max_len).eval()


def _build(config: Mapping[str, Any]) -> nn.Module:
    model = GPT2LMHeadModel(config)
    init_gpt2(model)
    return model


def _inputs(config: Mapping[str, Any], *, batch: int, tokens: int | None = None,
            **_: Any) -> tuple[torch.Tensor, ...]:
    from paritykit.core.errors import ParityError

    length = 16 if tokens is None else tokens
    if not 1 <= length <= int(config["n_positions"]):
        raise ParityError(f"tokens must be in 1..{config['n_positions']} (n_positions), "
                          f"got {length}")
    return (torch.randint(0, int(config["vocab_size"]), (batch, length)),)


GPT2_SPEC = register_model(ModelSpec(
    "gpt2", "language", GPT2_CONFIG, "GPT-2 small (124M), Hugging Face names",
    builder=_build, input_maker=_inputs))
GPT2_TINY_SPEC = register_model(ModelSpec(
    "gpt2-tiny", "language", GPT2_TINY_CONFIG, "2-layer GPT-2 for CI, byte vocabulary",
    builder=_build, input_maker=_inputs))

"""Attention: F.scaled_dot_product_attention and nn.MultiheadAttention."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from paritykit.suite.helpers import (
    BASE,
    HALF_CHAIN,
    SEQ,
    SMALL_BATCH,
    Registrar,
    bools,
    cfg,
    dynamic,
    normal,
)

reg = Registrar(__name__)

# (batch, heads, length, head dim)
_Q = normal(2, 4, 16, 16)
_K = normal(2, 4, 16, 16)
_V = normal(2, 4, 16, 16)
# p=0.8 per key: a fully masked row (NaN output) has probability 0.2**16 and does not occur.
_MASK = bools(2, 4, 16, 16, p=0.8)
_QKV = (_Q, _K, _V)

reg.case(
    "sdpa",
    "F.scaled_dot_product_attention: causal, boolean/additive/broadcast masks, cross-attention,"
    " custom scale, grouped-query heads, half precision, dynamic batch and sequence.",
    F.scaled_dot_product_attention,
    args=_QKV,
    configs=(
        BASE,
        cfg("causal", *_QKV, is_causal=True),
        cfg("bool_mask", *_QKV, _MASK),
        cfg("float_mask", *_QKV, normal(2, 4, 16, 16)),
        cfg("broadcast_mask", *_QKV, bools(1, 1, 16, 16, p=0.8)),
        cfg("cross", normal(2, 4, 8, 16), normal(2, 4, 20, 16), normal(2, 4, 20, 8)),
        cfg("scale", *_QKV, scale=0.5),
        cfg("gqa", normal(2, 8, 16, 16), _K, _V, enable_gqa=True),
        *HALF_CHAIN,
        dynamic(*({0: SMALL_BATCH, 2: SEQ},) * 3),
        dynamic(*({0: SMALL_BATCH, 2: SEQ},) * 3, suffix="causal_dynamic", is_causal=True),
    ),
)


class SelfAttention(nn.Module):
    """nn.MultiheadAttention called as ``mha(q, k, v, ...)`` with distinct tensors.

    Passing three distinct tensors keeps eager off the fused "fast path" so eager and the
    exported graph run the same math. Returns the output and the head-averaged weights.
    """

    def __init__(self, embed_dim: int = 32, num_heads: int = 4, causal: bool = False) -> None:
        super().__init__()
        self.mha = nn.MultiheadAttention(embed_dim, num_heads, batch_first=True)
        self.causal = causal

    def forward(
        self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        mask = None
        if self.causal:
            n, s = q.shape[1], k.shape[1]
            mask = torch.ones(n, s, dtype=torch.bool, device=q.device).triu(1)
        out, weights = self.mha(q, k, v, attn_mask=mask, need_weights=True)
        return out, weights


_E = (normal(2, 10, 32), normal(2, 10, 32), normal(2, 10, 32))
reg.case(
    "multi_head_attention",
    "nn.MultiheadAttention (batch_first): self, cross (other kv length) and causal-masked.",
    build=SelfAttention,
    args=_E,
    configs=(
        BASE,
        cfg("cross", normal(2, 6, 32), normal(2, 12, 32), normal(2, 12, 32)),
        cfg("causal", *_E, causal=True),
    ),
)

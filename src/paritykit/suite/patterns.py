"""Small composite patterns: MLP blocks, a transformer layer, RoPE, CNN blocks, an LSTM."""

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
    dynamic,
    normal,
)
from paritykit.suite.norms import randomize_norm

reg = Registrar(__name__)

_DIM = 32
_TOKENS = normal(2, 16, _DIM)
_SEQ_DYN = dynamic({0: SMALL_BATCH, 1: SEQ})


class MLPBlock(nn.Module):
    """Pre-norm residual MLP: ``x + fc2(gelu(fc1(layer_norm(x))))``."""

    def __init__(self, dim: int = _DIM, hidden: int = 64) -> None:
        super().__init__()
        self.norm = randomize_norm(nn.LayerNorm(dim))
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.fc2(F.gelu(self.fc1(self.norm(x))))


class SwiGLU(nn.Module):
    """Gated MLP of LLaMA-style models: ``down(silu(gate(x)) * up(x))``, no biases."""

    def __init__(self, dim: int = _DIM, hidden: int = 48) -> None:
        super().__init__()
        self.gate = nn.Linear(dim, hidden, bias=False)
        self.up = nn.Linear(dim, hidden, bias=False)
        self.down = nn.Linear(hidden, dim, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down(F.silu(self.gate(x)) * self.up(x))


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    """``[-x2, x1]`` for the two halves of the last dim (RoPE helper)."""
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((-x2, x1), dim=-1)


def apply_rope(x: torch.Tensor, base: float = 10000.0) -> torch.Tensor:
    """Rotary position embedding of ``x`` (batch, heads, seq, head_dim), angles built in-graph."""
    seq, dim = x.shape[-2], x.shape[-1]
    inv_freq = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.float32, device=x.device) / dim))
    angles = torch.outer(torch.arange(seq, dtype=torch.float32, device=x.device), inv_freq)
    emb = torch.cat((angles, angles), dim=-1)
    return x * emb.cos().to(x.dtype) + rotate_half(x) * emb.sin().to(x.dtype)


class Rope(nn.Module):
    """Rotary position embedding as a module (positions 0..seq-1)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return apply_rope(x)


class TransformerLayer(nn.Module):
    """Pre-norm decoder layer: RMSNorm, causal multi-head attention with RoPE, SwiGLU MLP."""

    def __init__(self, dim: int = _DIM, heads: int = 4) -> None:
        super().__init__()
        self.heads = heads
        self.norm1 = randomize_norm(nn.RMSNorm(dim))
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.norm2 = randomize_norm(nn.RMSNorm(dim))
        self.mlp = SwiGLU(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape
        q, k, v = self.qkv(self.norm1(x)).view(b, n, 3, self.heads, d // self.heads).unbind(2)
        q, k, v = (t.transpose(1, 2) for t in (q, k, v))
        attn = F.scaled_dot_product_attention(apply_rope(q), apply_rope(k), v, is_causal=True)
        x = x + self.proj(attn.transpose(1, 2).reshape(b, n, d))
        return x + self.mlp(self.norm2(x))


class MaskedAttention(nn.Module):
    """Attention written out by hand with a key-padding mask: masked_fill(-inf), softmax, bmm."""

    def __init__(self, dim: int = _DIM) -> None:
        super().__init__()
        self.q = nn.Linear(dim, dim)
        self.k = nn.Linear(dim, dim)
        self.v = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        # keep: (batch, seq) bool; the first key is always kept so no row is fully masked.
        keep = keep | (torch.arange(keep.shape[1], device=keep.device) == 0)
        scores = self.q(x) @ self.k(x).transpose(1, 2) / x.shape[-1] ** 0.5
        scores = scores.masked_fill(~keep[:, None, :], float("-inf"))
        return torch.softmax(scores, dim=-1) @ self.v(x)


def conv_bn(cin: int, cout: int, k: int, stride: int = 1, groups: int = 1) -> nn.Sequential:
    """Conv2d (no bias) followed by an eval-mode BatchNorm2d with randomized statistics."""
    conv = nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2, groups=groups, bias=False)
    return nn.Sequential(conv, randomize_norm(nn.BatchNorm2d(cout)))


class ConvBnRelu(nn.Module):
    """Conv2d → BatchNorm2d (eval) → ReLU."""

    def __init__(self) -> None:
        super().__init__()
        self.body = conv_bn(3, 8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.body(x))


class ResidualBlock(nn.Module):
    """ResNet basic block with a strided 1x1 projection shortcut."""

    def __init__(self, cin: int = 8, cout: int = 16) -> None:
        super().__init__()
        self.conv1 = conv_bn(cin, cout, 3, stride=2)
        self.conv2 = conv_bn(cout, cout, 3)
        self.shortcut = conv_bn(cin, cout, 1, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.conv2(F.relu(self.conv1(x))) + self.shortcut(x))


class DepthwiseSeparable(nn.Module):
    """MobileNet block: depthwise 3x3 conv-bn-relu6, pointwise 1x1 conv-bn."""

    def __init__(self, cin: int = 8, cout: int = 16) -> None:
        super().__init__()
        self.depthwise = conv_bn(cin, cin, 3, groups=cin)
        self.pointwise = conv_bn(cin, cout, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pointwise(F.relu6(self.depthwise(x)))


class SmallCNN(nn.Module):
    """Classifier: conv-relu-maxpool, conv-relu, global average pool, flatten, linear."""

    def __init__(self, classes: int = 10) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1)
        self.head = nn.Linear(16, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.adaptive_avg_pool2d(F.relu(self.conv2(x)), 1)
        return self.head(torch.flatten(x, 1))


class LSTMEncoder(nn.Module):
    """Two-layer batch-first nn.LSTM; returns the outputs and the final hidden/cell states."""

    def __init__(self, dim: int = 16, hidden: int = 24) -> None:
        super().__init__()
        self.lstm = nn.LSTM(dim, hidden, num_layers=2, batch_first=True)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        out, (h, c) = self.lstm(x)
        return out, h, c


_IMG = normal(2, 3, 16, 16)
_FEAT = normal(2, 8, 12, 12)
_IMG_DYN = dynamic({0: SMALL_BATCH})

reg.case(
    "mlp_block",
    "Pre-norm residual GELU MLP.",
    build=MLPBlock,
    args=(_TOKENS,),
    configs=(BASE, *HALF_CHAIN, _SEQ_DYN),
)
reg.case(
    "swiglu", "LLaMA-style gated SiLU MLP.", build=SwiGLU, args=(_TOKENS,), configs=(BASE, _SEQ_DYN)
)
reg.case(
    "rope",
    "Rotary position embedding with in-graph angles.",
    build=Rope,
    args=(normal(2, 4, 16, 16),),
    configs=(BASE, dynamic({2: SEQ})),
)
reg.case(
    "transformer_layer",
    "Pre-norm decoder layer: RMSNorm, causal attention with RoPE, SwiGLU MLP.",
    build=TransformerLayer,
    args=(_TOKENS,),
    configs=(BASE, *HALF_CHAIN, _SEQ_DYN),
)
reg.case(
    "masked_attention",
    "Hand-written attention with a key-padding mask (masked_fill -inf, softmax).",
    build=MaskedAttention,
    args=(_TOKENS, bools(2, 16, p=0.7)),
    configs=(BASE, dynamic({0: SMALL_BATCH, 1: SEQ}, {0: SMALL_BATCH, 1: SEQ})),
)
reg.case(
    "conv_bn_relu",
    "Conv2d, eval BatchNorm2d, ReLU.",
    build=ConvBnRelu,
    args=(_IMG,),
    configs=(BASE, _IMG_DYN),
)
reg.case(
    "residual_block",
    "ResNet basic block with a strided projection shortcut.",
    build=ResidualBlock,
    args=(_FEAT,),
    configs=(BASE, _IMG_DYN),
)
reg.case(
    "depthwise_separable",
    "MobileNet depthwise-separable block.",
    build=DepthwiseSeparable,
    args=(_FEAT,),
)
reg.case(
    "small_cnn",
    "Conv/pool/linear image classifier.",
    build=SmallCNN,
    args=(_IMG,),
    configs=(BASE, _IMG_DYN),
)
reg.case("lstm", "Two-layer batch-first LSTM.", build=LSTMEncoder, args=(normal(2, 10, 16),))

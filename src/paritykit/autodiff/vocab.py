"""A tiny array-function vocabulary so one function definition runs on every framework.

Gradient cases are written as ``fn(v, *xs)`` where ``v`` is a :class:`Vocab` bound to one
framework (``v.square(x)``, ``v.matmul(a, b)``, ...). :class:`NumpyVocab` runs the same definition
in float64 NumPy, which is what the finite-difference oracle evaluates.
"""

from __future__ import annotations

from typing import Any

import numpy as np


class Vocab:
    """Array functions over a NumPy-like namespace ``xp``; subclasses fix the odd spellings."""

    def __init__(self, xp: Any) -> None:
        self.xp = xp

    def const(self, value: float, like: Any) -> Any:
        """A 0-d constant with ``like``'s dtype (so float16 inputs stay float16)."""
        return self.xp.asarray(value, dtype=like.dtype)

    def square(self, x: Any) -> Any:
        """x²."""
        return self.xp.square(x)

    def power(self, x: Any, p: float) -> Any:
        """x**p with p a constant."""
        return self.xp.power(x, self.const(p, x))

    def sin(self, x: Any) -> Any:
        """sin x."""
        return self.xp.sin(x)

    def exp(self, x: Any) -> Any:
        """eˣ."""
        return self.xp.exp(x)

    def tanh(self, x: Any) -> Any:
        """tanh x."""
        return self.xp.tanh(x)

    def add(self, a: Any, b: Any) -> Any:
        """a + b."""
        return self.xp.add(a, b)

    def multiply(self, a: Any, b: Any) -> Any:
        """a * b."""
        return self.xp.multiply(a, b)

    def scale(self, x: Any, c: float) -> Any:
        """x * c with c a constant."""
        return self.xp.multiply(x, self.const(c, x))

    def sum(self, x: Any, axis: int | None = None, keepdims: bool = False) -> Any:
        """Σ over ``axis`` (all axes when None)."""
        return self.xp.sum(x, axis=axis, keepdims=keepdims)

    def mean(self, x: Any, axis: int, keepdims: bool = False) -> Any:
        """Mean over ``axis``."""
        return self.xp.mean(x, axis=axis, keepdims=keepdims)

    def matmul(self, a: Any, b: Any) -> Any:
        """a @ b."""
        return self.xp.matmul(a, b)

    def inner(self, a: Any, b: Any) -> Any:
        """Inner product over the last axis."""
        return self.xp.inner(a, b)

    def logsumexp(self, x: Any, axis: int = -1) -> Any:
        """log Σ exp over ``axis``, computed stably (max-shifted)."""
        m = self.xp.max(x, axis=axis, keepdims=True)
        shifted = self.xp.subtract(x, self.stop_gradient(m))
        out = self.xp.log(self.xp.sum(self.xp.exp(shifted), axis=axis, keepdims=True))
        return self.xp.squeeze(self.xp.add(out, self.stop_gradient(m)), axis=axis)

    def softmax(self, x: Any, axis: int = -1) -> Any:
        """exp(x - logsumexp(x)) over ``axis``."""
        lse = self.xp.expand_dims(self.logsumexp(x, axis), axis)
        return self.xp.exp(self.xp.subtract(x, lse))

    def layer_norm(self, x: Any, eps: float = 1e-5) -> Any:
        """Normalize the last axis to zero mean, unit variance (no affine)."""
        mu = self.mean(x, axis=-1, keepdims=True)
        d = self.xp.subtract(x, mu)
        var = self.mean(self.xp.square(d), axis=-1, keepdims=True)
        return self.xp.divide(d, self.xp.sqrt(self.xp.add(var, self.const(eps, x))))

    def attention(self, q: Any, k: Any, v: Any) -> Any:
        """softmax(q kᵀ / √d) v over the last two axes."""
        d = q.shape[-1]
        scores = self.scale(self.matmul(q, self.xp.swapaxes(k, -1, -2)), 1.0 / float(d) ** 0.5)
        return self.matmul(self.softmax(scores, -1), v)

    def conv1d(self, x: Any, w: Any) -> Any:
        """'Valid' cross-correlation of x (C_in, L) with w (C_out, C_in, K) → (C_out, L-K+1).

        Written with slices and matmuls (the NumPy oracle's definition); framework vocabularies
        override it with their native convolution so its own gradient rule is what gets checked.
        """
        k = w.shape[-1]
        n = x.shape[-1] - k + 1
        out = self.matmul(w[:, :, 0], x[:, 0:n])
        for j in range(1, k):
            out = self.add(out, self.matmul(w[:, :, j], x[:, j:j + n]))
        return out

    def conv2d(self, x: Any, w: Any) -> Any:
        """'Valid' 2-D cross-correlation of x (C_in, H, W) with w (C_out, C_in, KH, KW).

        The result is (C_out, H-KH+1, W-KW+1). Defined as one matmul per kernel tap over the
        shifted input window (the NumPy oracle's definition); framework vocabularies override it
        with their native 2-D convolution (NCHW or NHWC), whose gradient rule is then checked.
        """
        c_in, h, wd = x.shape
        kh, kw = w.shape[-2], w.shape[-1]
        oh, ow = h - kh + 1, wd - kw + 1
        out = None
        for i in range(kh):
            for j in range(kw):
                window = self.xp.reshape(x[:, i:i + oh, j:j + ow], (c_in, oh * ow))
                tap = self.matmul(w[:, :, i, j], window)
                out = tap if out is None else self.add(out, tap)
        return self.xp.reshape(out, (w.shape[0], oh, ow))

    def stop_gradient(self, x: Any) -> Any:
        """``x`` treated as a constant by differentiation (identity in value)."""
        return x


class NumpyVocab(Vocab):
    """The vocabulary on NumPy: the finite-difference oracle's evaluator (no derivatives)."""

    def __init__(self) -> None:
        super().__init__(np)

"""MLX (``mlx.core``) under the common transform convention."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from paritykit.autodiff.adapters import (
    Bwd,
    Fn,
    TransformAdapter,
    UnsupportedTransform,
    as_list,
    check_argnums,
    register_adapter,
)
from paritykit.autodiff.vocab import Vocab


class MlxVocab(Vocab):
    """The vocabulary on ``mlx.core``."""

    def const(self, value: float, like: Any) -> Any:
        """A 0-d array with ``like``'s dtype."""
        return self.xp.array(value, dtype=like.dtype)

    def conv1d(self, x: Any, w: Any) -> Any:
        """``mx.conv1d``, which is channels-last: x (1, L, C_in), w (C_out, K, C_in)."""
        mx = self.xp
        out = mx.conv1d(mx.expand_dims(mx.transpose(x), 0), mx.transpose(w, (0, 2, 1)))
        return mx.transpose(out[0])

    def conv2d(self, x: Any, w: Any) -> Any:
        """``mx.conv2d``, which is channels-last: x (C, H, W) → (1, H, W, C), w OIHW → OHWI, and
        the (1, H', W', C_out) result back to (C_out, H', W')."""
        mx = self.xp
        out = mx.conv2d(mx.expand_dims(mx.transpose(x, (1, 2, 0)), 0),
                        mx.transpose(w, (0, 2, 3, 1)))
        return mx.transpose(out[0], (2, 0, 1))

    def stop_gradient(self, x: Any) -> Any:
        """``mx.stop_gradient``."""
        return self.xp.stop_gradient(x)


@register_adapter
class MlxAdapter(TransformAdapter):
    """``mx.value_and_grad``/``vjp``/``jvp``/``custom_function``/``checkpoint``/``eval``."""

    name = "mlx"
    install = "pip install 'paritykit[mlx]'"

    def is_available(self) -> str | None:
        """None when mlx.core imports."""
        if importlib.util.find_spec("mlx") is None:
            return f"missing mlx; install with `{self.install}`"
        try:
            import mlx.core  # noqa: F401
        except Exception as exc:  # e.g. the wheel lacks a CPU/Metal build
            return f"mlx.core does not import: {type(exc).__name__}: {exc}"
        return None

    @property
    def vocab(self) -> Vocab:
        """:class:`MlxVocab` over ``mlx.core``."""
        import mlx.core as mx

        return MlxVocab(mx)

    def asarray(self, value: np.ndarray | float) -> Any:
        """An mlx array (runs on the default device, CPU here)."""
        import mlx.core as mx

        if isinstance(value, float):
            return mx.array(value, dtype=mx.float32)
        arr = np.asarray(value)
        if arr.dtype.name == "bfloat16":
            return mx.array(arr.astype(np.float32)).astype(mx.bfloat16)
        return mx.array(arr)

    def to_numpy(self, value: Any) -> np.ndarray:
        """NumPy copy; bfloat16 comes back as ``ml_dtypes.bfloat16``."""
        import mlx.core as mx

        if value.dtype == mx.bfloat16:
            import ml_dtypes

            return np.asarray(value.astype(mx.float32)).astype(ml_dtypes.bfloat16)
        return np.array(value, copy=True)

    def value_and_grad(
        self, fn: Fn, argnums: Sequence[int] = (0,)
    ) -> Callable[..., tuple[Any, list[Any]]]:
        """``mx.value_and_grad`` with list argnums."""
        import mlx.core as mx

        inner = mx.value_and_grad(fn, argnums=list(check_argnums("value_and_grad", argnums)))

        def vag(*xs: Any) -> tuple[Any, list[Any]]:
            value, grads = inner(*xs)
            return value, as_list(grads)

        return vag

    def vjp(self, fn: Fn, primals: list[Any], cotangents: list[Any]) -> tuple[list[Any], list[Any]]:
        """``mx.vjp``."""
        import mlx.core as mx

        outs, grads = mx.vjp(fn, list(primals), list(cotangents))
        return list(outs), list(grads)

    def jvp(self, fn: Fn, primals: list[Any], tangents: list[Any]) -> tuple[list[Any], list[Any]]:
        """``mx.jvp``; a primitive without a forward-mode rule is :class:`UnsupportedTransform`."""
        import mlx.core as mx

        try:
            outs, tangent_outs = mx.jvp(fn, list(primals), list(tangents))
        except ValueError as exc:
            # e.g. "[Primitive::jvp] Not implemented for Convolution." (mlx 0.32)
            if "[Primitive::jvp] Not implemented" in str(exc):
                raise UnsupportedTransform(f"mlx has no forward-mode (jvp) rule: {exc}") from exc
            raise
        return list(outs), list(tangent_outs)

    def custom_vjp(self, fwd: Fn, bwd: Bwd) -> Fn:
        """``mx.custom_function`` with a ``.vjp``; MLX passes (primals, cotangents, outputs)."""
        import mlx.core as mx

        wrapped = mx.custom_function(fwd)

        # MLX hands a bare array for a single primal/output and tuples otherwise.
        def rule(primals: Any, cotangents: Any, outputs: Any) -> Any:
            grads = bwd(as_list(primals), as_list(cotangents), as_list(outputs))
            return grads[0] if len(grads) == 1 else tuple(grads)

        wrapped.vjp(rule)
        return wrapped

    def checkpoint(self, fn: Fn) -> Fn:
        """``mx.checkpoint``."""
        import mlx.core as mx

        return mx.checkpoint(fn)

    def eval(self, *arrays: Any) -> None:
        """``mx.eval``."""
        import mlx.core as mx

        mx.eval(*arrays)

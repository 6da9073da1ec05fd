"""JAX (plain ``jax``, never torchax) under the common transform convention."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from paritykit.autodiff.adapters import (
    Bwd,
    Fn,
    TransformAdapter,
    as_list,
    check_argnums,
    register_adapter,
)
from paritykit.autodiff.vocab import Vocab


class JaxVocab(Vocab):
    """The vocabulary on ``jax.numpy``."""

    def conv1d(self, x: Any, w: Any) -> Any:
        """``jax.lax.conv_general_dilated`` (NCH/OIH layouts, batch of one)."""
        import jax

        return jax.lax.conv_general_dilated(x[None], w, window_strides=(1,), padding="VALID")[0]

    def conv2d(self, x: Any, w: Any) -> Any:
        """``jax.lax.conv_general_dilated`` (NCHW/OIHW layouts, batch of one)."""
        import jax

        return jax.lax.conv_general_dilated(x[None], w, window_strides=(1, 1),
                                            padding="VALID")[0]

    def stop_gradient(self, x: Any) -> Any:
        """``jax.lax.stop_gradient``."""
        import jax

        return jax.lax.stop_gradient(x)


@register_adapter
class JaxAdapter(TransformAdapter):
    """``jax.value_and_grad``/``vjp``/``jvp``/``custom_vjp``/``checkpoint``/``block_until_ready``."""

    name = "jax"
    install = "pip install 'paritykit[jax]'"

    def is_available(self) -> str | None:
        """None when jax imports."""
        if importlib.util.find_spec("jax") is None:
            return f"missing jax; install with `{self.install}`"
        return None

    @property
    def vocab(self) -> Vocab:
        """:class:`JaxVocab` over ``jax.numpy``."""
        import jax.numpy as jnp

        return JaxVocab(jnp)

    def asarray(self, value: np.ndarray | float) -> Any:
        """A jax array (float64 is narrowed to float32 unless ``jax_enable_x64`` is on)."""
        import jax.numpy as jnp

        if isinstance(value, float):
            return jnp.asarray(value, dtype=jnp.float32)
        return jnp.asarray(value)

    def to_numpy(self, value: Any) -> np.ndarray:
        """NumPy copy."""
        return np.asarray(value).copy()

    def value_and_grad(
        self, fn: Fn, argnums: Sequence[int] = (0,)
    ) -> Callable[..., tuple[Any, list[Any]]]:
        """``jax.value_and_grad`` with a tuple argnums, so grads always come back as a list."""
        import jax

        inner = jax.value_and_grad(fn, argnums=check_argnums("value_and_grad", argnums))

        def vag(*xs: Any) -> tuple[Any, list[Any]]:
            value, grads = inner(*xs)
            return value, as_list(grads)

        return vag

    def vjp(self, fn: Fn, primals: list[Any], cotangents: list[Any]) -> tuple[list[Any], list[Any]]:
        """``jax.vjp``."""
        import jax

        out, pullback = jax.vjp(fn, *primals)
        return [out], as_list(pullback(*cotangents))

    def jvp(self, fn: Fn, primals: list[Any], tangents: list[Any]) -> tuple[list[Any], list[Any]]:
        """``jax.jvp``."""
        import jax

        out, tangent_out = jax.jvp(fn, tuple(primals), tuple(tangents))
        return [out], [tangent_out]

    def custom_vjp(self, fwd: Fn, bwd: Bwd) -> Fn:
        """``jax.custom_vjp``; the residuals are the primals and the output."""
        import jax

        wrapped = jax.custom_vjp(fwd)

        def fwd_rule(*xs: Any) -> tuple[Any, tuple[tuple[Any, ...], Any]]:
            out = fwd(*xs)
            return out, (xs, out)

        def bwd_rule(res: tuple[tuple[Any, ...], Any], g: Any) -> tuple[Any, ...]:
            primals, out = res
            return tuple(bwd(list(primals), [g], [out]))

        wrapped.defvjp(fwd_rule, bwd_rule)
        return wrapped

    def checkpoint(self, fn: Fn) -> Fn:
        """``jax.checkpoint``."""
        import jax

        return jax.checkpoint(fn)

    def eval(self, *arrays: Any) -> None:
        """``jax.block_until_ready`` (JAX dispatches asynchronously)."""
        import jax

        jax.block_until_ready(arrays)

"""PyTorch through ``torch.func`` (functorch transforms over eager tensors)."""

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


class TorchVocab(Vocab):
    """The vocabulary on ``torch`` (dim/keepdim spellings, pow, unsqueeze)."""

    def const(self, value: float, like: Any) -> Any:
        """A 0-d tensor with ``like``'s dtype."""
        return self.xp.tensor(value, dtype=like.dtype)

    def power(self, x: Any, p: float) -> Any:
        """x**p (torch spells it ``pow``)."""
        return self.xp.pow(x, self.const(p, x))

    def sum(self, x: Any, axis: int | None = None, keepdims: bool = False) -> Any:
        """Σ over ``axis`` (all axes when None)."""
        if axis is None:
            return self.xp.sum(x)
        return self.xp.sum(x, dim=axis, keepdim=keepdims)

    def mean(self, x: Any, axis: int, keepdims: bool = False) -> Any:
        """Mean over ``axis``."""
        return self.xp.mean(x, dim=axis, keepdim=keepdims)

    def logsumexp(self, x: Any, axis: int = -1) -> Any:
        """log Σ exp over ``axis``, max-shifted."""
        m = self.xp.amax(x, dim=axis, keepdim=True).detach()
        out = self.xp.log(self.xp.sum(self.xp.exp(x - m), dim=axis, keepdim=True)) + m
        return out.squeeze(axis)

    def softmax(self, x: Any, axis: int = -1) -> Any:
        """exp(x - logsumexp(x)) over ``axis``."""
        return self.xp.exp(x - self.logsumexp(x, axis).unsqueeze(axis))

    def conv1d(self, x: Any, w: Any) -> Any:
        """``torch.nn.functional.conv1d`` (batch of one)."""
        import torch.nn.functional as F

        return F.conv1d(x.unsqueeze(0), w)[0]

    def conv2d(self, x: Any, w: Any) -> Any:
        """``torch.nn.functional.conv2d`` (NCHW, batch of one)."""
        import torch.nn.functional as F

        return F.conv2d(x.unsqueeze(0), w)[0]

    def stop_gradient(self, x: Any) -> Any:
        """``x.detach()``."""
        return x.detach()


@register_adapter
class TorchFuncAdapter(TransformAdapter):
    """``torch.func.grad_and_value``/``vjp``/``jvp``, ``autograd.Function`` for custom_vjp."""

    name = "torch"
    install = "pip install torch"

    def is_available(self) -> str | None:
        """None when torch (with ``torch.func``) imports."""
        if importlib.util.find_spec("torch") is None:
            return f"missing torch; install with `{self.install}`"
        return None

    @property
    def vocab(self) -> Vocab:
        """:class:`TorchVocab` over ``torch``."""
        import torch

        return TorchVocab(torch)

    def asarray(self, value: np.ndarray | float) -> Any:
        """A tensor copy of ``value`` (bfloat16 via float32, which torch cannot take directly)."""
        import torch

        arr = np.asarray(value, dtype=np.float32 if isinstance(value, float) else None)
        if arr.dtype.name == "bfloat16":
            return torch.from_numpy(arr.astype(np.float32)).to(torch.bfloat16)
        return torch.from_numpy(arr.copy())

    def to_numpy(self, value: Any) -> np.ndarray:
        """NumPy copy; bfloat16 comes back as ``ml_dtypes.bfloat16``."""
        import torch

        t = value.detach()
        if t.dtype == torch.bfloat16:
            import ml_dtypes

            return np.asarray(t.float().numpy().astype(ml_dtypes.bfloat16))
        return np.asarray(t.numpy().copy())

    def value_and_grad(
        self, fn: Fn, argnums: Sequence[int] = (0,)
    ) -> Callable[..., tuple[Any, list[Any]]]:
        """``torch.func.grad_and_value`` with the pair swapped to (value, grads)."""
        import torch.func

        nums = check_argnums("value_and_grad", argnums)
        inner = torch.func.grad_and_value(fn, argnums=nums)

        def vag(*xs: Any) -> tuple[Any, list[Any]]:
            try:
                grads, value = inner(*xs)
            except RuntimeError as exc:
                if "saved tensor hooks" in str(exc):
                    raise UnsupportedTransform(
                        "torch.func.grad cannot differentiate through torch.utils.checkpoint:"
                        f" {exc}"
                    ) from exc
                raise
            return value, as_list(grads)

        return vag

    def vjp(self, fn: Fn, primals: list[Any], cotangents: list[Any]) -> tuple[list[Any], list[Any]]:
        """``torch.func.vjp``."""
        import torch.func

        # Indexed rather than unpacked: the stubs allow a third (aux) element.
        result = torch.func.vjp(fn, *primals)
        return [result[0]], as_list(result[1](*cotangents))

    def jvp(self, fn: Fn, primals: list[Any], tangents: list[Any]) -> tuple[list[Any], list[Any]]:
        """``torch.func.jvp``."""
        import torch.func

        result = torch.func.jvp(fn, tuple(primals), tuple(tangents))
        return [result[0]], [result[1]]

    def custom_vjp(self, fwd: Fn, bwd: Bwd) -> Fn:
        """An ``autograd.Function`` (with ``setup_context``, which torch.func requires)."""
        import torch

        class _Custom(torch.autograd.Function):
            @staticmethod
            def forward(*xs: Any) -> Any:
                return fwd(*xs)

            @staticmethod
            def setup_context(ctx: Any, inputs: tuple[Any, ...], output: Any) -> None:
                ctx.save_for_backward(*inputs, output)

            @staticmethod
            def backward(ctx: Any, *cotangents: Any) -> Any:
                *primals, output = ctx.saved_tensors
                return tuple(bwd(list(primals), list(cotangents), [output]))

        def apply(*xs: Any) -> Any:
            return _Custom.apply(*xs)

        return apply

    def checkpoint(self, fn: Fn) -> Fn:
        """``torch.utils.checkpoint`` (non-reentrant); values work, torch.func grads do not.

        Measured on torch 2.13: differentiating it under ``torch.func`` raises "torch.func.{grad,
        vjp, jacrev, hessian} don't yet support saved tensor hooks", which ``value_and_grad``
        turns into :class:`UnsupportedTransform` (the reentrant variant fails too: its internal
        autograd.Function has no ``setup_context``).
        """
        from torch.utils.checkpoint import checkpoint

        def checkpointed(*xs: Any) -> Any:
            return checkpoint(fn, *xs, use_reentrant=False)

        return checkpointed

    def eval(self, *arrays: Any) -> None:
        """Unsupported: torch eager has nothing lazy to materialize."""
        raise UnsupportedTransform("torch is eager: tensors are computed when created; no eval")

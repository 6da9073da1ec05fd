"""``openvino``: OpenVINO on the CPU with f32 inference precision pinned (parity mode)."""

from __future__ import annotations

from typing import ClassVar

from paritykit.backends._openvino import OpenVinoBackendBase
from paritykit.core.registry import register_backend


@register_backend
class OpenVinoBackend(OpenVinoBackendBase):
    """OpenVINO CPU plugin, ``INFERENCE_PRECISION_HINT=f32``.

    On CPUs with AMX the plugin's default precision is bf16 (errors ~2e-3 instead of ~1e-6);
    parity mode pins f32. ``openvino-default`` is the same route at the default precision.
    """

    name = "openvino"
    description = "openvino.convert_model(ExportedProgram) -> CPU plugin, f32 pinned (.xml/.bin)"
    compile_config: ClassVar[dict[str, str]] = {"INFERENCE_PRECISION_HINT": "f32"}

"""``openvino-default``: OpenVINO on the CPU at the plugin's default inference precision."""

from __future__ import annotations

from paritykit.backends._openvino import OpenVinoBackendBase
from paritykit.core.registry import register_backend


@register_backend
class OpenVinoDefaultBackend(OpenVinoBackendBase):
    """What an OpenVINO user gets without configuring anything (bf16 on CPUs with AMX).

    The precision the plugin chose is recorded in each result's ``stats["precision"]``.
    """

    name = "openvino-default"
    description = "openvino.convert_model -> CPU plugin at its default precision (bf16 with AMX)"

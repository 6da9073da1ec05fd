"""Built-in models, their weight archives, KV-cache decoding, generation and tokenizers.

Models are defined here (no torchvision / transformers needed, nothing is downloaded); weights
are seeded, or loaded from a safetensors archive with torchvision / Hugging Face parameter names.

Example::

    from paritykit.models import get_model, model_names
    spec = get_model("gpt2-tiny")
    model = spec.build(seed=0)
    (ids,) = spec.example_inputs(seed=0, batch=1, tokens=8)
    logits = model(ids)                    # [1, 8, 256]

See docs/models.md for the model table, parameter names and the generation API.
"""

from __future__ import annotations

# Importing the model modules registers the built-in models (see models/spec.py).
from paritykit.models import gpt2, mobilenet_v2, resnet, small  # noqa: F401
from paritykit.models.generate import cache_shape, generate, torch_step
from paritykit.models.gpt2 import kv_step_module
from paritykit.models.spec import ModelSpec, get_model, model_names, register_model
from paritykit.models.tokenizer import BPETokenizer, ByteTokenizer, Tokenizer, load_tokenizer
from paritykit.models.weights import export_weights, load_weights

__all__ = [
    "BPETokenizer",
    "ByteTokenizer",
    "ModelSpec",
    "Tokenizer",
    "cache_shape",
    "export_weights",
    "generate",
    "get_model",
    "kv_step_module",
    "load_tokenizer",
    "load_weights",
    "model_names",
    "register_model",
    "torch_step",
]

"""``ModelSpec`` and the registry of built-in models.

The built-in model modules register their specs when they are imported, and
``paritykit/models/__init__.py`` imports them all; since importing this module runs the
package's ``__init__`` first, the registry is full before anything here is called. This module
never imports the model modules itself (they import it).

A spec pairs a name with a plain-data config (JSON-able) and two functions: one that builds the
module from the config, one that makes deterministic example inputs. Weights are seeded inside a
fork of torch's RNG, so building a model never disturbs the caller's random state.

Example::

    spec = get_model("mlp")
    model = spec.build(seed=0)
    (x,) = spec.example_inputs(seed=0, batch=2)
    logits = model(x)                      # [2, 10]
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch

from paritykit.core.errors import ParityError
from paritykit.core.named_registry import Registry

Builder = Callable[[Mapping[str, Any]], torch.nn.Module]
InputMaker = Callable[..., tuple[torch.Tensor, ...]]


@dataclass(frozen=True)
class ModelSpec:
    """A built-in model: ``name``, ``kind`` ("language" | "vision" | "tabular"), plain ``config``.

    Example::

        model = get_model("resnet18").build(seed=1)                 # seeded random weights
        model = get_model("resnet18").build(weights="r18.safetensors")  # an archive
    """

    name: str
    kind: str
    config: Mapping[str, Any]
    description: str = ""
    builder: Builder = field(default=lambda config: torch.nn.Identity(), repr=False,
                             compare=False)
    input_maker: InputMaker = field(default=lambda config, **kw: (), repr=False, compare=False)

    def build(self, seed: int = 0, weights: str | os.PathLike[str] | None = None
              ) -> torch.nn.Module:
        """The module in eval mode: weights seeded by ``seed``, or loaded from ``weights``."""
        from paritykit.models.weights import load_weights

        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            module = self.builder(self.config)
        if weights is not None:
            load_weights(module, weights)
        return module.eval()

    def example_inputs(self, seed: int = 0, batch: int = 1, tokens: int | None = None,
                       image_size: int | None = None) -> tuple[torch.Tensor, ...]:
        """Deterministic inputs: ``tokens`` sets the sequence length of language models (default
        16), ``image_size`` the height and width of vision models (default the config's)."""
        if batch < 1:
            raise ParityError(f"model {self.name}: batch must be at least 1, got {batch}")
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return self.input_maker(self.config, batch=batch, tokens=tokens,
                                    image_size=image_size)

    def config_json(self) -> str:
        """The config as JSON text (configs are plain data)."""
        return json.dumps(dict(self.config), indent=2, sort_keys=True)


class ModelRegistry(Registry[ModelSpec]):
    """Model specs by name (the built-ins register when :mod:`paritykit.models` is imported)."""

    kind = "model"

    def origin(self, entry: ModelSpec) -> str:
        """The module whose builder makes the model."""
        return str(getattr(entry.builder, "__module__", "?"))

    def _unknown(self, name: str) -> str:
        return f"unknown model {name!r}; known models: {', '.join(model_names())}"


#: The registry ``parity eval`` and the model workloads read.
MODELS = ModelRegistry()


def register_model(spec: ModelSpec) -> ModelSpec:
    """Add a spec; a second spec with the same name from another module is an error."""
    MODELS.register(spec.name, spec)
    return spec


#: The order in which the built-in models are listed.
BUILTIN_ORDER = ("gpt2", "gpt2-tiny", "resnet18", "resnet34", "mobilenet_v2", "small_cnn", "mlp")


def model_names() -> list[str]:
    """Names of the models: the built-ins in :data:`BUILTIN_ORDER`, then any registered later."""
    return sorted(MODELS.names(), key=lambda n: (BUILTIN_ORDER.index(n) if n in BUILTIN_ORDER
                                          else len(BUILTIN_ORDER)))


def get_model(name: str) -> ModelSpec:
    """The spec named ``name``; an unknown name is a ParityError listing the known ones."""
    return MODELS.lookup(name)

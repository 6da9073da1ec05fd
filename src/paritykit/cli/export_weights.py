"""``parity export-weights --model M --out FILE [--seed N]``: a built-in model's seeded weights
as a safetensors archive (load it back with ``--weights FILE``; see docs/models.md).

Listed in :data:`paritykit.cli.main.COMMAND_MODULES` (``NAME``, ``add_parser``, ``run``).
"""

from __future__ import annotations

import argparse
from typing import Any

from rich.console import Console
from rich.markup import escape

NAME = "export-weights"


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``export-weights`` to ``parity``'s subparsers."""
    parser = subparsers.add_parser(
        NAME, help="write a built-in model's seeded weights to a safetensors archive")
    parser.add_argument("--model", required=True, metavar="NAME",
                        help="built-in model (gpt2, gpt2-tiny, resnet18, resnet34, "
                             "mobilenet_v2, small_cnn, mlp)")
    parser.add_argument("--out", required=True, metavar="FILE",
                        help="archive to write (parent directories are created)")
    parser.add_argument("--seed", type=int, default=0, help="weight seed (default 0)")
    return parser


def run(args: argparse.Namespace, console: Console) -> int:
    """Build the model with ``--seed``, write the archive, print path, parameters and bytes."""
    from paritykit.models import export_weights, get_model

    model = get_model(args.model).build(seed=args.seed)
    size = export_weights(model, args.out)
    params = sum(p.numel() for p in model.parameters())
    console.print(f"{escape(args.out)}: {args.model} seed {args.seed}, {params:,} parameters, "
                  f"{size:,} bytes")
    return 0

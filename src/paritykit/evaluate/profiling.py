"""``--profile``: what each backend can tell about where the time goes.

- torch-family backends (``torch``, ``torch-export``, ``aot-eager``, ``inductor``: their
  Prepared runs a torch callable) get ``torch.profiler``'s per-op table of one run;
- every backend gets a per-layer time table from ``--workload trace --profile`` (each module's
  forward lowered alone and timed on the backend next to eager);
- other backends have no profiler wired in here; :func:`profile_run` says so.
"""

from __future__ import annotations

import numpy as np

from paritykit.core.backend import Prepared

#: Rows of the torch profiler table.
TOP_OPS = 15


def profile_run(backend: str, prepared: Prepared, inputs: list[np.ndarray]) -> str:
    """A per-op table of one ``prepared.run`` where the backend has a profiler, else a note."""
    if not hasattr(prepared, "fn"):  # TorchPrepared holds the torch callable it runs
        return (f"{backend}: no op-level profiler wired in; for per-layer times run "
                f"`--workload trace --profile`")
    import torch.profiler

    prepared.run(inputs)  # warm-up: first calls compile / allocate
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        prepared.run(inputs)
    table: str = prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=TOP_OPS)
    return f"{backend}: torch.profiler, one run\n{table}"

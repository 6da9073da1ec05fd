"""What one ``parity eval`` entry asks for: a model, a workload, backends and their options.

The CLI and suite files both build an :class:`EvalOptions`; everything below takes it, so a
suite entry and a command line can never mean different things.
"""

from __future__ import annotations

from dataclasses import dataclass, field

WORKLOADS = ("validate", "trace", "bench", "run")
DUMP_MODES = ("lowered", "activations", "all")


@dataclass(frozen=True)
class EvalOptions:
    """One workload on one model (picklable: it travels to isolated backend processes).

    Example::

        EvalOptions(model="mlp", workload="validate", backends=("torch-export",))
    """

    model: str
    workload: str
    backends: tuple[str, ...] = ()
    seed: int = 0
    weights: str | None = None
    artifact_dir: str = "parity-out"
    plugins: tuple[str, ...] = ()
    backend_options: dict[str, dict[str, str]] = field(default_factory=dict)
    tolerances_path: str | None = None
    batch: int = 1
    #: Sequence length of language-model inputs (validate / trace); None: the model's default.
    tokens: int | None = None
    # trace
    trace_depth: int | None = None
    #: Trace every module at every depth (parents after their children).
    trace_all: bool = False
    stop_on_first_mismatch: bool = False
    # bench
    threads: tuple[int, ...] = (1,)
    bench_tokens: tuple[int, ...] = (1, 64)
    bench_budget_s: float = 2.0
    # run
    prompt: str = "Hello"
    tokenizer: str | None = None
    max_tokens: int = 16
    temperature: float = 0.0
    kv_cache: bool = False
    input_path: str | None = None
    # dumps and profiles
    dump_dir: str | None = None
    dump_mode: str = "lowered"
    profile: bool = False
    #: Run each backend in a process of its own (a crash costs one result, not the command).
    isolate: bool = True
    timeout_s: float = 900.0

    def with_backend_threads(self, threads: int) -> EvalOptions:
        """The same options pinned to one thread count (one bench job per count)."""
        from dataclasses import replace

        return replace(self, threads=(threads,))

    @property
    def case_id(self) -> str:
        """The case id of this model in results: ``model:<name>``."""
        return f"model:{self.model}"

    @property
    def dumps_lowered(self) -> bool:
        """Whether lowered artifacts and exported program text are dumped."""
        return self.dump_dir is not None and self.dump_mode in ("lowered", "all")

    @property
    def dumps_activations(self) -> bool:
        """Whether the reference activations are dumped."""
        return self.dump_dir is not None and self.dump_mode in ("activations", "all")

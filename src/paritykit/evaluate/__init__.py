"""``parity eval``: model-level workloads — validate, trace, bench, run — on every backend.

Example::

    from paritykit.evaluate import EvalOptions, execute
    outcome = execute(EvalOptions(model="mlp", workload="validate",
                                  backends=("torch-export",)))
    outcome.results[0].status   # Status.PASS

See docs/eval.md.
"""

from paritykit.evaluate.options import DUMP_MODES, WORKLOADS, EvalOptions
from paritykit.evaluate.session import EvalOutcome, execute
from paritykit.evaluate.suite import load_suite

__all__ = ["DUMP_MODES", "WORKLOADS", "EvalOptions", "EvalOutcome", "execute", "load_suite"]

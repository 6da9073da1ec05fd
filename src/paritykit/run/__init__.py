"""Running work: the plan, one attempt (prepare, run, compare, classify), the worker
process and the pool that isolates every route, the artifact cache, a ``parity run`` session.
"""

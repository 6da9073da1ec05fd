"""``parity bench``: time backends against their own baseline and torch eager.

``runner`` times prepared programs (with :func:`paritykit.core.timing.measure`) in worker processes,
one backend at a time; ``store`` reads and writes ``bench.json`` and keeps named runs; ``stats``
decides whether a change is a regression; ``machine`` fingerprints the host; ``table`` renders
the compact table.
"""

"""One module per on-disk format: set archives and per-case files, ``results.jsonl``, JSON
with a schema, the golden manifest, machine identity; atomic writes.
"""

"""Built-in backends, one module each; the registry imports every module in this package.

Modules whose name starts with ``_`` hold shared helpers and are not scanned.
"""

"""The pytest11 entry point of paritykit: loads the plugin's modules as pytest plugins.

pytest registers this module from the ``pytest11`` entry point and then imports every name in
``pytest_plugins`` (``PytestPluginManager.register`` -> ``consider_module``), also under xdist
and with ``pytester``: ``hooks`` (options, markers, the parity and autodiff items), ``fixtures``
(seed 001's fixtures) and ``json_items`` (JSON test definitions, seed 003).
``-p no:paritykit`` switches all of them off.
"""

pytest_plugins = [
    "paritykit.pytest.hooks",
    "paritykit.pytest.fixtures",
    "paritykit.pytest.json_items",
]

"""Fixtures (seed 001's names) and :func:`parametrize_backends`.

- ``parity_backend``: the Backend object; a test that requests it runs once per selected
  backend (``--parity-backend``, default every available one).
- ``backend``: the device kind, "metal" | "cuda" | "cpu", of that backend, or of this machine
  in a test without ``parity_backend``; ``is_metal`` and ``has_gpu`` follow it.
- ``device``: the torch device (JAX / MLX device for those backends); ``mx_device``: MLX's.
- ``assert_allclose_cross_backend(actual, expected, rtol=None, atol=None)``.
- ``golden_registry``: ``["register"](name, value, backend)`` / ``["get"](name, backend)``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import pathlib
from collections.abc import Callable
from typing import Any, TypeVar

import pytest

from paritykit.pytest import markers
from paritykit.pytest.options import backend_names, load, usage_error

F = TypeVar("F", bound=Callable[..., Any])
ARG = "parity_backend"


def parametrize_backends(*names: Any) -> Any:
    """Run a test once per backend: the selected ones (``--parity-backend``, default every
    available one), or ``names`` (those of them that are selected, when a selection is given).

    Param ids are the backend names; each param carries the backend's marker and its device's
    marker; an unavailable backend's param skips with the reason. The test gets the backend
    through the ``parity_backend`` fixture (and ``backend``, ``device`` follow it).

    Example::

        from paritykit.pytest import parametrize_backends

        @parametrize_backends("torch-export", "onnxruntime")
        def test_name_is_set(parity_backend):
            assert parity_backend.name in ("torch-export", "onnxruntime")
    """
    if len(names) == 1 and callable(names[0]):  # bare @parametrize_backends
        return parametrize_backends()(names[0])
    bad = [n for n in names if not isinstance(n, str)]
    if bad:
        raise TypeError(f"parametrize_backends takes backend names, got {bad!r}")

    def decorate(fn: F) -> F:
        fn = pytest.mark.parity_backends(*names)(fn)
        return pytest.mark.usefixtures(ARG)(fn)

    return decorate


def generate(metafunc: pytest.Metafunc) -> None:
    """``pytest_generate_tests``: parametrize ``parity_backend`` where a test needs it."""
    if ARG not in metafunc.fixturenames:
        return
    for given in metafunc.definition.iter_markers("parametrize"):
        argnames = given.args[0] if given.args else given.kwargs.get("argnames", "")
        if ARG in (argnames.replace(" ", "").split(",") if isinstance(argnames, str)
                   else list(argnames)):
            return  # the test parametrizes it itself
    config = metafunc.config
    run_config = load(config)
    markers.register_backends(config, force=True)
    selected = backend_names(config)
    mark = metafunc.definition.get_closest_marker("parity_backends")
    names = list(mark.args) if mark is not None and mark.args else selected
    if mark is not None and mark.args and config.option.parity_backend:
        names = [n for n in names if n in selected]
    from paritykit.core.errors import ParityError
    from paritykit.core.registry import BACKENDS
    from paritykit.pytest.items import device_kind

    params = []
    for name in names:
        try:
            info = BACKENDS.info(name)
        except ParityError as exc:
            raise usage_error(f"{metafunc.definition.nodeid}: parametrize_backends: "
                              f"{exc}") from None
        marks = [getattr(pytest.mark, name)]
        if info.available:
            marks += markers.device_marks(device_kind(name, run_config.backend_options.get(
                name, {})))
        else:
            marks.append(pytest.mark.skip(reason=f"{name} is not available: {info.reason}"))
        params.append(pytest.param(name, id=name, marks=marks))
    metafunc.parametrize(ARG, params, indirect=True)


@pytest.fixture
def parity_backend(request: pytest.FixtureRequest) -> Any:
    """The paritykit Backend object this test runs with (parametrized by the plugin)."""
    from paritykit.core.registry import BACKENDS

    name = getattr(request, "param", None)
    if name is None:
        pytest.fail("parity_backend is parametrized by the paritykit plugin: request it as a "
                    "test argument (or use @parametrize_backends), not via getfixturevalue",
                    pytrace=False)
    return BACKENDS.get(name)


def _parity_backend(request: pytest.FixtureRequest) -> Any:
    return request.getfixturevalue(ARG) if ARG in request.fixturenames else None


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    """Device kind, "metal" | "cuda" | "cpu": of ``parity_backend`` when the test uses it,
    else this machine's best (seed 001's ``detect_backend``)."""
    from paritykit.pytest.items import device_kind

    chosen = _parity_backend(request)
    if chosen is None:
        return markers.machine_kind()
    options = load(request.config).backend_options.get(chosen.name, {})
    return device_kind(chosen.name, options)


@pytest.fixture
def is_metal(backend: str) -> bool:
    """True when running on Metal."""
    return backend == "metal"


@pytest.fixture
def has_gpu(backend: str) -> bool:
    """True when running on a GPU (CUDA or Metal)."""
    return backend in markers.GPU_KINDS


@pytest.fixture
def device(request: pytest.FixtureRequest, backend: str) -> Any:
    """The framework device: torch's, or JAX's / MLX's for a backend built on them."""
    chosen = _parity_backend(request)
    packages = set(getattr(chosen, "packages", ()))
    if "mlx" in packages:
        mx = pytest.importorskip("mlx.core")
        return mx.gpu if backend in markers.GPU_KINDS else mx.cpu
    if "jax" in packages:
        jax = pytest.importorskip("jax")
        return jax.devices("gpu" if backend in markers.GPU_KINDS else "cpu")[0]
    import torch

    return torch.device({"cuda": "cuda", "metal": "mps"}.get(backend, "cpu"))


@pytest.fixture
def mx_device() -> Any:
    """``mlx.core.gpu`` where MLX has a GPU (Metal or CUDA), else ``mlx.core.cpu``; skips
    without mlx."""
    mx = pytest.importorskip("mlx.core", reason="mx_device needs mlx (pip install mlx)")
    gpu = False
    for sub in ("metal", "cuda"):
        probe = getattr(getattr(mx, sub, None), "is_available", None)
        with contextlib.suppress(Exception):  # a probe that fails: no such device here
            gpu = gpu or bool(probe and probe())
    return mx.gpu if gpu else mx.cpu


def compare_cross_backend(actual: Any, expected: Any, *, backend: str, test: str, base: str,
                          rules: Any, rtol: float | None = None,
                          atol: float | None = None) -> str:
    """The failure message (comparator grammar) of ``actual`` vs ``expected``; "" when close.

    ``rtol``/``atol`` replace the rules file's ``default`` level: the per-dtype default gives
    way to them, and the file's backend, test and backend+test rules still adjust them.
    Lists and scalars for ``expected`` take ``actual``'s dtype; arrays keep their own.
    """
    import numpy as np

    from paritykit.core.compare import compare_outputs, message
    from paritykit.pytest.golden_values import as_numpy

    got = as_numpy(actual)
    want = (as_numpy(expected) if hasattr(expected, "shape")
            else np.asarray(expected, dtype=got.dtype))
    if rtol is not None or atol is not None:
        rules = dataclasses.replace(
            rules,
            default_atol=rules.default_atol if atol is None else atol,
            default_rtol=rules.default_rtol if rtol is None else rtol,
            default_reason="rtol/atol given to assert_allclose_cross_backend")
    comparison = compare_outputs([got], [want], rules.resolver(backend, test, base))
    return message(test, backend, comparison)


@pytest.fixture
def assert_allclose_cross_backend(request: pytest.FixtureRequest) -> Callable[..., None]:
    """``assert_allclose_cross_backend(actual, expected, rtol=None, atol=None)``: compare with
    paritykit's comparator; tolerances from ``--parity-tolerances`` for this backend and test.

    The backend key of the rules is the ``parity_backend``'s name, else the device kind
    ("metal" / "cuda" / "cpu"); the test key is the test's name (its base name also matches).
    """
    from paritykit.core.tolerance import ToleranceRules

    chosen = _parity_backend(request)
    key = chosen.name if chosen is not None else markers.machine_kind()
    path = request.config.option.parity_tolerances
    try:
        rules = ToleranceRules.load(path) if path else ToleranceRules()
    except Exception as exc:
        raise usage_error(str(exc)) from None
    node = request.node
    base = getattr(node, "originalname", node.name)

    def check(actual: Any, expected: Any, rtol: float | None = None,
              atol: float | None = None) -> None:
        __tracebackhide__ = True
        text = compare_cross_backend(actual, expected, backend=key, test=node.name, base=base,
                                     rules=rules, rtol=rtol, atol=atol)
        if text:
            raise AssertionError(text)

    return check


@pytest.fixture(scope="session")
def _parity_golden_values(pytestconfig: pytest.Config) -> Any:
    from paritykit.pytest.golden_values import GoldenValues

    directory = pathlib.Path(pytestconfig.option.parity_golden_dir)
    if not directory.is_absolute():
        directory = pytestconfig.rootpath / directory
    return GoldenValues(directory)


@pytest.fixture
def golden_registry(_parity_golden_values: Any) -> dict[str, Any]:
    """Seed 001's dict of callables: ``register(name, value, backend)`` and ``get(name,
    backend)`` (None when absent), kept in ``--parity-golden-dir`` (one JSON file per backend
    key, so values registered on one platform are read on another); ``path(backend)`` too."""
    from paritykit.core.errors import ParityError

    store = _parity_golden_values

    def guarded(fn: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any) -> Any:
            __tracebackhide__ = True
            try:
                return fn(*args)
            except ParityError as exc:
                pytest.fail(str(exc), pytrace=False)

        return call

    return {"register": guarded(store.register), "get": guarded(store.get),
            "path": store.path}

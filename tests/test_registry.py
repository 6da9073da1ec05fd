"""Tests of the case and backend registries, plugin loading and case selection."""

from __future__ import annotations

import pathlib
import sys
from collections.abc import Iterator

import pytest
import torch

import paritykit as pk
from paritykit.core.cases import CASES, CaseRef, CaseRegistry, OpTestCase, register_test, select
from paritykit.core.errors import ParityError, RegistryError
from paritykit.core.registry import BACKENDS, BackendRegistry, load_plugin, register_backend

BUILT_IN_BACKENDS = {"torch", "torch-export", "aot-eager", "inductor", "onnxruntime"}


def _qualified(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


# ------------------------------------------------------------------------------------ cases


class DupCaseA(OpTestCase):
    name = "ptr_dup"


class DupCaseB(OpTestCase):
    name = "ptr_dup"


class ConfigsX(OpTestCase):
    name = "ptr_configs_x"

    def __init__(self, variant: str = "") -> None:
        self.name = f"ptr_configs_x{variant}"

    @classmethod
    def get_test_configs(cls) -> list[ConfigsX]:
        return [cls(), cls("_wide"), cls("_shared")]


class ConfigsY(OpTestCase):
    name = "ptr_configs_y"

    def __init__(self, config_name: str = "ptr_configs_y") -> None:
        self.name = config_name

    @classmethod
    def get_test_configs(cls) -> list[ConfigsY]:
        return [cls(), cls("ptr_configs_x_shared")]


class Nameless(OpTestCase):
    pass


def test_a_case_base_name_from_two_classes_is_an_error_naming_both() -> None:
    registry = CaseRegistry()
    registry.add(DupCaseA)
    with pytest.raises(RegistryError) as info:
        registry.add(DupCaseB)
    text = str(info.value)
    assert "'ptr_dup'" in text
    assert _qualified(DupCaseA) in text
    assert _qualified(DupCaseB) in text
    assert registry.classes() == [DupCaseA]


def test_register_test_decorator_rejects_a_duplicate_in_the_global_registry() -> None:
    register_test(DupCaseA)
    try:
        with pytest.raises(RegistryError, match="registered twice"):
            register_test(DupCaseB)
        assert DupCaseA in CASES.classes()
        assert DupCaseB not in CASES.classes()
    finally:
        CASES.remove("ptr_dup")
    assert DupCaseA not in CASES.classes()


def test_registering_the_same_case_class_twice_is_harmless() -> None:
    registry = CaseRegistry()
    registry.add(DupCaseA)
    registry.add(DupCaseA)
    assert registry.classes() == [DupCaseA]


def test_a_config_id_produced_by_two_classes_is_an_error_naming_both() -> None:
    registry = CaseRegistry()
    registry.add(ConfigsX)
    registry.add(ConfigsY)
    with pytest.raises(RegistryError) as info:
        registry.expand()
    text = str(info.value)
    assert "'ptr_configs_x_shared'" in text
    assert _qualified(ConfigsX) in text
    assert _qualified(ConfigsY) in text


def test_a_case_class_without_a_name_is_an_error() -> None:
    with pytest.raises(RegistryError, match="needs a class attribute `name`") as info:
        CaseRegistry().add(Nameless)
    assert _qualified(Nameless) in str(info.value)


def test_register_test_rejects_what_is_not_a_case() -> None:
    with pytest.raises(RegistryError, match="OpTestCase subclass"):
        register_test(int)  # type: ignore[type-var]


def test_expand_lists_every_config_with_its_base() -> None:
    registry = CaseRegistry()
    registry.add(ConfigsX)
    refs = registry.expand()
    assert [(r.id, r.base) for r in refs] == [
        ("ptr_configs_x", "ptr_configs_x"),
        ("ptr_configs_x_wide", "ptr_configs_x"),
        ("ptr_configs_x_shared", "ptr_configs_x"),
    ]
    rebuilt = refs[1].instantiate()
    assert isinstance(rebuilt, ConfigsX)
    assert rebuilt.name == "ptr_configs_x_wide"


# ----------------------------------------------------------------------------------- select


@pytest.fixture
def refs() -> list[CaseRef]:
    registry = CaseRegistry()
    registry.add(ConfigsX)
    registry.add(DupCaseA)
    return registry.expand()


def test_select_by_base_name_keeps_every_config(refs: list[CaseRef]) -> None:
    assert [r.id for r in select(refs, ["ptr_configs_x"])] == [
        "ptr_configs_x", "ptr_configs_x_wide", "ptr_configs_x_shared"]


def test_select_by_config_name_keeps_one(refs: list[CaseRef]) -> None:
    assert [r.id for r in select(refs, ["ptr_configs_x_wide"])] == ["ptr_configs_x_wide"]


def test_select_mixes_names_and_keeps_registration_order(refs: list[CaseRef]) -> None:
    chosen = select(refs, ["ptr_dup", "ptr_configs_x_shared"])
    assert [r.id for r in chosen] == ["ptr_configs_x_shared", "ptr_dup"]


def test_select_without_names_keeps_everything(refs: list[CaseRef]) -> None:
    assert select(refs, []) == refs


def test_select_with_unknown_names_is_an_error_naming_them(refs: list[CaseRef]) -> None:
    with pytest.raises(RegistryError) as info:
        select(refs, ["ptr_dup", "nope", "ptr_configs"])
    text = str(info.value)
    assert "'nope'" in text
    assert "'ptr_configs'" in text  # a prefix is not a name
    assert "'ptr_dup'" not in text


# --------------------------------------------------------------------------------- backends


class DupBackendA(pk.Backend):
    name = "ptr-dup-backend"


class DupBackendB(pk.Backend):
    name = "ptr-dup-backend"


class NamelessBackend(pk.Backend):
    pass


def test_a_backend_name_from_two_classes_is_an_error_naming_both() -> None:
    registry = BackendRegistry()
    registry.add(DupBackendA)
    with pytest.raises(RegistryError) as info:
        registry.add(DupBackendB)
    text = str(info.value)
    assert "'ptr-dup-backend'" in text
    assert _qualified(DupBackendA) in text
    assert _qualified(DupBackendB) in text


def test_register_backend_rejects_a_duplicate_in_the_global_registry() -> None:
    register_backend(DupBackendA)
    try:
        with pytest.raises(RegistryError, match="registered twice"):
            register_backend(DupBackendB)
        assert isinstance(BACKENDS.get("ptr-dup-backend"), DupBackendA)
    finally:
        BACKENDS.remove("ptr-dup-backend")
    assert "ptr-dup-backend" not in BACKENDS.names()


def test_a_backend_class_without_a_name_is_an_error() -> None:
    with pytest.raises(RegistryError, match="needs a class attribute `name`") as info:
        BackendRegistry().add(NamelessBackend)
    assert _qualified(NamelessBackend) in str(info.value)


def test_register_backend_rejects_what_is_not_a_backend() -> None:
    with pytest.raises(RegistryError, match="Backend subclass"):
        register_backend(DupCaseA)  # type: ignore[type-var]


def test_an_unknown_backend_is_an_error_listing_the_known_ones() -> None:
    with pytest.raises(RegistryError) as info:
        BACKENDS.get("nope")
    text = str(info.value)
    assert "'nope'" in text
    for name in BUILT_IN_BACKENDS:
        assert name in text


def test_names_lists_the_built_ins_with_the_reference_first() -> None:
    names = BACKENDS.names()
    assert set(names) >= BUILT_IN_BACKENDS
    assert names[0] == "torch"
    assert len(names) == len(set(names))


def test_get_returns_one_shared_instance() -> None:
    assert BACKENDS.get("torch") is BACKENDS.get("torch")
    assert BACKENDS.get("torch").name == "torch"


# ---------------------------------------------------------------------------------- plugins


@pytest.fixture
def plugin_cleanup() -> Iterator[list[str]]:
    """Case base names to forget after the test."""
    names: list[str] = []
    yield names
    for name in names:
        CASES.remove(name)


def test_a_missing_plugin_file_is_named(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "missing_cases.py"
    with pytest.raises(ParityError) as info:
        load_plugin(str(path))
    assert str(path) in str(info.value)
    assert "no such file" in str(info.value)


def test_a_missing_plugin_module_is_named() -> None:
    with pytest.raises(ParityError) as info:
        load_plugin("ptr_no_such_module_anywhere")
    assert "ptr_no_such_module_anywhere" in str(info.value)


def test_a_plugin_raising_importerror_names_the_file(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "needs_framework.py"
    path.write_text("raise ImportError('no module named fancyframework')\n")
    for _ in range(2):  # a failed import is not remembered as loaded
        with pytest.raises(ParityError) as info:
            load_plugin(str(path))
        text = str(info.value)
        assert str(path) in text
        assert "ImportError: no module named fancyframework" in text


def test_a_plugin_registers_its_cases_once(tmp_path: pathlib.Path,
                                          plugin_cleanup: list[str]) -> None:
    path = tmp_path / "my_cases.py"
    path.write_text(
        "import torch\n"
        "import paritykit as pk\n\n\n"
        "@pk.register_test\n"
        "class PluginRelu(pk.OpTestCase):\n"
        "    name = 'ptr_plugin_relu'\n\n"
        "    def create_model(self):\n"
        "        return torch.nn.ReLU()\n\n"
        "    def create_inputs(self):\n"
        "        return (pk.randn(3),)\n"
    )
    plugin_cleanup.append("ptr_plugin_relu")
    load_plugin(str(path))
    load_plugin(str(path))  # loading the same file again is a no-op, not a duplicate
    names = [c.name for c in CASES.classes()]
    assert names.count("ptr_plugin_relu") == 1
    model = next(c for c in CASES.classes() if c.name == "ptr_plugin_relu")().create_model()
    assert isinstance(model, torch.nn.ReLU)


def test_a_plugin_with_a_duplicate_name_fails_every_time(tmp_path: pathlib.Path,
                                                         plugin_cleanup: list[str]) -> None:
    register_test(DupCaseA)
    plugin_cleanup.append("ptr_dup")
    path = tmp_path / "dup_cases.py"
    path.write_text(
        "import paritykit as pk\n\n\n"
        "@pk.register_test\n"
        "class Clash(pk.OpTestCase):\n"
        "    name = 'ptr_dup'\n"
    )
    try:
        for _ in range(2):
            with pytest.raises(RegistryError):
                load_plugin(str(path))
    finally:
        for key in [k for k in sys.modules if k.startswith("paritykit_plugin_")
                    and "dup_cases" in k]:
            del sys.modules[key]


def test_register_backend_rejects_a_feature_flag_without_its_method() -> None:
    class GradFlagOnly(pk.Backend):
        name = "ptr-grad-flag-only"
        supports_grad = True

    with pytest.raises(RegistryError, match=r"sets supports_grad but does not implement "
                                            r"gradients\(\)"):
        register_backend(GradFlagOnly)
    assert "ptr-grad-flag-only" not in BACKENDS.names()

"""Built-in models: shapes, torch.export, parameter names, weight archives, KV-cache decoding,
generation and tokenizers."""

from __future__ import annotations

import json
import pathlib
import re

import numpy as np
import pytest
import torch

from paritykit.cli.main import main
from paritykit.core.errors import ParityError
from paritykit.models import (
    ByteTokenizer,
    cache_shape,
    export_weights,
    generate,
    get_model,
    kv_step_module,
    load_tokenizer,
    load_weights,
    model_names,
    torch_step,
)
from paritykit.models.tokenizer import bytes_to_unicode, pretokenize

ROOT = pathlib.Path(__file__).resolve().parents[1]

# Parameter counts of torchvision's resnet18/resnet34/mobilenet_v2 and Hugging Face's gpt2
# (tied lm_head counted once).
PUBLISHED_PARAMS = {"resnet18": 11_689_512, "resnet34": 21_797_672, "mobilenet_v2": 3_504_872,
                    "gpt2": 124_439_808}

# (model, small input kwargs, output shape for batch 2)
FORWARD = [
    ("mlp", {}, (2, 10)),
    ("small_cnn", {}, (2, 10)),
    ("gpt2-tiny", {"tokens": 8}, (2, 8, 256)),
    ("resnet18", {"image_size": 32}, (2, 1000)),
    ("mobilenet_v2", {"image_size": 32}, (2, 1000)),
]


def test_model_names_and_unknown_name() -> None:
    assert model_names() == ["gpt2", "gpt2-tiny", "resnet18", "resnet34", "mobilenet_v2",
                             "small_cnn", "mlp"]
    with pytest.raises(ParityError, match=r"unknown model 'resnet50'.*resnet34"):
        get_model("resnet50")


def test_configs_are_plain_json_data() -> None:
    for name in model_names():
        spec = get_model(name)
        assert json.loads(spec.config_json()) == dict(spec.config), name
        assert spec.kind in {"language", "vision", "tabular"}
    assert get_model("gpt2").config["n_layer"] == 12
    assert get_model("gpt2").config["vocab_size"] == 50257


@pytest.mark.parametrize(("name", "kwargs", "shape"), FORWARD, ids=[f[0] for f in FORWARD])
def test_forward_shape_and_export(name: str, kwargs: dict[str, int],
                                  shape: tuple[int, ...]) -> None:
    spec = get_model(name)
    model = spec.build(seed=0)
    assert not model.training
    inputs = spec.example_inputs(seed=0, batch=2, **kwargs)
    with torch.no_grad():
        out = model(*inputs)
    assert tuple(out.shape) == shape
    assert torch.isfinite(out).all()
    exported = torch.export.export(model, inputs, strict=False)
    torch.testing.assert_close(exported.module()(*inputs), out)


@pytest.mark.slow
def test_resnet34_forward_and_export_at_64px() -> None:
    spec = get_model("resnet34")
    model = spec.build(seed=0)
    (x,) = spec.example_inputs(image_size=64)
    exported = torch.export.export(model, (x,), strict=False)
    with torch.no_grad():
        torch.testing.assert_close(exported.module()(x), model(x))


def test_default_inputs_follow_the_config() -> None:
    assert get_model("resnet34").example_inputs()[0].shape == (1, 3, 224, 224)
    (ids,) = get_model("gpt2").example_inputs(batch=2, tokens=5)
    assert ids.dtype == torch.int64 and ids.shape == (2, 5) and int(ids.max()) < 50257
    with pytest.raises(ParityError, match=r"tokens must be in 1\.\.128"):
        get_model("gpt2-tiny").example_inputs(tokens=129)


@pytest.mark.parametrize("name", ["resnet18", "resnet34", "mobilenet_v2", "gpt2"])
def test_parameter_count_matches_the_published_model(name: str) -> None:
    model = get_model(name).build(seed=0)
    assert sum(p.numel() for p in model.parameters()) == PUBLISHED_PARAMS[name]


def test_parameter_names_match_torchvision_and_hugging_face() -> None:
    resnet = get_model("resnet18").build().state_dict()
    for name in ["conv1.weight", "bn1.running_mean", "bn1.num_batches_tracked",
                 "layer1.0.bn1.running_mean", "layer1.1.conv2.weight",
                 "layer2.0.downsample.0.weight", "layer4.1.bn2.bias", "fc.weight", "fc.bias"]:
        assert name in resnet, name
    assert len(resnet) == 122  # torchvision resnet18's state_dict has 122 entries
    assert "layer3.5.conv1.weight" in get_model("resnet34").build().state_dict()
    mobile = get_model("mobilenet_v2").build().state_dict()
    for name in ["features.0.0.weight", "features.0.1.running_var", "features.1.conv.0.0.weight",
                 "features.1.conv.1.weight", "features.2.conv.0.0.weight",
                 "features.2.conv.3.running_mean", "features.17.conv.2.weight",
                 "features.18.0.weight", "classifier.1.weight", "classifier.1.bias"]:
        assert name in mobile, name
    assert len(mobile) == 314  # torchvision mobilenet_v2's state_dict has 314 entries
    gpt = get_model("gpt2-tiny").build()
    state = gpt.state_dict()
    for name in ["transformer.wte.weight", "transformer.wpe.weight", "transformer.h.0.ln_1.bias",
                 "transformer.h.0.attn.c_attn.weight", "transformer.h.1.mlp.c_proj.bias",
                 "transformer.ln_f.weight", "lm_head.weight"]:
        assert name in state, name
    # Conv1D layout [in, out], and the head tied to the token embedding.
    assert state["transformer.h.0.attn.c_attn.weight"].shape == (64, 192)
    assert state["transformer.h.0.mlp.c_fc.weight"].shape == (64, 256)
    assert gpt.lm_head.weight is gpt.transformer.wte.weight


def test_seeded_build_is_deterministic_and_leaves_global_rng_alone() -> None:
    spec = get_model("small_cnn")
    torch.manual_seed(123)
    before = torch.rand(3)
    torch.manual_seed(123)
    a = spec.build(seed=7)
    (x,) = spec.example_inputs(seed=7)
    assert torch.equal(torch.rand(3), before)  # building and inputs did not consume the RNG
    b = spec.build(seed=7)
    c = spec.build(seed=8)
    with torch.no_grad():
        assert torch.equal(a(x), b(x))
        assert not torch.equal(a(x), c(x))
    assert torch.equal(x, spec.example_inputs(seed=7)[0])
    assert not torch.equal(x, spec.example_inputs(seed=8)[0])


@pytest.mark.parametrize("name", ["small_cnn", "gpt2-tiny"])
def test_archive_round_trip(name: str, tmp_path: pathlib.Path) -> None:
    spec = get_model(name)
    source = spec.build(seed=1)
    path = tmp_path / "nested" / f"{name}.safetensors"
    assert export_weights(source, path) == path.stat().st_size
    loaded = spec.build(seed=2, weights=path)
    inputs = spec.example_inputs(seed=0)
    with torch.no_grad():
        assert torch.equal(loaded(*inputs), source(*inputs))
        assert not torch.equal(spec.build(seed=2)(*inputs), source(*inputs))


def test_tied_head_is_stored_once(tmp_path: pathlib.Path) -> None:
    from safetensors import safe_open

    model = get_model("gpt2-tiny").build(seed=0)
    export_weights(model, tmp_path / "g.safetensors")
    with safe_open(str(tmp_path / "g.safetensors"), "pt") as archive:
        names = list(archive.keys())
        assert "transformer.wte.weight" in names and "lm_head.weight" not in names
        assert json.loads(archive.metadata()["paritykit.tied"]) == {
            "lm_head.weight": "transformer.wte.weight"}
    fresh = get_model("gpt2-tiny").build(seed=5, weights=tmp_path / "g.safetensors")
    assert torch.equal(fresh.lm_head.weight, model.transformer.wte.weight)
    assert fresh.lm_head.weight is fresh.transformer.wte.weight  # still tied after loading


def test_hugging_face_style_gpt2_archive_loads(tmp_path: pathlib.Path) -> None:
    """Hub files use GPT2Model names (no ``transformer.``) and carry ``attn.bias`` buffers."""
    from safetensors.torch import save_file

    model = get_model("gpt2-tiny").build(seed=3)
    state = {k.removeprefix("transformer."): v.clone() for k, v in model.state_dict().items()
             if k != "lm_head.weight"}
    state["h.0.attn.bias"] = torch.ones(1, 1, 128, 128)
    save_file(state, str(tmp_path / "hub.safetensors"))
    fresh = get_model("gpt2-tiny").build(seed=0, weights=tmp_path / "hub.safetensors")
    (ids,) = get_model("gpt2-tiny").example_inputs()
    with torch.no_grad():
        assert torch.equal(fresh(ids), model(ids))


def test_wrong_archive_names_file_and_parameters(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "mlp.safetensors"
    export_weights(get_model("small_cnn").build(), path)
    with pytest.raises(ParityError) as info:
        get_model("mlp").build(weights=path)
    message = str(info.value)
    assert str(path) in message
    assert "missing: layers.0.weight" in message
    assert "14 unexpected: classifier.bias, classifier.weight, features.0.weight" in message
    assert "parity export-weights" in message
    bigger = get_model("mlp")
    from paritykit.models.small import MLP

    export_weights(MLP(32, [64, 65], 10), path)
    with pytest.raises(ParityError, match=r"wrong shape: layers\.2\.weight \[65, 64\] "
                                          r"\(model wants \[64, 64\]\)"):
        bigger.build(weights=path)
    with pytest.raises(ParityError, match="no such weight archive"):
        load_weights(bigger.build(), tmp_path / "absent.safetensors")
    (tmp_path / "junk.safetensors").write_bytes(b"not an archive")
    with pytest.raises(ParityError, match=r"junk\.safetensors: not a readable safetensors"):
        load_weights(bigger.build(), tmp_path / "junk.safetensors")


def _kv_logits(model: torch.nn.Module, ids: torch.Tensor, split: int, max_len: int
               ) -> torch.Tensor:
    """Prefill ``ids[:, :split]``, then decode the rest one token at a time."""
    step = kv_step_module(model, max_len)
    k = torch.zeros(cache_shape(model, max_len, batch=ids.shape[0]))
    v = torch.zeros_like(k)
    with torch.no_grad():
        logits, k, v = step(ids[:, :split], torch.tensor([0]), k, v)
        outs = [logits]
        for i in range(split, ids.shape[1]):
            logits, k, v = step(ids[:, i:i + 1], torch.tensor([i]), k, v)
            outs.append(logits)
    return torch.cat(outs, dim=1)


def test_kv_step_matches_full_forward() -> None:
    spec = get_model("gpt2-tiny")
    model = spec.build(seed=0)
    (ids,) = spec.example_inputs(seed=1, batch=2, tokens=12)
    with torch.no_grad():
        full = model(ids)
    torch.testing.assert_close(_kv_logits(model, ids, split=5, max_len=20), full,
                               rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(_kv_logits(model, ids, split=1, max_len=12), full,
                               rtol=1e-5, atol=1e-5)


def test_kv_step_exports_with_static_shapes() -> None:
    model = get_model("gpt2-tiny").build(seed=0)
    step = kv_step_module(model, 16)
    k = torch.randn(cache_shape(model, 16))
    args = (torch.tensor([[3]]), torch.tensor([4]), k, torch.randn_like(k))
    exported = torch.export.export(step, args, strict=False)
    for got, want in zip(exported.module()(*args), step(*args), strict=True):
        torch.testing.assert_close(got, want)
    with pytest.raises(ParityError, match=r"max_len must be in 1\.\.128"):
        kv_step_module(model, 129)
    with pytest.raises(ParityError, match="needs a gpt2 model"):
        kv_step_module(get_model("mlp").build(), 8)


def test_generate_greedy_agrees_across_modes_and_with_argmax() -> None:
    model = get_model("gpt2-tiny").build(seed=4)
    prompt = list(b"The cat")
    greedy = generate(model, prompt, max_tokens=6, temperature=0.0, seed=0)
    ids = list(prompt)
    with torch.no_grad():
        for _ in range(6):
            ids.append(int(model(torch.tensor([ids]))[0, -1].argmax()))
    assert greedy == ids[len(prompt):]
    shape = cache_shape(model, 16)
    step = kv_step_module(model, 16)
    assert generate(step, prompt, 6, 0.0, 0, cache_shape=shape) == greedy
    assert generate(torch_step(step), prompt, 6, 0.0, 0, cache_shape=shape,
                    prefill=step) == greedy
    assert generate(torch_step(model), prompt, 6, 0.0, 0, window=12) == greedy
    assert generate(model, prompt, 6, 0.0, 0, cache_shape=cache_shape(step, 16)) == greedy
    with pytest.raises(ParityError, match="does not fit the KV cache of 16"):
        generate(step, prompt, 11, 0.0, 0, cache_shape=shape)


def test_generate_through_a_backend_prepared_step(tmp_path: pathlib.Path) -> None:
    """``Prepared.run`` of a lowered decode step is a valid ``step`` (what parity eval does)."""
    from paritykit.core.program import Program
    from paritykit.core.registry import BACKENDS

    model = get_model("gpt2-tiny").build(seed=4)
    step = kv_step_module(model, 16)
    shape = cache_shape(model, 16)
    example = (torch.tensor([[1]]), torch.tensor([0]), torch.zeros(shape), torch.zeros(shape))
    prepared = BACKENDS.get("torch-export").prepare(Program("decode", step, example), tmp_path)
    prompt = list(b"The cat")
    assert generate(prepared.run, prompt, 6, 0.0, 0, cache_shape=shape) == generate(
        model, prompt, 6, 0.0, 0)


def test_generate_sampling_is_seeded() -> None:
    model = get_model("gpt2-tiny").build(seed=0)
    first = generate(model, [72, 105], 8, temperature=1.0, seed=3)
    assert generate(model, [72, 105], 8, temperature=1.0, seed=3) == first
    assert generate(model, [72, 105], 8, temperature=1.0, seed=4) != first
    top1 = generate(model, [72, 105], 4, temperature=1.0, seed=3, top_k=1)
    assert top1 == generate(model, [72, 105], 4, temperature=0.0, seed=0)
    stop = first[3]
    assert generate(model, [72, 105], 8, 1.0, 3, stop_id=stop) == first[:first.index(stop) + 1]


def test_byte_tokenizer_round_trip() -> None:
    tok = load_tokenizer(None)
    assert isinstance(tok, ByteTokenizer)
    text = "héllo, wörld ✓"
    ids = tok.encode(text)
    assert ids[:2] == [104, 195] and max(ids) < 256
    assert tok.decode(ids) == text
    assert tok.decode([0xE2, 0x9C]) == "\ufffd"  # a truncated character, not an exception


def _tiny_tokenizer_json() -> dict[str, object]:
    """A GPT-2 style byte-level BPE over every byte plus a few merges."""
    chars = bytes_to_unicode()
    vocab = {chars[b]: i for i, b in enumerate(range(256))}
    merges = ["h e", "l l", "he ll", "hell o", "Ġ w", "o r", "Ġw or", "l d", "Ġwor ld", "Ġ t"]
    for merge in merges:
        vocab["".join(merge.split(" "))] = len(vocab)
    return {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [{"id": len(vocab), "content": "<|endoftext|>", "single_word": False,
                          "lstrip": False, "rstrip": False, "normalized": False,
                          "special": True}],
        "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
                          "use_regex": True},
        "post_processor": None,
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True,
                    "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None,
                  "continuing_subword_prefix": "", "end_of_word_suffix": "", "fuse_unk": False,
                  "byte_fallback": False, "ignore_merges": False, "vocab": vocab,
                  "merges": merges},
    }


TEXTS = ["hello world", "hello  world\n\nthe end", "it's 42 héllo!?  ", "<|endoftext|>hello",
         "  tabs\tand\r\nnewlines  x", "IT'S x²³ 一二 ½ we'll   ", "😀 a\u00a0b\u2003c  \n  d"]


def test_bpe_tokenizer_on_a_hand_made_file(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "tokenizer.json"
    path.write_text(json.dumps(_tiny_tokenizer_json()))
    tok = load_tokenizer(path)
    hello, world, eot = 256 + 3, 256 + 8, 256 + 10
    assert tok.encode("hello world") == [hello, world]
    assert tok.encode("hello<|endoftext|>") == [hello, eot]
    for text in TEXTS:
        assert tok.decode(tok.encode(text)) == text
    assert pretokenize("it's  a 12b!") == ["it", "'s", " ", " a", " 12", "b", "!"]


def test_bpe_matches_hugging_face_tokenizers(tmp_path: pathlib.Path) -> None:
    tokenizers = pytest.importorskip("tokenizers")
    data = _tiny_tokenizer_json()
    reference = tokenizers.Tokenizer.from_str(json.dumps(data))
    path = tmp_path / "tokenizer.json"
    path.write_text(json.dumps(data))
    ours = load_tokenizer(path)
    for text in TEXTS:
        assert ours.encode(text) == reference.encode(text).ids, text


def test_unreadable_tokenizer_files(tmp_path: pathlib.Path) -> None:
    with pytest.raises(ParityError, match="no such tokenizer file"):
        load_tokenizer(tmp_path / "absent.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    with pytest.raises(ParityError, match=r"bad\.json: not a readable tokenizer\.json"):
        load_tokenizer(bad)
    bad.write_text(json.dumps({"model": {"type": "WordPiece", "vocab": {}}}))
    with pytest.raises(ParityError, match=r"model\.type is 'WordPiece'; only"):
        load_tokenizer(bad)
    bad.write_text(json.dumps({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": [3]}}))
    with pytest.raises(ParityError, match=r"model\.merges\[0\] = 3"):
        load_tokenizer(bad)


def test_export_weights_cli(tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "checkpoints" / "mlp.safetensors"
    assert main(["export-weights", "--model", "mlp", "--out", str(out), "--seed", "3"]) == 0
    printed = capsys.readouterr().out
    assert re.search(r"mlp\.safetensors: mlp seed 3, 6,922 parameters, [\d,]+ bytes", printed)
    spec = get_model("mlp")
    (x,) = spec.example_inputs()
    with torch.no_grad():
        assert torch.equal(spec.build(weights=out)(x), spec.build(seed=3)(x))
    assert main(["export-weights", "--model", "nope", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "unknown model 'nope'" in err and "Traceback" not in err


@pytest.mark.slow
def test_docs_models_examples_run(tmp_path: pathlib.Path,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Every ```python block of docs/models.md runs as written (in a scratch directory)."""
    monkeypatch.chdir(tmp_path)
    text = (ROOT / "docs" / "models.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert blocks
    namespace: dict[str, object] = {"np": np}
    for block in blocks:
        exec(compile(block, "docs/models.md", "exec"), namespace)

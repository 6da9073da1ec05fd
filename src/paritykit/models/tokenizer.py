"""Tokenizers for the language models: UTF-8 bytes, or a GPT-2 style byte-level BPE file.

:class:`ByteTokenizer` maps text to its UTF-8 bytes (vocabulary 256, what ``gpt2-tiny`` uses).
:func:`load_tokenizer` reads a Hugging Face ``tokenizer.json`` whose model is byte-level BPE
(GPT-2's own file works) with a small pure-Python BPE — no ``tokenizers`` or ``transformers``.

Example::

    tok = load_tokenizer(None)             # ByteTokenizer
    assert tok.decode(tok.encode("héllo")) == "héllo"
"""

from __future__ import annotations

import functools
import itertools
import json
import os
import pathlib
import unicodedata
from typing import Any, Protocol

from paritykit.core.errors import ParityError

_CONTRACTIONS = ("'s", "'t", "'re", "'ve", "'m", "'ll", "'d")


class Tokenizer(Protocol):
    """What ``parity eval --workload run`` needs of a tokenizer."""

    vocab_size: int

    def encode(self, text: str) -> list[int]: ...
    def decode(self, ids: list[int]) -> str: ...


class ByteTokenizer:
    """Text ↔ UTF-8 bytes; invalid byte sequences decode to U+FFFD.

    Example::

        ByteTokenizer().encode("hi")  # [104, 105]
    """

    vocab_size = 256

    def encode(self, text: str) -> list[int]:
        return list(text.encode("utf-8"))

    def decode(self, ids: list[int]) -> str:
        return bytes(i for i in ids if 0 <= i < 256).decode("utf-8", errors="replace")


@functools.lru_cache(maxsize=1)
def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible map from the 256 bytes to printable characters."""
    keep = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1),
            *range(ord("®"), ord("ÿ") + 1)]
    chars = list(keep)
    extra = 0
    for byte in range(256):
        if byte not in keep:
            keep.append(byte)
            chars.append(256 + extra)
            extra += 1
    return {b: chr(c) for b, c in zip(keep, chars, strict=True)}


def _category(ch: str) -> str:
    cat = unicodedata.category(ch)[0]
    return cat if cat in "LN" else ("S" if ch.isspace() else "O")


def pretokenize(text: str) -> list[str]:
    """Split like GPT-2's pattern ``'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+|
    ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+`` (written out: the stdlib ``re`` has no ``\\p{}``)."""
    pieces: list[str] = []
    i, n = 0, len(text)
    while i < n:
        match = next((c for c in _CONTRACTIONS if text.startswith(c, i)), None)
        if match:
            pieces.append(match)
            i += len(match)
            continue
        start = i
        if text[i] == " " and i + 1 < n and _category(text[i + 1]) != "S":
            i += 1  # the optional leading space of a letter/number/other run
        kind = _category(text[i])
        if kind != "S":
            while i < n and _category(text[i]) == kind:
                i += 1
            pieces.append(text[start:i])
            continue
        end = i
        while end < n and text[end].isspace():
            end += 1
        # \s+(?!\S): leave the last space to prefix the following word, if one follows.
        if end < n and end - i > 1:
            end -= 1
        pieces.append(text[i:end])
        i = end
    return pieces


class BPETokenizer:
    """Byte-level BPE from a ``tokenizer.json`` (vocab, merges, added tokens).

    Example::

        tok = load_tokenizer("configs/gpt2_tokenizer.json")
        tok.decode(tok.encode("Hello world"))  # "Hello world"
    """

    def __init__(self, vocab: dict[str, int], merges: list[tuple[str, str]],
                 added: dict[str, int] | None = None) -> None:
        self.vocab = vocab
        self.ranks = {pair: rank for rank, pair in enumerate(merges)}
        self.added = dict(added or {})
        self.inverse = {i: t for t, i in vocab.items()} | {i: t for t, i in self.added.items()}
        self.vocab_size = max(self.inverse) + 1 if self.inverse else 0
        self.byte_map = bytes_to_unicode()
        self.unbyte = {c: b for b, c in self.byte_map.items()}
        self._cache: dict[str, list[str]] = {}

    def _bpe(self, word: str) -> list[str]:
        cached = self._cache.get(word)
        if cached is not None:
            return cached
        parts = list(word)
        while len(parts) > 1:
            ranks = [self.ranks.get(pair) for pair in itertools.pairwise(parts)]
            known = [r for r in ranks if r is not None]
            if not known:
                break
            best = min(known)
            merged: list[str] = []
            j = 0
            while j < len(parts):
                if j + 1 < len(parts) and self.ranks.get((parts[j], parts[j + 1])) == best:
                    merged.append(parts[j] + parts[j + 1])
                    j += 2
                else:
                    merged.append(parts[j])
                    j += 1
            parts = merged
        self._cache[word] = parts
        return parts

    def _encode_plain(self, text: str) -> list[int]:
        ids: list[int] = []
        for piece in pretokenize(text):
            word = "".join(self.byte_map[b] for b in piece.encode("utf-8"))
            for token in self._bpe(word):
                if token not in self.vocab:
                    raise ParityError(f"tokenizer: {token!r} (from {piece!r}) is not in the "
                                      "vocabulary; the merges and vocab do not agree")
                ids.append(self.vocab[token])
        return ids

    def encode(self, text: str) -> list[int]:
        """Token ids; added tokens (``<|endoftext|>``) are matched whole first."""
        ids: list[int] = []
        rest = text
        while rest:
            hits = [(rest.find(t), t) for t in self.added if t and t in rest]
            if not hits:
                ids += self._encode_plain(rest)
                break
            at, token = min(hits, key=lambda h: (h[0], -len(h[1])))
            ids += [*self._encode_plain(rest[:at]), self.added[token]]
            rest = rest[at + len(token):]
        return ids

    def decode(self, ids: list[int]) -> str:
        """Text of ``ids``; unknown ids are an error, broken UTF-8 becomes U+FFFD."""
        out = bytearray()
        for i in ids:
            token = self.inverse.get(int(i))
            if token is None:
                raise ParityError(f"tokenizer: id {i} is not in the vocabulary "
                                  f"(size {self.vocab_size})")
            if token in self.added:
                out += token.encode("utf-8")
            else:
                out += bytes(self.unbyte[c] for c in token)
        return out.decode("utf-8", errors="replace")


def _parse_merges(raw: Any, path: pathlib.Path) -> list[tuple[str, str]]:
    merges: list[tuple[str, str]] = []
    for n, entry in enumerate(raw):
        pair = entry.split(" ") if isinstance(entry, str) else entry
        if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(p, str)
                                                                 for p in pair)):
            raise ParityError(f"{path}: model.merges[{n}] = {entry!r}; expected \"a b\" or "
                              "[\"a\", \"b\"]")
        merges.append((pair[0], pair[1]))
    return merges


def load_tokenizer(path: str | os.PathLike[str] | None) -> Tokenizer:
    """:class:`ByteTokenizer` for ``None``, else the byte-level BPE in a ``tokenizer.json``.

    A file that is missing, not JSON, or not a BPE model is a ParityError naming the file and
    the field.
    """
    if path is None:
        return ByteTokenizer()
    source = pathlib.Path(path)
    try:
        data = json.loads(source.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ParityError(f"{source}: no such tokenizer file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ParityError(f"{source}: not a readable tokenizer.json ({exc})") from None
    model = data.get("model") if isinstance(data, dict) else None
    if not isinstance(model, dict) or model.get("type", "BPE") != "BPE":
        kind = model.get("type") if isinstance(model, dict) else None
        raise ParityError(f"{source}: model.type is {kind!r}; only Hugging Face tokenizer.json "
                          "files with a byte-level BPE model (GPT-2 style) can be read")
    vocab, merges = model.get("vocab"), model.get("merges")
    if not isinstance(vocab, dict) or not all(isinstance(v, int) for v in vocab.values()):
        raise ParityError(f"{source}: model.vocab must map token strings to integer ids")
    if not isinstance(merges, list):
        raise ParityError(f"{source}: model.merges must be a list of merges")
    added = {t["content"]: int(t["id"]) for t in data.get("added_tokens") or []
             if isinstance(t, dict) and "content" in t and "id" in t}
    return BPETokenizer(vocab, _parse_merges(merges, source), added)

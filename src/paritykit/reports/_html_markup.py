"""A tiny HTML builder for the HTML report: text is escaped unless it is :class:`Markup`.

Everything that comes from results (case ids, messages, tracebacks, backend names) is a
plain ``str`` and therefore escaped; only fragments built here are :class:`Markup`. The output
is also well-formed XML (void elements self-closed, only XML-safe character references), so a
test can parse a whole report with :mod:`xml.etree`.

Example::

    >>> str(el("td", "<script>", class_="c-pass", title='a "b"'))
    '<td class="c-pass" title="a &quot;b&quot;">&lt;script&gt;</td>'
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence

_VOID = frozenset({"meta", "br", "hr", "col", "img", "input", "link"})
# XML 1.0 forbids these characters even as references; a backend's message may contain them
# (raw bytes of a native error, ANSI escapes).
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


class Markup(str):
    """A string of trusted HTML: :func:`el` and :func:`join` insert it unescaped."""

    __slots__ = ()


Child = str | int | float | None | Iterable["Child"]


def escape(value: object) -> Markup:
    """``value`` as HTML text: ``&<>"'`` escaped and XML-illegal control characters dropped."""
    if isinstance(value, Markup):
        return value
    return Markup(html.escape(_XML_ILLEGAL.sub("", str(value)), quote=True))


def join(children: Child) -> Markup:
    """Concatenate children: Markup as is, other text escaped, None skipped, iterables flattened."""
    if children is None:
        return Markup("")
    if isinstance(children, str):
        return escape(children)
    if isinstance(children, (int, float)):
        return escape(children)
    return Markup("".join(join(child) for child in children))


def attrs(**attributes: object) -> Markup:
    """`` name="value"`` pairs; a trailing ``_`` is dropped (``class_``), ``_`` inside becomes
    ``-`` (``data_case``); None and False are left out, True is written as the bare name."""
    parts = []
    for key, value in attributes.items():
        if value is None or value is False:
            continue
        name = key.rstrip("_").replace("_", "-")
        if value is True:
            parts.append(f' {name}="{name}"')
        else:
            parts.append(f' {name}="{escape(value)}"')
    return Markup("".join(parts))


def el(tag: str, *children: Child, **attributes: object) -> Markup:
    """One element ``<tag attrs>children</tag>`` (``<tag attrs/>`` for void elements)."""
    if tag in _VOID:
        return Markup(f"<{tag}{attrs(**attributes)}/>")
    return Markup(f"<{tag}{attrs(**attributes)}>{join(children)}</{tag}>")


def slug(text: str, taken: set[str]) -> str:
    """An id-safe, unique anchor for ``text`` (ASCII letters, digits, ``-``; added to ``taken``)."""
    base = re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-") or "x"
    candidate, n = base, 1
    while candidate in taken:
        n += 1
        candidate = f"{base}-{n}"
    taken.add(candidate)
    return candidate


def plural(n: int, noun: str) -> str:
    """``1 config``, ``3 configs``."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def table(head: Sequence[str], rows: Sequence[Markup], numeric: Iterable[int] = (),
          css: str = "data") -> Markup:
    """A table with one header row; the columns numbered in ``numeric`` are right-aligned."""
    right = set(numeric)
    cells = [el("th", h, class_="num" if i in right else None) for i, h in enumerate(head)]
    return el("table", el("thead", el("tr", cells)), el("tbody", rows), class_=css)


def num_cell(value: str | int | float | None) -> Markup:
    """A right-aligned ``td`` (numbers line up)."""
    return el("td", value, class_="num")

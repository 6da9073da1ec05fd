"""Inline SVG charts of the HTML report: log-scale histograms and speedup bars.

Charts are plain SVG (no script); every bar has a ``<title>`` with its exact figures, and the
axes carry text labels, so a chart reads in any browser and in a text dump of the page.

Example::

    >>> svg = histogram_svg([(1e-7, True), (0.0, True), (0.5, False)], HistogramRange(-8, 0))
    >>> svg.startswith("<svg")
    True
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from paritykit.reports._html_markup import Markup, el, join

BINS_PER_DECADE = 2
_AXIS = "axis"


@dataclass(frozen=True)
class HistogramRange:
    """Decades shown by a histogram: ``10**lo`` to ``10**hi``; values outside are clamped."""

    lo: int
    hi: int

    @classmethod
    def covering(cls, values: Sequence[float], lo: int = -12, hi: int = 6) -> HistogramRange:
        """The smallest whole-decade range holding every positive finite value, within
        ``[lo, hi]`` (at least one decade wide)."""
        logs = [math.log10(v) for v in values if v > 0 and math.isfinite(v)]
        if not logs:
            return cls(-8, 0)
        low = max(lo, math.floor(min(logs)))
        high = min(hi, max(math.floor(max(logs)) + 1, low + 1))
        return cls(low, high)

    @property
    def bins(self) -> int:
        """Number of log-spaced bins."""
        return (self.hi - self.lo) * BINS_PER_DECADE


def decade_label(exponent: int) -> str:
    """``1e-7``, ``1`` (for 0), ``1e3``."""
    return "1" if exponent == 0 else f"1e{exponent}"


def _bin_of(value: float, span: HistogramRange) -> int:
    position = (math.log10(value) - span.lo) * BINS_PER_DECADE
    return min(span.bins - 1, max(0, math.floor(position)))


def histogram_counts(
    values: Sequence[tuple[float, bool]], span: HistogramRange
) -> list[tuple[int, int]]:
    """(passed, failed) counts per slot: slot 0 holds exact zeros, the last slot NaN and
    infinities, the slots between the log bins of ``span`` (values outside it clamped)."""
    counts = [[0, 0] for _ in range(span.bins + 2)]
    for value, passed in values:
        if value == 0:
            slot = 0
        elif not math.isfinite(value):
            slot = span.bins + 1
        else:
            slot = 1 + _bin_of(abs(value), span)
        counts[slot][0 if passed else 1] += 1
    return [(p, f) for p, f in counts]


def _slot_name(slot: int, span: HistogramRange) -> str:
    if slot == 0:
        return "exactly 0"
    if slot == span.bins + 1:
        return "NaN or infinite"
    low = span.lo + (slot - 1) / BINS_PER_DECADE
    return f"{10 ** low:.2g} to {10 ** (low + 1 / BINS_PER_DECADE):.2g}"


def histogram_svg(
    values: Sequence[tuple[float, bool]], span: HistogramRange, label: str = "value"
) -> Markup:
    """A stacked histogram of ``(value, passed)`` pairs on a log10 axis.

    Bars are green for passing results and red for failing ones; a "0" bar on the left and a
    "nan/inf" bar on the right hold what a log axis cannot show. The y axis fits the tallest
    bar other than "0" (exact zeros often outnumber the rest by far): a taller "0" bar is cut
    at the top of the plot and labelled with its count.
    """
    counts = histogram_counts(values, span)
    width, height, left, bottom, top = 430, 150, 36, 30, 12
    plot_h = height - bottom - top
    slot_w = (width - left - 6) / (len(counts) + 2)  # + an empty slot each side of the bins
    peak = max((p + f for p, f in counts[1:]), default=0) or max(sum(counts[0]), 1)
    parts: list[Markup] = []
    for slot, (passed, failed) in enumerate(counts):
        x = left + _position(slot, span) * slot_w
        y: float = height - bottom
        total = passed + failed
        scale = plot_h / max(peak, total)
        tip = f"{label} {_slot_name(slot, span)}: {passed} pass, {failed} fail"
        for n, css in ((passed, "bar-pass"), (failed, "bar-fail")):
            if n:
                y -= n * scale
                parts.append(el("rect", el("title", tip), x=f"{x + 1:.1f}", y=f"{y:.1f}",
                                width=f"{slot_w - 2:.1f}", height=f"{n * scale:.1f}",
                                class_=css))
        if total > peak:
            parts.append(el("text", str(total), x=f"{x + 1:.1f}", y=top - 2, class_="cut"))
    parts.append(_hist_axes(span, width, height, left, bottom, top, slot_w, peak))
    return el("svg", parts, xmlns="http://www.w3.org/2000/svg", width=width, height=height,
              viewBox=f"0 0 {width} {height}", role="img", class_="chart hist",
              aria_label=f"histogram of {label}")


def _position(slot: int, span: HistogramRange) -> int:
    """Where a slot is drawn: the "0" slot, a gap, the bins, a gap, the "nan/inf" slot."""
    if slot == 0:
        return 0
    return slot + 1 if slot <= span.bins else span.bins + 3


def _hist_axes(span: HistogramRange, width: int, height: int, left: int, bottom: int,
               top: int, slot_w: float, peak: int) -> Markup:
    base = height - bottom
    parts = [
        el("line", x1=left, y1=base, x2=width - 6, y2=base, class_=_AXIS),
        el("line", x1=left, y1=top, x2=left, y2=base, class_=_AXIS),
        el("text", str(peak), x=left - 4, y=top + 8, class_="tick", text_anchor="end"),
        el("text", "0", x=left - 4, y=base, class_="tick", text_anchor="end"),
        el("text", "0", x=f"{left + slot_w / 2:.1f}", y=base + 13, class_="tick",
           text_anchor="middle"),
        el("text", "nan/inf", x=width - 2, y=base + 24, class_="tick", text_anchor="end"),
    ]
    step = max(1, math.ceil((span.hi - span.lo) / 8))  # at most ~8 decade labels
    for exponent in range(span.lo, span.hi + 1, step):
        x = left + (2 + (exponent - span.lo) * BINS_PER_DECADE) * slot_w
        parts.append(el("line", x1=f"{x:.1f}", y1=base, x2=f"{x:.1f}", y2=base + 3,
                        class_=_AXIS))
        parts.append(el("text", decade_label(exponent), x=f"{x:.1f}", y=base + 13,
                        class_="tick", text_anchor="middle"))
    return join(parts)


@dataclass(frozen=True)
class SpeedupBar:
    """One row of a speedup chart: ``reference / optimized`` and ``baseline / optimized``."""

    label: str
    vs_reference: float | None
    vs_baseline: float | None


def format_speedup(value: float | None) -> str:
    """``3.21×``, ``12.4×``, ``0.45×``; ``—`` for None."""
    if value is None or not math.isfinite(value):
        return "—"
    if value >= 100:
        return f"{value:.0f}×"
    if value >= 10:
        return f"{value:.1f}×"
    return f"{value:.2f}×"


def speedup_svg(bars: Sequence[SpeedupBar]) -> Markup:
    """Horizontal bars on a log axis centred on 1×: right of the line is faster than the
    reference (or baseline), left is slower. Blue is vs the reference (torch eager), orange
    vs the backend's own baseline."""
    values = [v for b in bars for v in (b.vs_reference, b.vs_baseline)
              if v is not None and v > 0 and math.isfinite(v)]
    lo = min(-1, math.floor(math.log10(min(values, default=1.0))))
    hi = max(1, math.ceil(math.log10(max(values, default=1.0))))
    lo, hi = max(lo, -4), min(hi, 4)
    label_w = min(300, 12 + 6.6 * max((len(b.label) for b in bars), default=4))
    plot_w, row_h, top = 420, 26, 22
    width = int(label_w + plot_w + 60)
    height = top + row_h * len(bars) + 8

    def x_of(v: float) -> float:
        clamped = min(max(math.log10(v), lo), hi)
        return label_w + (clamped - lo) / (hi - lo) * plot_w

    parts: list[Markup] = []
    for exponent in range(lo, hi + 1):
        x = x_of(10.0 ** exponent)
        parts.append(el("line", x1=f"{x:.1f}", y1=top - 4, x2=f"{x:.1f}", y2=height - 6,
                        class_="grid one" if exponent == 0 else "grid"))
        parts.append(el("text", f"{10.0 ** exponent:g}×",
                        x=f"{x:.1f}", y=top - 8, class_="tick", text_anchor="middle"))
    one = x_of(1.0)
    for i, bar in enumerate(bars):
        y = top + i * row_h
        fits = len(bar.label) * 6.6 <= label_w - 12
        text = bar.label if fits else bar.label[: int((label_w - 12) / 6.6) - 1] + "…"
        shown = el("text", text, x=f"{label_w - 6:.1f}", y=y + 15, class_="label",
                   text_anchor="end")
        parts.append(shown if fits else el("g", el("title", bar.label), shown))
        for j, (value, css, what) in enumerate(
                ((bar.vs_reference, "sp-ref", "reference / optimized"),
                 (bar.vs_baseline, "sp-base", "baseline / optimized"))):
            if value is None or not (value > 0 and math.isfinite(value)):
                continue
            x = x_of(value)
            tip = f"{bar.label}: {what} = {format_speedup(value)}"
            parts.append(el("rect", el("title", tip), x=f"{min(x, one):.1f}",
                            y=f"{y + 3 + j * 10:.1f}", width=f"{max(abs(x - one), 1.0):.1f}",
                            height=9, class_=css))
            parts.append(el("text", format_speedup(value), x=f"{max(x, one) + 3:.1f}",
                            y=f"{y + 11 + j * 10:.1f}", class_="value"))
    return el("svg", parts, xmlns="http://www.w3.org/2000/svg", width=width, height=height,
              viewBox=f"0 0 {width} {height}", role="img", class_="chart speedup",
              aria_label="speedups per backend (log scale, 1× marked)")

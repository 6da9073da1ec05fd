"""The parity matrix of the HTML report (cases × backends), flat or grouped by base name.

Each cell shows the console's status symbol (plus the worst abs error for PASS / MISMATCH) and
carries a CSS class per status, so it reads with and without colour; its tooltip names the
case, the backend and the status in words. A failed cell links to its entry in the failures
section. Large runs (more than :data:`LARGE` configs) get a table per base name first, then
only the rows that need attention, then every config.

Example::

    >>> from paritykit.core.result import Result, Status
    >>> grid = Grid.of([Result("relu", "torch", Status.PASS, base="relu")])
    >>> grid.cases, grid.backends
    (['relu'], ['torch'])
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from paritykit.core.result import Result, Status
from paritykit.reports._html_markup import Markup, el, join, slug
from paritykit.reports.console import MISSING_SYMBOL, SYMBOLS, format_error

#: Above this many configs the matrix is shown grouped by base name first.
LARGE = 80

#: Most severe first: the status that colours a group's cell.
SEVERITY = (
    Status.CRASH, Status.MISMATCH, Status.XPASS, Status.TIMEOUT, Status.RUN_ERROR,
    Status.LOWER_ERROR, Status.EXPORT_ERROR, Status.XFAIL, Status.UNSUPPORTED, Status.SKIPPED,
    Status.PASS,
)


def status_class(status: Status | None) -> str:
    """The CSS class of a status: ``s-pass``, ``s-lower_error``; ``s-none`` for no result."""
    return "s-none" if status is None else f"s-{status.value.lower()}"


def status_class_of(status: str) -> str:
    """:func:`status_class` of a status name; ``s-none`` for a name that is not a Status."""
    try:
        return status_class(Status(status))
    except ValueError:
        return "s-none"


def symbol(status: Status) -> str:
    """The matrix symbol of ``status`` (the console's)."""
    return SYMBOLS[status][0]


@dataclass
class Grid:
    """Results arranged by case (first-seen order), backend and base name."""

    cells: dict[str, dict[str, Result]]
    backends: list[str]
    bases: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def of(cls, results: Sequence[Result], backends: Sequence[str] = ()) -> Grid:
        """Arrange ``results``; columns are ``backends`` then any other backend seen."""
        cells: dict[str, dict[str, Result]] = {}
        bases: dict[str, list[str]] = {}
        order = list(dict.fromkeys([*backends, *(r.backend for r in results)]))
        for r in results:
            if r.case not in cells:
                bases.setdefault(r.base or r.case, []).append(r.case)
            cells.setdefault(r.case, {})[r.backend] = r
        return cls(cells, order, bases)

    @property
    def cases(self) -> list[str]:
        """Case ids in first-seen order."""
        return list(self.cells)


def _cell(grid: Grid, case: str, backend: str, links: Mapping[tuple[str, str], str]) -> Markup:
    result = grid.cells[case].get(backend)
    if result is None:
        return el("td", MISSING_SYMBOL, class_="s-none", title=f"{case} @ {backend}: not run")
    status = result.status
    text = symbol(status)
    tip = f"{case} @ {backend}: {status.value}"
    error = format_error(result.max_abs_error) if status in (Status.PASS, Status.MISMATCH) else ""
    if error:
        text += " " + error
        tip += f", max abs {error}"
    if result.message and status is not Status.PASS:
        tip += " — " + result.message.splitlines()[0][:200]
    anchor = links.get(result.key)
    content: Markup | str = el("a", text, href=f"#{anchor}") if anchor else text
    # A PASS cell says all in its text (the headers stay in view); leaving its tooltip out
    # keeps a 549 × 12 matrix about half the size.
    return el("td", content, class_=status_class(status),
              title=None if status is Status.PASS else tip)


def _header(backends: Sequence[str], first: str) -> Markup:
    return el("thead", el("tr", el("th", first, class_="rowhead"),
                          [el("th", el("span", b), class_="col", title=b) for b in backends]))


def _config_row(grid: Grid, case: str, links: Mapping[tuple[str, str], str],
                row_id: str | None = None) -> Markup:
    return el("tr", el("th", case, class_="rowhead", scope="row"),
              [_cell(grid, case, b, links) for b in grid.backends], id=row_id)


def config_matrix(grid: Grid, cases: Sequence[str], links: Mapping[tuple[str, str], str],
                  anchors: Mapping[str, str] | None = None) -> Markup:
    """A table of ``cases`` × every backend; with ``anchors`` (base → id), one ``tbody`` per
    base name, headed by the base when it has several configs."""
    if anchors is None:
        body = el("tbody", [_config_row(grid, c, links) for c in cases])
        return el("table", _header(grid.backends, "case"), body, class_="matrix")
    wanted = set(cases)
    groups = []
    for base, configs in grid.bases.items():
        shown = [c for c in configs if c in wanted]
        if not shown:
            continue
        if shown == [base]:
            groups.append(el("tbody", _config_row(grid, base, links, anchors.get(base))))
            continue
        count = f"({len(shown)} config{'s' if len(shown) > 1 else ''})"
        head = el("tr", el("th", f"{base} ", el("small", count),
                           colspan=len(grid.backends) + 1, class_="group"), id=anchors.get(base))
        groups.append(el("tbody", head, [_config_row(grid, c, links) for c in shown]))
    return el("table", _header(grid.backends, "case"), groups, class_="matrix grouped")


def _base_cell(grid: Grid, base: str, backend: str) -> Markup:
    counts = Counter(grid.cells[c][backend].status for c in grid.bases[base]
                     if backend in grid.cells[c])
    if not counts:
        return el("td", MISSING_SYMBOL, class_="s-none", title=f"{base} @ {backend}: not run")
    worst = next(s for s in SEVERITY if counts[s])
    ordered = [s for s in SEVERITY if counts[s]]
    text = " ".join(f"{symbol(s)}{counts[s]}" for s in ordered)
    tip = f"{base} @ {backend}: " + ", ".join(f"{counts[s]} {s.value}" for s in ordered)
    return el("td", text, class_=status_class(worst),
              title=None if ordered == [Status.PASS] else tip)


def base_matrix(grid: Grid, anchors: Mapping[str, str]) -> Markup:
    """One row per base name; each cell counts its configs per status (``✓3 x1``)."""
    rows = [
        el("tr", el("th", el("a", base, href=f"#{anchors[base]}"), " ",
                    el("small", str(len(configs))), class_="rowhead", scope="row"),
           [_base_cell(grid, base, b) for b in grid.backends])
        for base, configs in grid.bases.items()
    ]
    return el("table", _header(grid.backends, "case (configs)"), el("tbody", rows),
              class_="matrix bases")


def legend(results: Sequence[Result]) -> Markup:
    """The symbols of the statuses present, with their names."""
    present = {r.status for r in results}
    items = [el("span", el("span", symbol(s), class_=f"sym {status_class(s)}"), " ", s.value)
             for s in Status if s in present]
    items.append(el("span", el("span", MISSING_SYMBOL, class_="sym s-none"), " not run"))
    return el("p", "legend: ", join(items), class_="legend")


def matrix_section(results: Sequence[Result], backends: Sequence[str],
                   links: Mapping[tuple[str, str], str]) -> Markup:
    """The matrix part of the report: flat when small, by base name first when large."""
    if not results:
        return el("p", "No results.", class_="note")
    grid = Grid.of(results, backends)
    taken: set[str] = set()
    anchors = {base: "m-" + slug(base, taken) for base in grid.bases}
    cases = grid.cases
    if len(cases) <= LARGE:
        return join([legend(results), el("div", config_matrix(grid, cases, links, anchors),
                                         class_="scroll tall")])
    attention = [c for c in cases if any(r.status.failed for r in grid.cells[c].values())]
    parts = [
        legend(results),
        el("h3", f"By base name ({len(grid.bases)} bases, {len(cases)} configs)"),
        el("p", "Each cell counts the configs of that base per status; the colour is the "
                "most severe one. A base name links to its configs below.", class_="note"),
        el("div", base_matrix(grid, anchors), class_="scroll tall"),
        el("h3", f"Configs with a failure ({len(attention)} of {len(cases)})"),
    ]
    if attention:
        parts.append(el("div", config_matrix(grid, attention, links), class_="scroll tall"))
    else:
        parts.append(el("p", "None: every result passed, was expected to fail, or was not "
                             "run (unsupported, skipped).", class_="note"))
    parts += [
        el("h3", f"Every config ({len(cases)} × {len(grid.backends)})", id="every-config"),
        el("div", config_matrix(grid, cases, links, anchors), class_="scroll tall"),
    ]
    return join(parts)

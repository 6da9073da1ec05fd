"""The inline stylesheet of the HTML report (kept in Python so no package data is needed).

Colours only reinforce what the text already says (status symbols and names), so the page
reads the same in grey-scale print. The text holds no ``<`` or ``&``, so the page stays XML.
"""

from __future__ import annotations

CSS = """
:root { --pass: #1a7f37; --fail: #cf222e; --warn: #9a6700; --lower: #8250df; --dim: #6e7781;
        --bg-pass: #dafbe1; --bg-fail: #ffebe9; --bg-warn: #fff8c5; --bg-lower: #fbefff;
        --bg-dim: #f6f8fa; --line: #d0d7de; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1f2328;
       margin: 0 auto; padding: 0 24px 48px; max-width: 1400px; }
header { border-bottom: 1px solid var(--line); padding: 16px 0 8px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 32px 0 8px; border-bottom: 1px solid var(--line); }
h3 { font-size: 15px; margin: 20px 0 6px; }
nav { position: sticky; top: 0; background: #fff; z-index: 3; padding: 6px 0;
      border-bottom: 1px solid var(--line); }
nav a { margin-right: 14px; }
a { color: #0969da; }
code, pre, .matrix td, .mono { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas,
       monospace; font-size: 12px; }
pre { background: var(--bg-dim); padding: 8px; overflow-x: auto; white-space: pre-wrap;
      word-break: break-word; margin: 4px 0; }
.note { color: var(--dim); }
.scroll { overflow: auto; max-width: 100%; }
/* A matrix scrolls in its own box, so its sticky headers stay in view. */
.scroll.tall { max-height: 85vh; }
table { border-collapse: collapse; }
th, td { border: 1px solid var(--line); padding: 2px 6px; text-align: left; vertical-align: top; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.matrix td { text-align: center; white-space: nowrap; padding: 1px 4px; }
.matrix td a { color: inherit; }
.matrix thead th { position: sticky; top: 0; background: #fff; z-index: 2; }
.matrix th.col { vertical-align: bottom; height: 9em; }
.matrix th.col span { writing-mode: vertical-rl; transform: rotate(180deg); white-space: nowrap; }
.matrix th.rowhead { position: sticky; left: 0; background: #fff; z-index: 1;
                     font-weight: normal; white-space: nowrap; }
.matrix thead th.rowhead { z-index: 3; vertical-align: bottom; }
.matrix th.group { background: var(--bg-dim); font-weight: 600; position: static; }
.s-pass { color: var(--pass); background: var(--bg-pass); }
.s-mismatch, .s-crash, .s-xpass { color: var(--fail); background: var(--bg-fail);
                                  font-weight: 600; }
.s-run_error, .s-timeout { color: var(--fail); background: var(--bg-fail); }
.s-export_error, .s-lower_error { color: var(--lower); background: var(--bg-lower); }
.s-xfail { color: var(--warn); background: var(--bg-warn); }
.s-unsupported, .s-skipped, .s-none { color: var(--dim); background: var(--bg-dim); }
.sym { display: inline-block; min-width: 1.4em; text-align: center; border-radius: 3px; }
.legend > span { margin-right: 12px; white-space: nowrap; }
.badges { display: flex; flex-wrap: wrap; gap: 8px; margin: 8px 0; }
.badge { border: 1px solid var(--line); border-radius: 6px; padding: 4px 10px; }
.badge b { font-size: 18px; margin-right: 4px; }
.failure { border-left: 4px solid var(--fail); padding: 2px 0 2px 10px; margin: 10px 0; }
.failure h4 { margin: 0; font-size: 14px; }
.failure .facts { color: var(--dim); font-size: 12px; }
figure { display: inline-block; margin: 0 16px 16px 0; vertical-align: top; }
figcaption { font-weight: 600; font-size: 13px; }
.chart text { font: 10px system-ui, sans-serif; fill: #1f2328; }
.chart text.label { font: 11px ui-monospace, Menlo, Consolas, monospace; }
.chart text.cut { font-weight: 600; }
.chart .axis { stroke: #57606a; stroke-width: 1; }
.chart .grid { stroke: var(--line); stroke-width: 1; }
.chart .grid.one { stroke: #57606a; stroke-dasharray: 3 2; }
.bar-pass { fill: #4ac26b; }
.bar-fail { fill: #fa4549; }
.sp-ref { fill: #218bff; }
.sp-base { fill: #fb8f44; }
.key { display: inline-block; width: 10px; height: 10px; margin: 0 4px 0 10px; }
.key.bar-pass { background: #4ac26b; }
.key.bar-fail { background: #fa4549; }
.key.sp-ref { background: #218bff; }
.key.sp-base { background: #fb8f44; }
tr.first-mismatch td, tr.first-mismatch th { background: var(--bg-fail); font-weight: 600; }
details > summary { cursor: pointer; color: #0969da; }
dl.info { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; }
dl.info dt { color: var(--dim); }
dl.info dd { margin: 0; }
"""

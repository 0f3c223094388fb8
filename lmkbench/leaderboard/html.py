"""A self-contained HTML page for a :class:`~.board.Leaderboard`: one sortable table, no external files.

Rendered with jinja2 (autoescape on: model names, task names and notes come from user files). Sorting is a
few lines of inline JavaScript: click a column heading to sort by it (scores descending first, rank and
names ascending first), click again to reverse.
"""
from __future__ import annotations

import time

from jinja2 import Environment, select_autoescape

from .board import GROUP_LABELS, Leaderboard

TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ lb.title }}</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:2em;color:#222}
h1{font-size:1.5em;margin:0 0 .2em} .sub{color:#666;margin:0 0 1.2em}
table{border-collapse:collapse;font-variant-numeric:tabular-nums}
th,td{padding:.3em .6em;border-bottom:1px solid #e3e3e3;text-align:right;white-space:nowrap}
th{cursor:pointer;user-select:none;background:#f6f6f6;position:sticky;top:0;vertical-align:bottom}
th small{display:block;font-weight:normal;color:#777}
th[data-dir=asc]::after{content:" \\25B2"} th[data-dir=desc]::after{content:" \\25BC"}
td.txt,th.txt{text-align:left} td.rank{font-weight:bold} td.top{background:#e8f5e9}
td.best{font-weight:bold} sup{color:#888;font-size:.75em;margin-left:.15em} td.na{color:#bbb}
tr:hover td{background:#fafafa} .notes{color:#555;max-width:70em}
.untrained{color:#8a5a00;font-size:.8em;font-weight:600}
</style></head><body>
<h1>{{ lb.title }}</h1>
<p class="sub">{{ lb.rows|length }} system(s) (model &times; pooling) on {{ lb.tasks|length }} task(s);
generated {{ created }}. Scores are the tasks' main metrics &times; 100.</p>
<table id="lb"><thead><tr>
<th class="txt" data-first="asc" title="1 + number of systems significantly better">Rank</th>
<th class="txt" data-first="asc">Model</th><th class="txt" data-first="asc">Pooling</th>
<th title="mean of the main metric over tasks (macro average)">Mean<small>{{ lb.tasks|length }} tasks</small></th>
{% for g in lb.groups %}<th title="mean over the {{ group_label(g) }} tasks">{{ group_label(g) }}<small>group</small></th>{% endfor %}
{% for t in lb.tasks %}<th title="{{ t.kind }}, {{ t.metric }}{% if t.n_items %}, ranked on {{ t.n_items }} items{% endif %}">{{ t.name }}<small>{{ t.metric }}</small></th>{% endfor %}
</tr></thead><tbody>
{% for r in lb.rows %}<tr>
<td class="txt rank{% if r.rank == 1 %} top{% endif %}" data-v="{{ r.rank }}">{{ r.rank }}</td>
<td class="txt" data-v="{{ r.model }}">{{ r.model }}</td><td class="txt" data-v="{{ r.pooling }}">{{ r.pooling }}{% if r.untrained %} <span class="untrained" title="not the pooling this checkpoint was trained with ({{ r.trained_pooling or 'another' }})">&#9888; not trained pooling</span>{% endif %}</td>
{{ num(r.mean, r.n_tasks < lb.tasks|length and "over " ~ r.n_tasks ~ " task(s)") }}
{% for g in lb.groups %}{{ num(r.groups.get(g)) }}{% endfor %}
{% for t in lb.tasks %}{% set s = r.scores.get(t.name) %}{% set k = r.task_ranks.get(t.name) %}
{% if s is none %}<td class="na" data-v="">&ndash;</td>{% else %}<td{% if k == 1 %} class="best"{% endif %} data-v="{{ s }}" title="rank {{ k }} on {{ t.name }}">{{ "%.2f"|format(100 * s) }}<sup>{{ k }}</sup></td>{% endif %}
{% endfor %}</tr>
{% endfor %}</tbody></table>
<div class="notes">
<p><b>Ranks</b> are significance-aware: a system's rank is 1 + the number of systems significantly better than it
(test: {{ lb.settings.test }}, {{ lb.settings.correction }} correction over all pairs, &alpha; = {{ lb.settings.alpha }}),
made monotone in the mean, so systems the data cannot separate share a rank. The superscript in a task cell is the
rank on that task, tested on its per-query / per-item scores. Overall: {{ lb.settings.overall.rule }}.</p>
{% if lb.notes %}<ul>{% for n in lb.notes %}<li>{{ n }}</li>{% endfor %}</ul>{% endif %}
{% if lb.missing %}<p><b>Missing cells</b> ({{ lb.missing|length }}, not run yet or failed): {{ lb.missing|join(", ") }}</p>{% endif %}
</div>
<script>
document.querySelectorAll("#lb th").forEach(function (th) {
  th.addEventListener("click", function () {
    var body = th.closest("table").tBodies[0], col = th.cellIndex;
    var asc = th.dataset.dir ? th.dataset.dir !== "asc" : th.dataset.first === "asc";
    th.parentNode.querySelectorAll("th").forEach(function (o) { delete o.dataset.dir; });
    th.dataset.dir = asc ? "asc" : "desc";
    var key = function (row) { var v = row.cells[col].dataset.v; return v === "" ? null : (isNaN(+v) ? v : +v); };
    Array.from(body.rows).sort(function (a, b) {
      var x = key(a), y = key(b);
      if (x === null || y === null) return (x === null) - (y === null);
      return (x < y ? -1 : x > y ? 1 : 0) * (asc ? 1 : -1);
    }).forEach(function (row) { body.appendChild(row); });
  });
});
</script>
</body></html>
"""


def _num_cell(value, note=None):
    from markupsafe import Markup, escape

    if value is None:
        return Markup('<td class="na" data-v="">&ndash;</td>')
    title = f' title="{escape(note)}"' if note else ""
    return Markup(f'<td data-v="{value!r}"{title}>{100 * value:.2f}{"*" if note else ""}</td>')


def render_html(lb: Leaderboard) -> str:
    env = Environment(autoescape=select_autoescape(default=True, default_for_string=True), trim_blocks=True,
                      lstrip_blocks=True)
    env.globals.update(num=_num_cell, group_label=lambda g: GROUP_LABELS.get(g, g))
    return env.from_string(TEMPLATE).render(lb=lb, created=time.strftime("%Y-%m-%d %H:%M"))

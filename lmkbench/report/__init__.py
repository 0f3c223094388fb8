"""The self-contained HTML report: ``build_report(results_dir, "reports/x.html", ReportOptions(...))``.

Modules: :mod:`.collect` (results → sections), :mod:`.tables` (means with bootstrap CIs joined with the
Comparison's tests), :mod:`.figures` (matplotlib → ``data:`` URIs), :mod:`.drilldown` (queries where the
poolings disagree), :mod:`.summary` (run summary from the results' meta), :mod:`.explain` (how to read
it), :mod:`.build` (renders the jinja2 template), :mod:`.browser` (headless Chromium check and screenshot).
"""
from .build import ReportOptions, build_report, render_report

__all__ = ["ReportOptions", "build_report", "render_report"]

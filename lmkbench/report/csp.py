"""The one Content-Security-Policy of every HTML page lmkbench writes (report, leaderboard).

The base policy forbids every fetch, every script, every form and ``<base>``; images only as ``data:`` URIs,
styles only inline. A page that needs an inline script of its own (the leaderboard's column sorting) allows
exactly that script by its SHA-256 hash, so a string from a result file can never run in it.
"""
from __future__ import annotations

import base64
import hashlib

CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"


def script_hash(script: str) -> str:
    """``'sha256-…'``: the CSP source that allows the inline ``<script>`` whose text is exactly ``script``."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii") + "'"


def policy(*scripts: str) -> str:
    """:data:`CSP`, plus ``script-src`` for exactly these inline scripts (none: no script runs)."""
    return CSP + (f"; script-src {' '.join(script_hash(s) for s in scripts)}" if scripts else "")

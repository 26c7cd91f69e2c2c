"""Measure how wide emails render in headless Chromium: one browser run for many emails.

Each email is put in an iframe (srcdoc, so the page may read it) exactly `width` CSS pixels
wide; once everything has loaded, a script records each document's scroll width, which is
wider than the iframe when something sticks out on the right.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

_SCRIPT = """<script>
window.addEventListener('load', function () {
  var out = [];
  document.querySelectorAll('iframe').forEach(function (f) {
    var d = f.contentDocument;
    out.push({name: f.dataset.name, viewport: f.contentWindow.innerWidth,
              width: Math.max(d.documentElement.scrollWidth, d.body.scrollWidth)});
  });
  var pre = document.createElement('pre');
  pre.id = 'result';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>"""


def chromium() -> str | None:
    """The Chromium executable, if one is installed."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def measure(emails: Sequence[tuple[str, str]], widths: Sequence[int]) -> list[dict[str, object]]:
    """[(name, html)] × widths -> [{name, viewport, width}] (CSS pixels)."""
    exe = chromium()
    if exe is None:
        raise RuntimeError("chromium is not installed")
    frames = [
        f'<iframe data-name="{html.escape(name)}" style="width:{w}px;height:1200px;border:0;'
        f'display:block" srcdoc="{html.escape(body, quote=True)}"></iframe>'
        for name, body in emails
        for w in widths
    ]
    page = (
        "<!DOCTYPE html><html><head><title>widths</title></head><body style='margin:0'>"
        + "".join(frames)
        + _SCRIPT
        + "</body></html>"
    )
    with tempfile.TemporaryDirectory() as tmp:
        probe = Path(tmp) / "probe.html"
        probe.write_text(page, encoding="utf-8")
        done = subprocess.run(
            [
                exe,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
                f"--user-data-dir={tmp}/profile",
                "--window-size=1200,800",
                "--virtual-time-budget=10000",
                "--dump-dom",
                probe.as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
    m = re.search(r'<pre id="result">(.*?)</pre>', done.stdout, re.DOTALL)
    if not m:
        raise RuntimeError(
            f"chromium gave no result (exit {done.returncode}): {done.stderr[-500:]}"
        )
    result: list[dict[str, object]] = json.loads(html.unescape(m.group(1)))
    return result

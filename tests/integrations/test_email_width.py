"""Every email kind fits a phone: rendered at 360 px and 900 px in headless Chromium, the
document is no wider than the viewport (tables scroll inside, long words wrap)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from email_width import chromium, measure  # type: ignore[import-not-found]

from integrations.commands.preview import render_preview
from integrations.config_file import load_policy
from integrations.mail.render import REQUIRED_KINDS, Renderer, default_samples

WIDTHS = (360, 900)


@pytest.mark.skipif(chromium() is None, reason="chromium is not installed (make test installs it)")
def test_every_email_kind_fits_360_and_900_px() -> None:
    renderer = Renderer()
    samples = default_samples(list(REQUIRED_KINDS))
    assert set(samples) == set(REQUIRED_KINDS)
    emails = [(kind, renderer.render(kind, samples[kind]).html) for kind in REQUIRED_KINDS]
    # A hostile, unbreakable title must wrap too, not push the layout wide.
    long = dict(samples["invitation"])
    long["title"] = "Q" * 200
    emails.append(("invitation-long-title", renderer.render("invitation", long).html))
    results = measure(emails, WIDTHS)
    assert len(results) == len(emails) * len(WIDTHS)
    too_wide = [r for r in results if int(str(r["width"])) > int(str(r["viewport"]))]
    assert {int(str(r["viewport"])) for r in results} == set(WIDTHS)
    assert not too_wide, too_wide


@pytest.mark.skipif(chromium() is None, reason="chromium is not installed (make test installs it)")
def test_the_demos_emails_fit_360_px(demo: Path, pinned_now: datetime) -> None:
    """The demo's real data (five reps, six KPIs, a busy calendar), not only the samples."""
    loaded = load_policy(demo / "config.yaml")
    kinds = ("summary", "agenda", "digest", "audit", "sales_meeting", "leadership_report")
    emails = [
        (kind, render_preview(loaded, kind, rep=None, now=pinned_now, html=True)) for kind in kinds
    ]
    results = measure(emails, WIDTHS)
    too_wide = [r for r in results if int(str(r["width"])) > int(str(r["viewport"]))]
    assert not too_wide, too_wide


@pytest.mark.skipif(chromium() is None, reason="chromium is not installed (make test installs it)")
def test_the_demo_orgs_report_fits_360_px(tmp_path: Path, pinned_now: datetime) -> None:
    """The VP roll-up of `coachd init --demo --org` (three managers, two regions)."""
    from daemon import main
    from integrations import clock
    from integrations.org.config import load_org
    from integrations.org.report import render
    from integrations.org.roster import load_roster

    assert main(["init", str(tmp_path / "org"), "--demo", "--org"]) == 0
    clock.reset()
    org = load_org(tmp_path / "org" / "org.yaml")
    html = render(org, load_roster(org), pinned_now).html
    assert "Central" in html and "Europe" in html
    results = measure([("org_report", html)], WIDTHS)
    too_wide = [r for r in results if int(str(r["width"])) > int(str(r["viewport"]))]
    assert len(results) == len(WIDTHS) and not too_wide, too_wide

"""The report in a real browser: headless Chromium loads it without errors and shows plots.

Skips where Chromium is absent, unless NEUROLINT_REQUIRE_BROWSER is set (``.ci/run`` sets it
after installing Debian's ``chromium``), so CI cannot pass by skipping.
"""

import os
import re
import shutil
import subprocess

import numpy as np
import pytest

import neurolint as nl
from neurolint.core.channels import ChannelInfo
from neurolint.core.timeseries import TimeSeries
from neurolint.simulate import simulate_eeg

BROWSER = next(
    (p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None
)
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
]
EVIL = "<script>alert(1)</script>"

pytestmark = pytest.mark.skipif(
    BROWSER is None and not os.environ.get("NEUROLINT_REQUIRE_BROWSER"),
    reason="Chromium is not installed (Debian: apt-get install chromium); .ci/run installs it",
)


def _chromium(*args: str, tmp_path) -> subprocess.CompletedProcess:
    assert BROWSER is not None, "NEUROLINT_REQUIRE_BROWSER is set but Chromium is missing"
    profile = tmp_path / "profile"
    cmd = [BROWSER, *FLAGS, f"--user-data-dir={profile}", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    sim = simulate_eeg(16, 20, 256.0, seed=3)
    names = [EVIL if i == 1 else n for i, n in enumerate(sim.data.ch_names)]
    info = sim.data.channels
    ts = TimeSeries(
        sim.data.get_data(),
        256.0,
        ChannelInfo(names, types=info.types, units=info.units, positions=info.positions),
    )
    qc = nl.check(ts)
    fixed, log = nl.fix(ts, qc)
    path = tmp_path_factory.mktemp("browser") / "report.html"
    return nl.report(qc, path, ts, corrected=fixed, log=log, source=f"/data/{EVIL}.fif")


def test_the_report_loads_without_console_errors_and_every_plot_decodes(page, tmp_path):
    run = _chromium(
        "--enable-logging=stderr",
        "--v=0",
        "--virtual-time-budget=5000",
        "--dump-dom",
        page.as_uri(),
        tmp_path=tmp_path,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    console = [line for line in run.stderr.splitlines() if "CONSOLE" in line]
    assert console == []
    dom = run.stdout
    assert "data-errors" not in dom
    shown, total = map(int, re.search(r'data-plots="(\d+)/(\d+)"', dom).groups())
    assert total >= 4 and shown == total
    # The channel named like a script is text on the page, not a script.
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in dom


def test_a_screenshot_shows_the_plots(page, tmp_path):
    from PIL import Image

    shot = tmp_path / "shot.png"
    run = _chromium(
        "--hide-scrollbars",
        "--window-size=1100,2600",
        f"--screenshot={shot}",
        page.as_uri(),
        tmp_path=tmp_path,
    )
    assert run.returncode == 0 and shot.is_file(), run.stderr[-2000:]
    img = np.asarray(Image.open(shot).convert("RGB")).astype(int)
    assert img.shape[:2] == (2600, 1100)
    r, g, b = img[..., 0], img[..., 1], img[..., 2]
    # The quality heatmap's clean windows are green and its bad ones red: both in view.
    green = (g > 150) & (r < 170) & (b < 130) & (g - r > 40)
    red = (r > 150) & (g < 60) & (b < 70)
    assert green.sum() > 5000 and red.sum() > 500
    assert len(np.unique(img.reshape(-1, 3), axis=0)) > 500  # plots, not a blank page

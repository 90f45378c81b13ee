"""Package-level promises: light imports, the README's commands, the CI script."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("statement", ["import neurolint", "import neurolint.cli.main"])
def test_import_does_not_pull_heavy_packages(statement):
    code = (
        f"{statement}; import sys; "
        "heavy = [m for m in ('torch', 'mne', 'spikeinterface', 'pynwb', 'dask') "
        "if m in sys.modules]; "
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_public_names_resolve_lazily():
    import neurolint

    for name in neurolint.__all__:
        assert getattr(neurolint, name) is not None


def _readme_commands():
    text = (ROOT / "README.md").read_text()
    quick = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```(?:bash|sh)\n(.*?)\n```", quick, flags=re.S)


def test_readme_quick_start_has_exactly_two_commands():
    commands = _readme_commands()
    assert len(commands) == 2
    assert all("\n" not in c.strip() for c in commands)
    assert "neurolint demo" in commands[0]
    assert "pytest" in commands[1]


def test_ci_runs_the_readme_test_command_verbatim():
    ci = (ROOT / ".ci" / "run").read_text()
    assert _readme_commands()[1].strip() in ci.splitlines()

"""Static checks that are part of the suite: bandit finds nothing of high severity."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_bandit_finds_no_high_severity_issue():
    result = subprocess.run([sys.executable, "-m", "bandit", "-q", "-r", "workflow", "web",
                             "forms", "--severity-level", "high"], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr

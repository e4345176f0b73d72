"""Known vulnerabilities of the installed distributions from PyPI's JSON API, for machines that
reach neither of pip-audit's services (api.osv.dev, and PyPI's per-release JSON, which answers
404 here). PyPI's project JSON names the vulnerabilities of the latest release: a distribution
installed at its latest release is checked, the others are listed as not checked. Exit 1 on a
vulnerability not waived in vulnerability-waivers.txt (an id, then why, on each line)."""

from __future__ import annotations

import json
import sys
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from importlib.metadata import distributions
from pathlib import Path

from packaging.utils import canonicalize_name


def latest(name: str) -> dict | None:
    try:
        with urllib.request.urlopen(f"https://pypi.org/pypi/{name}/json", timeout=20) as answer:
            return json.load(answer)
    except OSError:
        return None


WAIVERS = Path(__file__).with_name("vulnerability-waivers.txt")


def main() -> int:
    waived = {line.split()[0] for line in WAIVERS.read_text("utf-8").splitlines()
              if line.strip() and not line.startswith("#")} if WAIVERS.exists() else set()
    installed = {canonicalize_name(d.metadata["Name"]): d.version for d in distributions()}
    with ThreadPoolExecutor(8) as pool:
        answers = dict(zip(installed, pool.map(latest, installed), strict=True))
    found, unchecked = [], []
    for name, version in sorted(installed.items()):
        data = answers[name]
        if data is None or data["info"]["version"] != version:
            newer = f" (latest {data['info']['version']})" if data else " (no answer)"
            unchecked.append(f"{name} {version}{newer}")
            continue
        for vuln in data.get("vulnerabilities", []):
            if not vuln.get("withdrawn") and vuln["id"] not in waived:
                found.append(f"{name} {version}: {vuln['id']} {' '.join(vuln.get('aliases', []))}")
    print(f"{len(installed) - len(unchecked)} of {len(installed)} distributions checked; "
          f"{len(found)} known vulnerabilities")
    for line in found:
        print("  VULNERABLE", line)
    for line in unchecked:
        print("  not checked:", line)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())

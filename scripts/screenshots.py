"""Screenshots of the web client's main pages into docs/screenshots/ (for the README).

Runs the real-browser tests (tests/browser, headless Chromium through the real stack) with
WEB_CLIENT_SCREENSHOTS pointing at the folder, so every picture is of a page the tests checked.

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, WEB_CLIENT_SCREENSHOTS=str(args.out.resolve()))
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "tests/browser"], cwd=ROOT,
                         env=env)
    if run.returncode == 0:
        print(f"screenshots in {args.out}: " + ", ".join(sorted(p.name for p in
                                                               args.out.glob("*.png"))))
    return run.returncode


if __name__ == "__main__":
    sys.exit(main())

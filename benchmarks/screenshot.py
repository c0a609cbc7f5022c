"""Save a README screenshot of the explorer (home page, paper Fig. 1) taken by headless Chromium.

Usage: python benchmarks/screenshot.py [--page loss_curves] [--out docs/screenshot.png] [--full-page]
Needs /usr/bin/chromium (Debian: apt-get install -y chromium) and the playwright Python package.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root: explorer.headless
from explorer.headless import CHARTS, CHROMIUM, CHROMIUM_ARGS, REPO, serve, wait_ready  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--page", default="", help="url path of the page (default: home)")
    parser.add_argument("--out", default=str(REPO / "docs" / "screenshot.png"))
    parser.add_argument("--width", type=int, default=1400)
    parser.add_argument("--height", type=int, default=860)
    parser.add_argument("--full-page", action="store_true", help="the whole scrollable page")
    parser.add_argument("--runs-dir", default=None, help="run store of the app (default: an empty temporary one)")
    args = parser.parse_args(argv)
    if not Path(CHROMIUM).exists():
        print(f"{CHROMIUM} not found (Debian: apt-get install -y chromium)", file=sys.stderr)
        return 1
    from playwright.sync_api import expect, sync_playwright

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with serve(args.runs_dir) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": args.width, "height": args.height}, device_scale_factor=1)
        page.goto(f"{url}/{args.page}")
        wait_ready(page)
        expect(page.locator(CHARTS).first).to_be_visible(timeout=30_000)
        page.wait_for_timeout(1000)  # let plotly finish drawing
        page.screenshot(path=str(out), full_page=args.full_page)
        browser.close()
    print(f"saved {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

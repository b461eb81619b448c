"""The home page and the Spreadsheet in a real headless Chromium (Debian's ``chromium`` package).

The browser is driven through its command line only (``--dump-dom``, ``--screenshot``), so no Python browser
driver is needed. When ``/usr/bin/chromium`` is missing and the tests run as root, the session installs it with
apt-get (so ``./dev.sh test`` needs no manual step); in CI (``CI`` set) a browser that cannot be had fails the
run instead of skipping. ``FILMCLUB_SCREENSHOTS=<folder>`` keeps the screenshots (the README's come from here).
"""

from __future__ import annotations

import asyncio
import io
import os
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from aiohttp import web as aioweb
from aiohttp.test_utils import TestServer
from PIL import Image

from cogs.web.server import RateLimiter, WebApp
from tests.web.conftest import OTHER_GUILD, Web

CHROMIUM = "/usr/bin/chromium"
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--hide-scrollbars", "--disable-extensions", "--disable-default-apps",
)


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@pytest.fixture(scope="session")
def chromium() -> str:
    found = shutil.which("chromium") or (CHROMIUM if os.path.exists(CHROMIUM) else None)
    problem = ""
    if found is None and hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        install = ["apt-get", "install", "-y", "--no-install-recommends", "chromium"]
        result = subprocess.run(install, env=env, capture_output=True, text=True, timeout=900)
        if result.returncode != 0:  # stale package lists: refresh once and try again
            subprocess.run(["apt-get", "update"], env=env, capture_output=True, timeout=600)
            result = subprocess.run(install, env=env, capture_output=True, text=True, timeout=900)
        problem = result.stderr[-500:]
        found = shutil.which("chromium") or (CHROMIUM if os.path.exists(CHROMIUM) else None)
    if found is None:
        message = f"headless Chromium is not installed and could not be installed (needs root and apt-get) {problem}"
        if _in_ci():
            pytest.fail(message)
        pytest.skip(message)
    return found


class _Page(HTMLParser):
    """The title, the image sources and the first screening's heading of a dumped DOM."""

    def __init__(self) -> None:
        super().__init__()
        self.title = ""
        self.images: list[str] = []
        self.headings: list[str] = []
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img":
            self.images.append(dict(attrs).get("src") or "")
        if tag in ("title", "h3"):
            self._in = tag
            if tag == "h3":
                self.headings.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == self._in:
            self._in = None

    def handle_data(self, data: str) -> None:
        if self._in == "title":
            self.title += data
        elif self._in == "h3":
            self.headings[-1] += data


async def run_chromium(chromium: str, profile: Path, *args: str) -> bytes:
    process = await asyncio.create_subprocess_exec(
        chromium, *FLAGS, f"--user-data-dir={profile}", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    assert process.returncode == 0, err.decode(errors="replace")[-2000:]
    return out


async def test_home_and_spreadsheet_render_in_headless_chromium(web: Web, chromium: str, tmp_path: Path) -> None:
    seen: list[tuple[str, int, str]] = []

    async def record(request: aioweb.Request, response: aioweb.StreamResponse) -> None:
        seen.append((request.path_qs, response.status, response.headers.get("Content-Type", "")))

    app = WebApp(web.service, RateLimiter(rate=1000, burst=1000))
    app.app.on_response_prepare.append(record)
    server = TestServer(app.app, host="127.0.0.1")
    await server.start_server()
    keep = os.environ.get("FILMCLUB_SCREENSHOTS")
    # The second server's pages: the same data without the hostile strings, so the screenshots read well.
    site = await web.service.site(OTHER_GUILD)
    assert site is not None
    base = f"/c/{web.service.site_token(site)}/"
    try:
        for page, name, title in (("", "home", "Thursday Film Club · Home"),
                                  ("spreadsheet", "spreadsheet", "Thursday Film Club · Spreadsheet")):
            url = str(server.make_url(base + page))
            seen.clear()
            dom = (await run_chromium(chromium, tmp_path / f"profile-{name}-dom", "--dump-dom", url)).decode()
            parsed = _Page()
            parsed.feed(dom)
            assert parsed.title == title
            if name == "home":
                assert parsed.headings[0].strip() == "Her (2013)"  # the next screening comes first
                assert "Wed 4 Mar 2026, 12:00 UTC" in dom and "1 going · 2 maybe" in dom
            else:
                assert "2 of 151 watched" in dom and "Stairs!" in dom and "The peach scene" in dom
                assert parsed.images, "the Spreadsheet shows its progress picture"
            # No broken image: the browser fetched every image on the page and each came back as an image.
            answers = {path: (status, kind) for path, status, kind in seen}
            for src in parsed.images:
                assert answers.get(src, (0, ""))[0] == 200 and answers[src][1].startswith("image/"), (src, seen)
            assert all(status in (200, 304) for _, status, _ in seen), seen

            shot = tmp_path / f"web-{name}.png"
            await run_chromium(chromium, tmp_path / f"profile-{name}-shot", f"--screenshot={shot}",
                               "--window-size=1000,1400", url)
            with Image.open(io.BytesIO(shot.read_bytes())) as image:
                assert image.size == (1000, 1400)
                colours = image.convert("RGB").getcolors(maxcolors=1_000_000)
                assert colours is not None and len(colours) > 50  # text and pictures, not a blank page
            if keep:
                Path(keep).mkdir(parents=True, exist_ok=True)
                shutil.copy(shot, Path(keep) / shot.name)
    finally:
        await server.close()

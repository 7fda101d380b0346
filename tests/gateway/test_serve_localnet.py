"""``bourse-gateway serve --localnet`` prints a base URL and a funded key that work,
:func:`gateway.demo_calls.run_paid_calls` (for ``bourse demo``) makes paid calls through it, and
it serves the market page."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx

from gateway.demo_calls import run_paid_calls
from gateway.localnet_demo import MODELS
from gateway.localnet_serve import DEMO_CREDITS
from gateway.server import free_port


def test_serve_localnet_and_paid_calls(tmp_path: Path) -> None:
    port = free_port()
    out = tmp_path / "out.txt"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gateway",
            "serve",
            "--localnet",
            "--port",
            str(port),
            "--workdir",
            str(tmp_path),
        ],
        stdout=out.open("wb"),
        stderr=subprocess.DEVNULL,
        env={**os.environ},
    )
    try:
        deadline = time.monotonic() + 120
        while "API key" not in out.read_text():
            assert proc.poll() is None, out.read_text()
            assert time.monotonic() < deadline, out.read_text()
            time.sleep(0.2)
        text = out.read_text()
        assert "LOCAL STAND-INS" in text
        base = re.search(r"base URL\s+(\S+)", text)
        key = re.search(r"API key\s+(bs_live_\S+)", text)
        assert base and key
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        report = asyncio.run(run_paid_calls(base.group(1), key.group(1), 4))
        assert (report.served, report.failed) == (4, 0)
        assert report.providers == {"Local stand-in A": 4}
        credits = httpx.get(
            base.group(1) + "/credits", headers={"Authorization": f"Bearer {key.group(1)}"}
        ).json()
        assert credits["balance"] == DEMO_CREDITS - report.charged
        # the market page is served too: the demo models are routed, not tokenized: previews
        market = httpx.get(f"http://127.0.0.1:{port}/api/market", timeout=30).json()
        slugs = {m.slug for m in MODELS}
        assert {m["slug"] for m in market["models"]} == slugs
        assert {c["id"] for c in market["catalog"]} == slugs
        page = httpx.get(f"http://127.0.0.1:{port}/market", timeout=30)
        assert page.status_code == 200 and 'id="catalog"' in page.text
    finally:
        proc.terminate()
        proc.wait(timeout=30)

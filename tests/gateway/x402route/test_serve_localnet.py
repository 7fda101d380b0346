"""``bourse-gateway serve --localnet --x402-facilitator URL`` turns the x402 route on (labelled
devnet on the wire) and prints it; the route then asks that facilitator for its fee payer (here
one that is down: a clear 503, nothing else)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx

from gateway.server import free_port


def test_serve_localnet_enables_x402_with_a_facilitator_url(tmp_path: Path) -> None:
    port, dead = free_port(), free_port()
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
            "--x402-facilitator",
            f"http://127.0.0.1:{dead}",
        ],
        stdout=out.open("wb"),
        stderr=subprocess.DEVNULL,
        env={**os.environ},
    )
    try:
        deadline = time.monotonic() + 120
        while "x402 " not in out.read_text():
            assert proc.poll() is None, out.read_text()
            assert time.monotonic() < deadline, out.read_text()
            time.sleep(0.2)
        found = re.search(r"x402\s+(\S+)", out.read_text())
        assert found and found.group(1) == f"http://127.0.0.1:{port}/api/x402/v1/chat/completions"
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        body = {"model": "deepseek-chat", "messages": [{"role": "user", "content": "hi"}]}
        answer = httpx.post(found.group(1), json=body, timeout=60)
        assert answer.status_code == 503, answer.text
        assert answer.json()["error"]["reason"] == "facilitator_unavailable"
    finally:
        proc.terminate()
        proc.wait(timeout=30)

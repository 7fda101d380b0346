"""How fast the localnet starts and stops, and how long ``bourse demo`` takes.

``python -m benchmarks.startup`` rewrites ``benchmarks/startup.md``. Measured in one run,
against the baseline of a bare interpreter start (``python -c pass``) and of importing the
package (``python -c 'import localnet'``), so the figures read as "start-up beyond what
Python itself costs" on whatever machine runs them:

- ``python -m localnet`` as a subprocess: from spawn to its ``manifest:`` line (serving), and
  from SIGINT to exit;
- :meth:`localnet.Localnet.start` in process: ready and stopped;
- ``bourse demo -o json`` end to end (goal: under a minute, issue 13).

Goals (from localnet/README.md and issue 13): in-process ready and stopped in under a second,
the CLI ready in under 2 s, the demo under 60 s.
"""

from __future__ import annotations

import asyncio
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from localnet import Localnet

OUT = Path(__file__).with_name("startup.md")
ROOT = Path(__file__).resolve().parents[1]
RUNS = 5
GOALS = {"in-process ready": 1.0, "in-process stop": 1.0, "CLI ready": 2.0, "bourse demo": 60.0}


def _timed(fn: Callable[[], None]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def _python(*args: str) -> None:
    subprocess.run([sys.executable, *args], cwd=ROOT, check=True, capture_output=True)


def _cli_start_stop() -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as workdir:
        started = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "localnet", "--port", "0", "--dir", workdir,
             "--backend", "embedded"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )  # fmt: skip
        assert proc.stdout is not None
        while not proc.stdout.readline().startswith("manifest:"):
            if proc.poll() is not None:
                raise RuntimeError(f"localnet exited early: {proc.communicate()[1]}")
        ready = time.perf_counter() - started
        stopping = time.perf_counter()
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)
        return ready, time.perf_counter() - stopping


async def _in_process_start_stop() -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as workdir:
        started = time.perf_counter()
        async with Localnet.start(port=0, workdir=Path(workdir), backend="embedded") as net:
            ready = time.perf_counter() - started
            await net.rpc("getHealth")
            stopping = time.perf_counter()
        return ready, time.perf_counter() - stopping


def _row(name: str, samples: list[float], baseline: float | None) -> str:
    median, worst = statistics.median(samples), max(samples)
    beyond = f"{median - baseline:.2f} s" if baseline is not None else ""
    goal = GOALS.get(name)
    verdict = "" if goal is None else f"{goal:.0f} s {'met' if worst < goal else 'NOT met'}"
    return f"| {name} | {median:.2f} s | {worst:.2f} s | {beyond} | {verdict} |"


def main() -> None:
    bare = [_timed(lambda: _python("-c", "pass")) for _ in range(RUNS)]
    imported = [_timed(lambda: _python("-c", "import localnet")) for _ in range(RUNS)]
    cli = [_cli_start_stop() for _ in range(RUNS)]
    in_process = [asyncio.run(_in_process_start_stop()) for _ in range(RUNS)]
    demo = [_timed(lambda: _python("-m", "bourse_cli", "demo", "-o", "json"))]
    base = statistics.median(bare)
    rows = [
        _row("python -c pass (baseline)", bare, None),
        _row("python -c 'import localnet'", imported, base),
        _row("CLI ready", [r for r, _ in cli], base),
        _row("CLI stop", [s for _, s in cli], None),
        _row("in-process ready", [r for r, _ in in_process], None),
        _row("in-process stop", [s for _, s in in_process], None),
        _row("bourse demo", demo, base),
    ]
    load = os.getloadavg()[0]
    OUT.write_text(
        "# Start-up: localnet and `bourse demo`\n\n"
        "Measured by `python -m benchmarks.startup` (rewrites this file) in one run: "
        f"{RUNS} runs each (the demo once). *beyond interpreter*: median minus the median of a "
        "bare `python -c pass` measured in the same run. The verdict uses the worst run.\n\n"
        "| what | median | worst | beyond interpreter | goal |\n|---|---:|---:|---:|---|\n"
        + "\n".join(rows)
        + f"\n\nLoad average when the run ended: {load:.2f} on {os.cpu_count()} cores.\n"
    )
    sys.stdout.write(OUT.read_text())


if __name__ == "__main__":
    main()

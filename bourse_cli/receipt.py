"""``bourse receipt``: check that a paid call was settled — its proof (from
``Settlement.prove`` / ``BatchResult.prove``, as JSON) against the root and sequence the
program recorded (the stream account and its ``BatchSettled`` event)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import RenderableType

from bourse_chain.receipts import CallProof, verify_on_chain
from bourse_cli.context import state_of
from bourse_cli.errors import guard
from bourse_cli.output import key_values, usdc
from bourse_ops.common import Session
from bourse_ops.errors import InvalidInput

app: typer.Typer = typer.Typer(help="Proofs of settled calls.", no_args_is_help=True)


def render_verification(d: dict[str, Any]) -> RenderableType:
    share = d.get("share") or {}
    rows = [
        ("verified", "yes" if d["verified"] else "NO"),
        ("reason", d["reason"]),
        ("stream", d["stream"]),
        *[(f"{k} share", f"{usdc(v)} USDC") for k, v in share.items()],
    ]
    return key_values("receipt", rows)


def load_proof(path: Path) -> CallProof:
    try:
        return CallProof.from_json(json.loads(path.read_text()))
    except FileNotFoundError as e:
        raise InvalidInput(f"proof file {path} not found") from e
    except (ValueError, KeyError, TypeError) as e:
        raise InvalidInput(f"{path} is not a call proof: {e}") from e


@app.command()
def verify(
    ctx: typer.Context,
    proof: Annotated[Path, typer.Argument(help="A call proof (JSON from Settlement.prove)")],
) -> None:
    """Verify that a call is included in a batch the program settled; exit 1 if not."""
    state = state_of(ctx)
    with guard():
        call = load_proof(proof)

    async def work(s: Session) -> dict[str, Any]:
        return (await verify_on_chain(s.client, call)).to_json()

    result = state.run(work)
    state.out.emit(result, render_verification)
    if not result["verified"]:
        raise typer.Exit(1)

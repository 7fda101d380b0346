"""What a subscribe request asks for, validated the way agave validates it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from solders.pubkey import Pubkey
from solders.signature import Signature

from localnet.account_encoding import check_encoding, parse_data_slice
from localnet.chain import Commitment, normalize_commitment
from localnet.methods.accounts import compile_filters
from localnet.params import Params, parse_pubkey
from localnet.rpc_errors import invalid_params

Kind = Literal["account", "program", "logs", "signature", "slot", "root"]

#: subscribe method -> kind; unsubscribe method -> kind; kind -> notification method.
SUBSCRIBE: dict[str, Kind] = {
    "accountSubscribe": "account",
    "programSubscribe": "program",
    "logsSubscribe": "logs",
    "signatureSubscribe": "signature",
    "slotSubscribe": "slot",
    "rootSubscribe": "root",
}
UNSUBSCRIBE: dict[str, Kind] = {
    name.replace("Subscribe", "Unsubscribe"): kind for name, kind in SUBSCRIBE.items()
}
NOTIFICATION: dict[Kind, str] = {kind: f"{kind}Notification" for kind in SUBSCRIBE.values()}


class Outbox(Protocol):
    """Where a subscription's messages go (one per connection); never blocks."""

    def push(self, message: str) -> None: ...


@dataclass(eq=False)
class Subscription:
    kind: Kind
    outbox: Outbox
    commitment: Commitment = "finalized"
    #: account / program: the address; logs: the mentioned address (None: all)
    pubkey: Pubkey | None = None
    encoding: str = "binary"
    data_slice: tuple[int, int] | None = None
    filters: list[tuple[str, Any]] = field(default_factory=list)
    signature: Signature | None = None
    received: bool = False
    received_sent: bool = False
    id: int = -1


def _commitment(config: dict[str, Any]) -> Commitment:
    return normalize_commitment(config.get("commitment"))


def _account_config(config: dict[str, Any]) -> tuple[str, tuple[int, int] | None]:
    encoding = config.get("encoding") or "binary"
    if not isinstance(encoding, str):
        raise invalid_params("Invalid params: encoding must be a string.")
    data_slice = parse_data_slice(config)
    check_encoding(encoding, data_slice)
    return encoding, data_slice


def parse(kind: Kind, raw: list[Any], outbox: Outbox) -> Subscription:
    """A subscription from the request's params (raises RpcError -32602)."""
    p = Params(raw)
    if kind == "account":
        key = p.pubkey(0)
        config = p.config(1)
        encoding, data_slice = _account_config(config)
        return Subscription(kind, outbox, _commitment(config), key, encoding, data_slice)
    if kind == "program":
        key = p.pubkey(0, "program id")
        config = p.config(1)
        encoding, data_slice = _account_config(config)
        filters = compile_filters(config.get("filters"))
        return Subscription(kind, outbox, _commitment(config), key, encoding, data_slice, filters)
    if kind == "logs":
        return Subscription(kind, outbox, _commitment(p.config(1)), _logs_filter(p.get(0)))
    if kind == "signature":
        signature = p.signature(0)
        config = p.config(1)
        received = config.get("enableReceivedNotification") or False
        if not isinstance(received, bool):
            raise invalid_params("Invalid params: enableReceivedNotification must be a bool.")
        return Subscription(
            kind, outbox, _commitment(config), signature=signature, received=received
        )
    return Subscription(kind, outbox)


def _logs_filter(raw: Any) -> Pubkey | None:
    """``"all"`` / ``"allWithVotes"`` -> None; ``{"mentions": [address]}`` -> address."""
    if raw in ("all", "allWithVotes"):
        return None
    if isinstance(raw, dict) and isinstance(raw.get("mentions"), list):
        mentions = raw["mentions"]
        if len(mentions) != 1:
            raise invalid_params("Invalid Request: Only 1 address supported")
        return parse_pubkey(mentions[0])
    raise invalid_params(
        "Invalid params: unknown variant, expected `all`, `allWithVotes` or `mentions`."
    )

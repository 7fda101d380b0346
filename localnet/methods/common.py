"""Shared pieces of the method handlers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from localnet.chain import Chain
from localnet.params import Params, check_min_context_slot

Handler = Callable[[Chain, Params], Any]

#: What getVersion reports and every context carries as apiVersion.
SOLANA_CORE_VERSION = "3.0.0"
FEATURE_SET = 3_640_012_085


def registry() -> tuple[dict[str, Handler], Callable[[str], Callable[[Handler], Handler]]]:
    """A method table and the decorator that fills it."""
    table: dict[str, Handler] = {}

    def method(name: str) -> Callable[[Handler], Handler]:
        def register(fn: Handler) -> Handler:
            table[name] = fn
            return fn

        return register

    return table, method


def context(chain: Chain) -> dict[str, Any]:
    return {"slot": chain.slot, "apiVersion": SOLANA_CORE_VERSION}


def with_context(chain: Chain, value: Any) -> dict[str, Any]:
    return {"context": context(chain), "value": value}


def checked_config(chain: Chain, p: Params, index: int) -> dict[str, Any]:
    """The config object at ``index`` (commitment validated, minContextSlot enforced)."""
    config = p.config(index)
    check_min_context_slot(config, chain.slot)
    return config

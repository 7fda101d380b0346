"""The JSON-RPC method table: standard Solana methods plus ``bourse_*`` test controls."""

from __future__ import annotations

from localnet.methods import accounts, blocks, cluster, node, testing, tokens, transactions
from localnet.methods.common import Handler

METHODS: dict[str, Handler] = {
    **accounts.METHODS,
    **tokens.METHODS,
    **transactions.METHODS,
    **cluster.METHODS,
    **blocks.METHODS,
    **node.METHODS,
    **testing.METHODS,
}

__all__ = ["METHODS", "Handler"]

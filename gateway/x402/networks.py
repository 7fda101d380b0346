"""The Solana networks an x402 "exact" payment can name, in both wire versions.

x402 v2 names a network by its CAIP-2 id (``solana:<genesis-hash prefix>``), v1 by a short name
(``solana``, ``solana-devnet``). A localnet has no published id: it is labelled as devnet, and the
facilitator's RPC URL decides where the payment lands.
"""

from __future__ import annotations

from dataclasses import dataclass

from solders.pubkey import Pubkey


@dataclass(frozen=True)
class X402Network:
    """One Solana cluster as x402 names it."""

    cluster: str  # our name: "mainnet-beta", "devnet" or "localnet"
    caip2: str  # the v2 network id
    v1_name: str  # the v1 network name
    usdc_mint: Pubkey | None  # the cluster's USDC mint (None: the localnet's own mint)

    def matches(self, network: str) -> bool:
        """Whether a wire network id (v1 or v2) names this network."""
        return network in (self.caip2, self.v1_name)


SOLANA_MAINNET_CAIP2 = "solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp"
SOLANA_DEVNET_CAIP2 = "solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1"

MAINNET = X402Network(
    "mainnet-beta",
    SOLANA_MAINNET_CAIP2,
    "solana",
    Pubkey.from_string("EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"),
)
DEVNET = X402Network(
    "devnet",
    SOLANA_DEVNET_CAIP2,
    "solana-devnet",
    Pubkey.from_string("4zMMC9srt5Ri5X14GAgXhaHii3GnPAEERYPJgZJDncDU"),
)
LOCALNET = X402Network("localnet", SOLANA_DEVNET_CAIP2, "solana-devnet", None)

_BY_CLUSTER = {
    "mainnet-beta": MAINNET,
    "mainnet": MAINNET,
    "devnet": DEVNET,
    "localnet": LOCALNET,
}


def network_for(cluster: str) -> X402Network:
    """The x402 labels of a cluster (``mainnet``/``mainnet-beta``, ``devnet``, ``localnet``)."""
    try:
        return _BY_CLUSTER[cluster]
    except KeyError:
        known = ", ".join(sorted(_BY_CLUSTER))
        raise ValueError(f"no x402 network for cluster {cluster!r} (known: {known})") from None

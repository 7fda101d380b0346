"""Program-derived addresses of both programs: flat, pure helpers returning ``(address, bump)``.

Seed prefixes are the constants generated from the IDLs (``bourse_chain.generated.<program>
.constants``), the same bytes the programs use.  Every helper takes ``program_id`` for
deployments at another address.

>>> from solders.pubkey import Pubkey
>>> config, bump = config_pda()
>>> config == Pubkey.find_program_address([b"config"], COMPUTE_MARKET_ID)[0]
True
"""

from __future__ import annotations

from solders.pubkey import Pubkey

from bourse_chain.codegen.runtime import find_pda, int_to_bytes
from bourse_chain.generated.compute_market.constants import (
    BPF_LOADER_UPGRADEABLE_ID,
    SEED_BUYBACK_VAULT,
    SEED_CONFIG,
    SEED_ESCROW_VAULT,
    SEED_INBOX,
    SEED_MODEL,
    SEED_OFFER,
    SEED_PROVIDER,
    SEED_REVENUE_VAULT,
    SEED_STREAM,
)
from bourse_chain.generated.compute_market.program_id import PROGRAM_ID as COMPUTE_MARKET_ID
from bourse_chain.generated.cp_pool.constants import SEED_POOL, SEED_VAULT
from bourse_chain.generated.cp_pool.program_id import PROGRAM_ID as CP_POOL_ID

__all__ = [
    "BPF_LOADER_UPGRADEABLE_ID",
    "COMPUTE_MARKET_ID",
    "CP_POOL_ID",
    "buyback_vault_pda",
    "config_pda",
    "escrow_vault_pda",
    "inbox_authority_pda",
    "model_pda",
    "offer_pda",
    "order_address",
    "order_seed",
    "ordered_mints",
    "pool_pda",
    "pool_vault_pda",
    "program_data_pda",
    "provider_pda",
    "revenue_vault_pda",
    "stream_pda",
]

# -- compute_market --------------------------------------------------------------------------


def config_pda(program_id: Pubkey = COMPUTE_MARKET_ID) -> tuple[Pubkey, int]:
    """The protocol config, ``["config"]``."""
    return find_pda([SEED_CONFIG], program_id)


def escrow_vault_pda(program_id: Pubkey = COMPUTE_MARKET_ID) -> tuple[Pubkey, int]:
    """The shared USDC escrow of open orders, ``["escrow_vault"]``."""
    return find_pda([SEED_ESCROW_VAULT], program_id)


def model_pda(slug: str | bytes, program_id: Pubkey = COMPUTE_MARKET_ID) -> tuple[Pubkey, int]:
    """A model listing, ``["model", slug]`` (the slug's UTF-8 bytes, at most 32)."""
    raw = slug.encode() if isinstance(slug, str) else bytes(slug)
    return find_pda([SEED_MODEL, raw], program_id)


def revenue_vault_pda(model: Pubkey, program_id: Pubkey = COMPUTE_MARKET_ID) -> tuple[Pubkey, int]:
    """A model's USDC revenue vault, ``["revenue_vault", model]``."""
    return find_pda([SEED_REVENUE_VAULT, bytes(model)], program_id)


def buyback_vault_pda(model: Pubkey, program_id: Pubkey = COMPUTE_MARKET_ID) -> tuple[Pubkey, int]:
    """A model's token vault (buybacks fill it, burn empties it), ``["buyback_vault", model]``."""
    return find_pda([SEED_BUYBACK_VAULT, bytes(model)], program_id)


def provider_pda(authority: Pubkey, program_id: Pubkey = COMPUTE_MARKET_ID) -> tuple[Pubkey, int]:
    """An inference provider, ``["provider", authority]``."""
    return find_pda([SEED_PROVIDER, bytes(authority)], program_id)


def offer_pda(
    model: Pubkey, provider: Pubkey, program_id: Pubkey = COMPUTE_MARKET_ID
) -> tuple[Pubkey, int]:
    """A provider's offer for a model, ``["offer", model, provider]``.

    ``provider`` is the provider account (see :func:`provider_pda`), not its authority.
    """
    return find_pda([SEED_OFFER, bytes(model), bytes(provider)], program_id)


def order_seed(nonce: int) -> str:
    """The seed of an order's address: the u64 ``nonce`` as 16 lowercase hex digits.

    >>> order_seed(255)
    '00000000000000ff'
    """
    int_to_bytes(nonce, 8, signed=False)  # ValueError outside u64
    return f"{nonce:016x}"


def order_address(payer: Pubkey, nonce: int, program_id: Pubkey = COMPUTE_MARKET_ID) -> Pubkey:
    """An open order: not a PDA but an address with seed (System ``create_with_seed``), base
    ``payer``, seed :func:`order_seed`, owner the program — one address per (payer, nonce),
    no bump, so the program checks it with one sha256 (no bump search, nothing to be
    non-canonical) and only the payer's signature can ever create an account there.
    """
    return Pubkey.create_with_seed(payer, order_seed(nonce), program_id)


def stream_pda(
    model: Pubkey, provider: Pubkey, program_id: Pubkey = COMPUTE_MARKET_ID
) -> tuple[Pubkey, int]:
    """The batch-settlement stream of one (model, provider), ``["stream", model, provider]``.

    ``provider`` is the provider account (see :func:`provider_pda`), not its authority.
    """
    return find_pda([SEED_STREAM, bytes(model), bytes(provider)], program_id)


def inbox_authority_pda(
    model: Pubkey, program_id: Pubkey = COMPUTE_MARKET_ID
) -> tuple[Pubkey, int]:
    """A model's x402 ``payTo``, ``["inbox", model]``: its USDC associated token account is
    the model's payment inbox, which only settle_batch (program-signed) can move."""
    return find_pda([SEED_INBOX, bytes(model)], program_id)


def program_data_pda(program_id: Pubkey = COMPUTE_MARKET_ID) -> tuple[Pubkey, int]:
    """An upgradeable program's ProgramData account: ``[program_id]`` under the loader."""
    return find_pda([bytes(program_id)], BPF_LOADER_UPGRADEABLE_ID)


# -- cp_pool ---------------------------------------------------------------------------------


def ordered_mints(x: Pubkey, y: Pubkey) -> tuple[Pubkey, Pubkey]:
    """The pair as ``(mint_a, mint_b)`` with ``mint_a < mint_b`` bytewise, as cp_pool wants."""
    if x == y:
        raise ValueError("a pool needs two distinct mints")
    return (x, y) if bytes(x) < bytes(y) else (y, x)


def pool_pda(mint_x: Pubkey, mint_y: Pubkey, program_id: Pubkey = CP_POOL_ID) -> tuple[Pubkey, int]:
    """The pool of a mint pair, ``["pool", mint_a, mint_b]``, in either argument order."""
    mint_a, mint_b = ordered_mints(mint_x, mint_y)
    return find_pda([SEED_POOL, bytes(mint_a), bytes(mint_b)], program_id)


def pool_vault_pda(
    pool: Pubkey, mint: Pubkey, program_id: Pubkey = CP_POOL_ID
) -> tuple[Pubkey, int]:
    """A pool's token vault of one of its mints, ``["vault", pool, mint]``."""
    return find_pda([SEED_VAULT, bytes(pool), bytes(mint)], program_id)

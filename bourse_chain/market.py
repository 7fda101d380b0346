"""Intent-level instruction builders for the compute market.

The generated builders (``bourse_chain.generated.compute_market.instructions``)
take exactly the IDL's accounts. `Market` sits one level up: it knows the
deployment (program id, USDC mint and its token program, treasury authority)
and derives everything else (PDAs, associated token accounts), so callers say
"register model `deepseek-chat` at 5%" rather than list thirteen accounts.
Every method returns a plain `solders` `Instruction`; nothing here touches
the network.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey
from spl.token.constants import ASSOCIATED_TOKEN_PROGRAM_ID, TOKEN_PROGRAM_ID, WRAPPED_SOL_MINT
from spl.token.instructions import (
    create_idempotent_associated_token_account,
    get_associated_token_address,
)

from bourse_chain import pda, pools
from bourse_chain.generated.compute_market import instructions as ix
from bourse_chain.generated.compute_market.constants import SEED_BUYER
from bourse_chain.generated.compute_market.program_id import PROGRAM_ID
from bourse_chain.generated.compute_market.types.config_update import ConfigUpdate
from bourse_chain.generated.compute_market.types.model_status import ModelStatus
from bourse_chain.generated.cp_pool.program_id import PROGRAM_ID as CP_POOL_ID

#: Default per-call buyback cap (micro-USDC) and per-model cooldown (seconds) of a new
#: config: what a rogue or unguarded crank key can spend per model is bounded (500 USDC per
#: 15 minutes) unless the admin chooses otherwise; 0 turns a limit off.
DEFAULT_MAX_BUYBACK_PER_CALL = 500 * 1_000_000
DEFAULT_BUYBACK_COOLDOWN_SECS = 900

U64_MAX = 2**64 - 1


def payment_id_bytes(payment_id: str | bytes) -> bytes:
    """The 32-byte payment id a batch's Merkle leaf commits to: 32 raw bytes as given, else
    sha256 of the id (a ``str`` as UTF-8).

    >>> payment_id_bytes("pay_1").hex()[:16]
    '6ec81111d581d10d'
    >>> payment_id_bytes(bytes(32)) == bytes(32)
    True
    """
    if isinstance(payment_id, bytes) and len(payment_id) == 32:
        return payment_id
    raw = payment_id.encode() if isinstance(payment_id, str) else payment_id
    return hashlib.sha256(raw).digest()


def order_nonce(idempotency_key: str | bytes) -> int:
    """The order nonce for an idempotency key: the first 8 bytes (little-endian) of
    ``sha256("order:" || key)``. The order PDA is ``["order", payer, nonce]``, so keys
    are scoped per payer.

    >>> order_nonce("req-1") == order_nonce(b"req-1")
    True
    """
    raw = idempotency_key.encode() if isinstance(idempotency_key, str) else idempotency_key
    return int.from_bytes(hashlib.sha256(b"order:" + raw).digest()[:8], "little")


@dataclass(frozen=True)
class Market:
    """One deployment of the compute-market program."""

    usdc_mint: Pubkey
    treasury_authority: Pubkey
    usdc_token_program: Pubkey = TOKEN_PROGRAM_ID
    program_id: Pubkey = PROGRAM_ID
    #: The treasury's USDC account when it is not the treasury authority's ATA.
    treasury_account: Pubkey | None = None

    # -- addresses ---------------------------------------------------------------------------

    @property
    def config(self) -> Pubkey:
        return pda.config_pda(self.program_id)[0]

    @property
    def escrow_vault(self) -> Pubkey:
        return pda.escrow_vault_pda(self.program_id)[0]

    @property
    def treasury(self) -> Pubkey:
        """The treasury's USDC account: the treasury authority's associated token account
        unless ``treasury_account`` is given."""
        return self.treasury_account or self.usdc_account(self.treasury_authority)

    def usdc_account(self, owner: Pubkey) -> Pubkey:
        return get_associated_token_address(owner, self.usdc_mint, self.usdc_token_program)

    def usdc_account_bump(self, owner: Pubkey) -> int:
        """The bump of ``owner``'s associated USDC account (``open_order`` takes it as an
        argument: the program checks the address with one sha256 instead of a search)."""
        seeds = [bytes(owner), bytes(self.usdc_token_program), bytes(self.usdc_mint)]
        return Pubkey.find_program_address(seeds, ASSOCIATED_TOKEN_PROGRAM_ID)[1]

    def model(self, slug: str) -> Pubkey:
        return pda.model_pda(slug, self.program_id)[0]

    def revenue_vault(self, slug: str) -> Pubkey:
        return pda.revenue_vault_pda(self.model(slug), self.program_id)[0]

    def buyback_vault(self, slug: str) -> Pubkey:
        return pda.buyback_vault_pda(self.model(slug), self.program_id)[0]

    def provider(self, authority: Pubkey) -> Pubkey:
        return pda.provider_pda(authority, self.program_id)[0]

    def offer(self, slug: str, provider_authority: Pubkey) -> Pubkey:
        return pda.offer_pda(self.model(slug), self.provider(provider_authority), self.program_id)[
            0
        ]

    def order(self, payer: Pubkey, nonce: int) -> Pubkey:
        return pda.order_address(payer, nonce, self.program_id)

    def stream(self, model: Pubkey, provider: Pubkey) -> Pubkey:
        """The batch-settlement stream of (model account, provider account)."""
        return pda.stream_pda(model, provider, self.program_id)[0]

    def inbox_authority(self, model: Pubkey) -> Pubkey:
        """The model's x402 ``payTo`` (a PDA of the program)."""
        return pda.inbox_authority_pda(model, self.program_id)[0]

    def inbox(self, model: Pubkey) -> Pubkey:
        """The model's x402 payment inbox: ATA(inbox authority, USDC)."""
        return self.usdc_account(self.inbox_authority(model))

    def create_inbox(self, funder: Pubkey, model: Pubkey) -> Instruction:
        """Create the model's inbox if missing (idempotent). Its owner is a PDA that only
        settle_batch signs for, so nobody can close it and take its rent back."""
        return create_idempotent_associated_token_account(
            funder, self.inbox_authority(model), self.usdc_mint, self.usdc_token_program
        )

    # -- governance --------------------------------------------------------------------------

    def initialize_config(
        self,
        admin: Pubkey,
        settler: Pubkey,
        crank: Pubkey,
        *,
        protocol_fee_bps: int = 100,
        max_protocol_fee_bps: int = 500,
        max_model_fee_bps: int = 3_000,
        max_buyback_per_call: int = DEFAULT_MAX_BUYBACK_PER_CALL,
        buyback_cooldown_secs: int = DEFAULT_BUYBACK_COOLDOWN_SECS,
    ) -> Instruction:
        return ix.initialize_config(
            ix.InitializeConfigArgs(
                settler=settler,
                crank=crank,
                treasury_authority=self.treasury_authority,
                protocol_fee_bps=protocol_fee_bps,
                max_protocol_fee_bps=max_protocol_fee_bps,
                max_model_fee_bps=max_model_fee_bps,
                max_buyback_per_call=max_buyback_per_call,
                buyback_cooldown_secs=buyback_cooldown_secs,
            ),
            ix.InitializeConfigAccounts(
                admin=admin, usdc_mint=self.usdc_mint, usdc_token_program=self.usdc_token_program
            ),
            self.program_id,
        )

    def update_config(self, admin: Pubkey, **changes: Any) -> Instruction:
        """``update_config`` with only the named fields changed (others None)."""
        fields: dict[str, Any] = dict.fromkeys(ConfigUpdate.__dataclass_fields__)
        unknown = set(changes) - set(fields)
        if unknown:
            raise TypeError(f"unknown config fields: {sorted(unknown)}")
        fields.update(changes)
        if fields["swap_programs"] is not None:
            fields["swap_programs"] = tuple(fields["swap_programs"])
        return ix.update_config(
            ix.UpdateConfigArgs(params=ConfigUpdate(**fields)),
            ix.UpdateConfigAccounts(admin=admin),
            self.program_id,
        )

    def accept_admin(self, new_admin: Pubkey) -> Instruction:
        return ix.accept_admin(ix.AcceptAdminAccounts(new_admin=new_admin), self.program_id)

    def set_model_status(
        self, admin: Pubkey, slug: str, status: ModelStatus, mint: Pubkey | None = None
    ) -> Instruction:
        """Approve or delist a model. Approving with ``mint`` pins the only mint
        ``tokenize_model`` will accept for it (an approval without a mint allows trading but
        no tokenization; a tokenized model can only be re-approved with its own mint)."""
        return ix.set_model_status(
            ix.SetModelStatusArgs(status=status, mint=mint, sweep_stuck_revenue=False),
            ix.SetModelStatusAccounts(admin=admin, model=self.model(slug)),
            self.program_id,
        )

    def delist_and_sweep(self, admin: Pubkey, slug: str, mint: Pubkey) -> Instruction:
        """Delist a model and move its revenue vault's USDC to the treasury: allowed only
        when the model's token ``mint`` can have its transfer fee raised (config authority
        held by someone) or carries a fee above the cap, i.e. buyback is frozen for good."""
        return ix.set_model_status(
            ix.SetModelStatusArgs(status=ModelStatus.DELISTED, mint=None, sweep_stuck_revenue=True),
            ix.SetModelStatusAccounts(admin=admin, model=self.model(slug)),
            self.program_id,
            remaining_accounts=[
                AccountMeta(mint, is_signer=False, is_writable=False),
                AccountMeta(self.revenue_vault(slug), is_signer=False, is_writable=True),
                AccountMeta(self.treasury, is_signer=False, is_writable=True),
                AccountMeta(self.usdc_mint, is_signer=False, is_writable=False),
                AccountMeta(self.usdc_token_program, is_signer=False, is_writable=False),
            ],
        )

    # -- creators ----------------------------------------------------------------------------

    def register_model(
        self, creator: Pubkey, slug: str, fee_bps: int, metadata_uri: str = ""
    ) -> Instruction:
        return ix.register_model(
            ix.RegisterModelArgs(slug=slug, fee_bps=fee_bps, metadata_uri=metadata_uri),
            ix.RegisterModelAccounts(
                creator=creator,
                usdc_mint=self.usdc_mint,
                usdc_token_program=self.usdc_token_program,
            ),
            self.program_id,
        )

    def tokenize_model(
        self, creator: Pubkey, slug: str, mint: Pubkey, token_program: Pubkey
    ) -> Instruction:
        return ix.tokenize_model(
            ix.TokenizeModelAccounts(
                creator=creator, model=self.model(slug), mint=mint, token_program=token_program
            ),
            self.program_id,
        )

    # -- providers ---------------------------------------------------------------------------

    def register_provider(
        self, authority: Pubkey, name: str, payout: Pubkey | None = None
    ) -> Instruction:
        return ix.register_provider(
            ix.RegisterProviderArgs(name=name),
            ix.RegisterProviderAccounts(
                authority=authority, payout=payout or self.usdc_account(authority)
            ),
            self.program_id,
        )

    def upsert_offer(
        self,
        authority: Pubkey,
        slug: str,
        price_input_per_mtok: int,
        price_output_per_mtok: int,
        active: bool = True,
        *,
        new_payout: Pubkey | None = None,
    ) -> Instruction:
        """Create or update the provider's offer for ``slug``; with ``new_payout`` the
        provider's payout USDC account is replaced too (any USDC account but the escrow)."""
        extra = [AccountMeta(new_payout, is_signer=False, is_writable=False)] if new_payout else []
        return ix.upsert_offer(
            ix.UpsertOfferArgs(
                price_input_per_mtok=price_input_per_mtok,
                price_output_per_mtok=price_output_per_mtok,
                active=active,
            ),
            ix.UpsertOfferAccounts(authority=authority, model=self.model(slug)),
            self.program_id,
            remaining_accounts=extra,
        )

    # -- orders and payments -----------------------------------------------------------------

    def open_order(
        self,
        payer: Pubkey,
        slug: str,
        provider_authority: Pubkey | None,
        nonce: int,
        max_input_tokens: int,
        max_output_tokens: int,
        ttl_secs: int = 600,
        payer_token: Pubkey | None = None,
        *,
        max_hold: int = U64_MAX,
        offer: Pubkey | None = None,
    ) -> Instruction:
        """``max_hold`` bounds what the payer signs (the program refuses a larger hold, e.g.
        after the provider raised its prices); callers that quote the offer first pass the
        hold they quoted (``Settlement.open_hold`` does). ``offer`` replaces
        ``provider_authority`` when the caller knows the offer address."""
        if offer is None:
            if provider_authority is None:
                raise ValueError("open_order needs provider_authority or offer")
            offer = self.offer(slug, provider_authority)
        return ix.open_order(
            ix.OpenOrderArgs(
                nonce=nonce,
                max_input_tokens=max_input_tokens,
                max_output_tokens=max_output_tokens,
                ttl_secs=ttl_secs,
                max_hold=max_hold,
                payer_token_bump=self.usdc_account_bump(payer),
            ),
            ix.OpenOrderAccounts(
                payer=payer,
                model=self.model(slug),
                offer=offer,
                order=self.order(payer, nonce),
                payer_token=payer_token or self.usdc_account(payer),
                usdc_mint=self.usdc_mint,
                usdc_token_program=self.usdc_token_program,
            ),
            self.program_id,
        )

    def settle_order(
        self,
        settler: Pubkey,
        *,
        order: Pubkey,
        payer: Pubkey,
        payer_token: Pubkey,
        model: Pubkey,
        provider: Pubkey,
        provider_payout: Pubkey,
        revenue_vault: Pubkey,
        input_tokens: int,
        output_tokens: int,
    ) -> Instruction:
        """Accounts come from the decoded Order / Provider / Model accounts."""
        return ix.settle_order(
            ix.SettleOrderArgs(input_tokens=input_tokens, output_tokens=output_tokens),
            ix.SettleOrderAccounts(
                settler=settler,
                order=order,
                payer=payer,
                payer_token=payer_token,
                model=model,
                provider=provider,
                provider_payout=provider_payout,
                revenue_vault=revenue_vault,
                treasury=self.treasury,
                usdc_mint=self.usdc_mint,
                usdc_token_program=self.usdc_token_program,
            ),
            self.program_id,
        )

    def cancel_order(
        self, authority: Pubkey, *, order: Pubkey, payer: Pubkey, payer_token: Pubkey
    ) -> Instruction:
        return ix.cancel_order(
            ix.CancelOrderAccounts(
                authority=authority,
                order=order,
                payer=payer,
                payer_token=payer_token,
                usdc_token_program=self.usdc_token_program,
            ),
            self.program_id,
        )

    def settle_batch(
        self,
        settler: Pubkey,
        *,
        model: Pubkey,
        provider: Pubkey,
        provider_payout: Pubkey,
        revenue_vault: Pubkey,
        sequence: int,
        count: int,
        total: int,
        root: bytes,
        source: Pubkey | None = None,
        source_authority: Pubkey | None = None,
    ) -> Instruction:
        """Settle a batch of ``count`` calls worth ``total`` with Merkle ``root`` (see
        ``bourse_chain.merkle``) as the stream's ``sequence``. Without ``source`` the money
        comes from the model's x402 inbox (the program signs); with it, ``source_authority``
        (default: the settler) signs for it (credits rail). Model, provider, payout and
        revenue vault come from the decoded on-chain accounts."""
        if source is None:
            source, authority, signs = self.inbox(model), self.inbox_authority(model), False
        else:
            authority, signs = source_authority or settler, True
        built = ix.settle_batch(
            ix.SettleBatchArgs(sequence=sequence, count=count, total=total, root=root),
            ix.SettleBatchAccounts(
                settler=settler,
                model=model,
                provider=provider,
                source=source,
                source_authority=authority,
                provider_payout=provider_payout,
                revenue_vault=revenue_vault,
                treasury=self.treasury,
                usdc_mint=self.usdc_mint,
                usdc_token_program=self.usdc_token_program,
            ),
            self.program_id,
        )
        if not signs:
            return built
        metas = [
            AccountMeta(m.pubkey, is_signer=True, is_writable=m.is_writable)
            if m.pubkey == authority
            else m
            for m in built.accounts
        ]
        return Instruction(built.program_id, built.data, metas)

    # -- buyback, burn, harvest --------------------------------------------------------------

    def buyback(
        self,
        crank: Pubkey,
        slug: str,
        *,
        swap_program: Pubkey,
        swap_data: bytes,
        swap_accounts: list[AccountMeta],
        amount_in: int,
        min_out: int,
    ) -> Instruction:
        return ix.buyback(
            ix.BuybackArgs(amount_in=amount_in, min_out=min_out, swap_data=swap_data),
            ix.BuybackAccounts(
                crank=crank,
                model=self.model(slug),
                revenue_vault=self.revenue_vault(slug),
                buyback_vault=self.buyback_vault(slug),
                swap_program=swap_program,
            ),
            self.program_id,
            remaining_accounts=swap_accounts,
        )

    def buyback_sol(
        self,
        crank: Pubkey,
        slug: str,
        *,
        swap_program: Pubkey,
        swap_data: bytes,
        swap_accounts: list[AccountMeta],
        buy_program: Pubkey,
        buy_data: bytes,
        buy_accounts: list[AccountMeta],
        amount_in: int,
        min_out: int,
    ) -> Instruction:
        """``buyback_sol``: USDC -> WSOL through ``swap_program`` (the model PDA signs), the
        WSOL unwrapped into the model's buyer PDA, then ``buy_program`` (the buyer signs)."""
        model = self.model(slug)
        buyer = Pubkey.find_program_address([SEED_BUYER, bytes(model)], self.program_id)[0]
        return ix.buyback_sol(
            ix.BuybackSolArgs(
                amount_in=amount_in,
                min_out=min_out,
                swap_accounts=len(swap_accounts),
                swap_data=swap_data,
                buy_data=buy_data,
            ),
            ix.BuybackSolAccounts(
                crank=crank,
                model=model,
                revenue_vault=self.revenue_vault(slug),
                buyback_vault=self.buyback_vault(slug),
                buyer_wsol=get_associated_token_address(buyer, WRAPPED_SOL_MINT, TOKEN_PROGRAM_ID),
                swap_program=swap_program,
                buy_program=buy_program,
            ),
            self.program_id,
            remaining_accounts=[*swap_accounts, *buy_accounts],
        )

    def buyback_via_pool(
        self,
        crank: Pubkey,
        slug: str,
        *,
        mint: Pubkey,
        token_program: Pubkey,
        amount_in: int,
        min_out: int,
        pool_program: Pubkey = CP_POOL_ID,
    ) -> Instruction:
        """``buyback`` routed through the ``cp_pool`` pool of the model's token against USDC
        (the localnet venue): revenue vault → pool → buyback vault, signed by the model PDA.
        The pool's own ``min_out`` is 1: the program checks ``min_out`` on what arrived."""
        route = pools.swap(
            self.model(slug),
            pools.Side(self.usdc_mint, self.usdc_token_program, self.revenue_vault(slug)),
            pools.Side(mint, token_program, self.buyback_vault(slug)),
            amount_in,
            1,
            pool_program,
        )
        return self.buyback(
            crank,
            slug,
            swap_program=pool_program,
            swap_data=bytes(route.data),
            swap_accounts=pools.as_cpi_accounts(route),
            amount_in=amount_in,
            min_out=min_out,
        )

    def burn(self, crank: Pubkey, slug: str, mint: Pubkey, token_program: Pubkey) -> Instruction:
        return ix.burn(
            ix.BurnAccounts(
                crank=crank,
                model=self.model(slug),
                buyback_vault=self.buyback_vault(slug),
                mint=mint,
                token_program=token_program,
            ),
            self.program_id,
        )

    def harvest_fees(
        self, crank: Pubkey, slug: str, mint: Pubkey, destination: Pubkey, sources: list[Pubkey]
    ) -> Instruction:
        return ix.harvest_fees(
            ix.HarvestFeesAccounts(
                crank=crank, model=self.model(slug), mint=mint, destination=destination
            ),
            self.program_id,
            remaining_accounts=[AccountMeta(s, is_signer=False, is_writable=True) for s in sources],
        )

"""A compute market on an in-process LiteSVM chain: config initialized, wallets for every role,
and :meth:`World.list_model` (register → approve → tokenize an SPL model)."""

from __future__ import annotations

from solders.pubkey import Pubkey

from bourse_chain.generated.compute_market.types.model_status import ModelStatus
from bourse_ops.sandbox.svm_chain import TOKEN_PROGRAM_ID, Market, SvmChain, new_chain

USDC = 1_000_000  # micro-USDC per USDC


class World:
    def __init__(self) -> None:
        self.c: SvmChain = new_chain()
        c = self.c
        self.settler = c.new_wallet()
        self.crank = c.new_wallet()
        self.treasury_owner = c.new_wallet()
        self.creator = c.new_wallet()
        self.provider = c.new_wallet()
        self.payer = c.new_wallet(usdc=1_000 * USDC)
        self.m = Market(usdc_mint=c.usdc_mint, treasury_authority=self.treasury_owner.pubkey())
        c.ata(self.treasury_owner.pubkey(), c.usdc_mint)
        c.ata(self.provider.pubkey(), c.usdc_mint)
        c.send(
            [
                self.m.initialize_config(
                    c.admin.pubkey(), self.settler.pubkey(), self.crank.pubkey()
                )
            ],
            [c.admin],
        )

    def list_model(self, slug: str, fee_bps: int, *, supply: int = 1_000_000 * USDC) -> Pubkey:
        c, m = self.c, self.m
        c.send(
            [m.register_model(self.creator.pubkey(), slug, fee_bps, f"ipfs://{slug}")],
            [self.creator],
        )
        mint = c.create_model_mint(self.creator.pubkey(), supply)
        c.send([m.set_model_status(c.admin.pubkey(), slug, ModelStatus.APPROVED, mint)], [c.admin])
        c.send(
            [m.tokenize_model(self.creator.pubkey(), slug, mint, TOKEN_PROGRAM_ID)], [self.creator]
        )
        return mint

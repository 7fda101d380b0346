"""Issue 11, hole 7 — a Token-2022 settlement mint with extensions.

`initialize_config` fixes the settlement ("USDC") mint for good. It accepted a Token-2022
mint with any extension: with a 1% transfer fee the escrow is credited 19.8 for a hold of 20,
so the last order of the escrow can be neither settled nor refunded; a permanent delegate can
take the escrow; a transfer hook, pause or default-frozen state can stop every settlement.

Now a Token-2022 settlement mint may carry metadata only (MetadataPointer, TokenMetadata):
`initialize_config.rs: process` → `checks.rs: each_mint_extension`, `UnsupportedMintExtension`,
nothing created. Classic SPL Token (real USDC) has no extensions.
"""

from __future__ import annotations

import pytest
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from bourse_chain.generated.compute_market.accounts import Config
from bourse_chain.market import Market
from bourse_ops.sandbox.svm_chain import SvmChain, new_chain
from tests.security.kit import (
    TOKEN_2022_PROGRAM_ID,
    Ext,
    assert_rejected,
    create_t22_mint,
    ext_confidential_transfer_mint,
    ext_default_account_state,
    ext_interest_bearing,
    ext_metadata_pointer,
    ext_mint_close_authority,
    ext_non_transferable,
    ext_pausable,
    ext_permanent_delegate,
    ext_scaled_ui_amount,
    ext_transfer_fee,
    ext_transfer_hook,
)

ISSUER = Keypair().pubkey()  # the stablecoin issuer's authorities

REFUSED: dict[str, Ext] = {
    "TransferFeeConfig 1%": ext_transfer_fee(ISSUER, ISSUER, 100, 10**12),
    "TransferFeeConfig 0% with an authority": ext_transfer_fee(ISSUER, ISSUER, 0, 0),
    "PermanentDelegate": ext_permanent_delegate(ISSUER),
    "TransferHook": ext_transfer_hook(ISSUER, ISSUER),
    "Pausable": ext_pausable(ISSUER),
    "DefaultAccountState frozen": ext_default_account_state(2),
    "MintCloseAuthority": ext_mint_close_authority(ISSUER),
    "NonTransferable": ext_non_transferable(),
    "InterestBearingConfig": ext_interest_bearing(ISSUER, 500),
    "ScaledUiAmount": ext_scaled_ui_amount(ISSUER, 2.0),
    "ConfidentialTransferMint": ext_confidential_transfer_mint(ISSUER),
}


def deployment(c: SvmChain, exts: list[Ext]) -> tuple[Market, Pubkey]:
    """A Token-2022 'USDC' carrying `exts`, issued like a stablecoin (live mint and freeze
    authorities), and the market that would settle in it."""
    usdc = create_t22_mint(c, exts, freeze_authority=ISSUER, revoke_mint_authority=False)
    market = Market(
        usdc_mint=usdc,
        treasury_authority=c.new_wallet().pubkey(),
        usdc_token_program=TOKEN_2022_PROGRAM_ID,
    )
    return market, usdc


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_settlement_mint_with_an_extension_is_refused(name: str) -> None:
    c = new_chain()
    m, usdc = deployment(c, [REFUSED[name]])
    ix = m.initialize_config(c.admin.pubkey(), Keypair().pubkey(), Keypair().pubkey())
    assert_rejected(
        c, [ix], [c.admin], "UnsupportedMintExtension", watch=[m.config, m.escrow_vault, usdc]
    )
    assert c.data(m.config) is None and c.data(m.escrow_vault) is None


@pytest.mark.parametrize(
    "exts",
    [
        pytest.param([], id="no extension"),
        pytest.param([ext_metadata_pointer(ISSUER, ISSUER)], id="MetadataPointer"),
    ],
)
def test_plain_token_2022_settlement_mint_is_accepted(exts: list[Ext]) -> None:
    """Control: a Token-2022 mint without control or fee extensions still initializes."""
    c = new_chain()
    m, usdc = deployment(c, exts)
    c.send(
        [m.initialize_config(c.admin.pubkey(), Keypair().pubkey(), Keypair().pubkey())], [c.admin]
    )
    config = Config.decode(c.data(m.config))  # type: ignore[arg-type]
    assert (config.usdc_mint, config.usdc_token_program) == (usdc, TOKEN_2022_PROGRAM_ID)
    assert config.escrow_vault == m.escrow_vault and c.token_balance(m.escrow_vault) == 0

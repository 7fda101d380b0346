"""Class 12 — Token-2022 pitfalls: model mints whose extensions change who controls tokens
or how amounts behave. tokenize_model accepts a documented allow-list only
(tokenize_model.rs: TransferFeeConfig with the config PDA as withdraw-withheld authority,
MetadataPointer, TokenMetadata); everything else is refused. The mints are built here from
raw Token-2022 instructions (kit.create_t22_mint)."""

from __future__ import annotations

import itertools

import pytest
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from bourse_chain.generated.compute_market.accounts import Model
from bourse_chain.generated.compute_market.types.token_kind import TokenKind
from tests.security.kit import (
    FREEZE_ACCOUNT,
    TOKEN_2022_PROGRAM_ID,
    TOKEN_PROGRAM_ID,
    Ext,
    World,
    assert_rejected,
    create_t22_mint,
    ext_confidential_transfer_mint,
    ext_default_account_state,
    ext_group_pointer,
    ext_interest_bearing,
    ext_metadata_pointer,
    ext_mint_close_authority,
    ext_non_transferable,
    ext_pausable,
    ext_permanent_delegate,
    ext_scaled_ui_amount,
    ext_transfer_fee,
    ext_transfer_hook,
    tk_set_authority,
)

_slugs = itertools.count()


@pytest.fixture(scope="module")
def w() -> World:
    return World()


def listing(w: World, mint: Pubkey) -> str:
    """A fresh untokenized model of the world's creator, approved with `mint` pinned."""
    slug = f"t22-{next(_slugs)}"
    w.register(slug, 0, w.creator, approve=False)
    w.approve(slug, mint)
    return slug


def tokenize(
    w: World, slug: str, mint: Pubkey, program: Pubkey = TOKEN_2022_PROGRAM_ID
) -> Instruction:
    return w.m.tokenize_model(w.creator.pubkey(), slug, mint, program)


def refused(w: World, mint: Pubkey, error: str) -> None:
    slug = listing(w, mint)
    ix = tokenize(w, slug, mint)
    assert_rejected(w.c, [ix], [w.creator], error, watch=[mint, w.m.buyback_vault(slug)])
    model = Model.decode(w.c.data(w.m.model(slug)))  # type: ignore[arg-type]
    assert model.token_kind == TokenKind.NONE and model.mint == Pubkey.default()


EVIL = Keypair().pubkey()

REFUSED: dict[str, Ext] = {
    "PermanentDelegate": ext_permanent_delegate(EVIL),
    "TransferHook": ext_transfer_hook(EVIL, EVIL),
    "DefaultAccountState(Initialized)": ext_default_account_state(1),
    "MintCloseAuthority": ext_mint_close_authority(EVIL),
    "Pausable": ext_pausable(EVIL),
    "NonTransferable": ext_non_transferable(),
    "InterestBearingConfig": ext_interest_bearing(EVIL, 500),
    "ScaledUiAmount": ext_scaled_ui_amount(EVIL, 2.0),
    "ConfidentialTransferMint": ext_confidential_transfer_mint(EVIL),
    "GroupPointer": ext_group_pointer(EVIL, EVIL),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_refused_extension(w: World, name: str) -> None:
    mint = create_t22_mint(w.c, [REFUSED[name]])
    refused(w, mint, "UnsupportedMintExtension")


@pytest.mark.parametrize("name", ["PermanentDelegate", "TransferHook", "Pausable"])
def test_refused_extension_next_to_an_allowed_fee_config(w: World, name: str) -> None:
    """An allowed TransferFeeConfig first does not whitelist what follows it."""
    fee = ext_transfer_fee(None, w.m.config, 100, 1_000)
    mint = create_t22_mint(w.c, [fee, ext_metadata_pointer(EVIL, EVIL), REFUSED[name]])
    refused(w, mint, "UnsupportedMintExtension")


def test_default_frozen_with_a_freeze_authority(w: World) -> None:
    """Default-frozen accounts need a freeze authority: refused for the authority."""
    mint = create_t22_mint(
        w.c, [ext_default_account_state(2)], freeze_authority=w.attacker.pubkey()
    )
    refused(w, mint, "MintAuthorityPresent")


def test_default_frozen_after_the_freeze_authority_is_dropped(w: World) -> None:
    """The freeze authority removed afterwards: every new account (the buyback vault
    included) would be born frozen with no one to thaw it. Refused for the extension."""
    mint = create_t22_mint(
        w.c, [ext_default_account_state(2)], freeze_authority=w.attacker.pubkey()
    )
    w.c.send(
        [tk_set_authority(TOKEN_2022_PROGRAM_ID, mint, w.attacker.pubkey(), FREEZE_ACCOUNT, None)],
        [w.attacker],
    )
    refused(w, mint, "UnsupportedMintExtension")


@pytest.mark.parametrize("who", ["attacker", "none"])
def test_withdraw_withheld_authority_other_than_the_config_pda(w: World, who: str) -> None:
    authority = w.attacker.pubkey() if who == "attacker" else None
    mint = create_t22_mint(w.c, [ext_transfer_fee(w.attacker.pubkey(), authority, 100, 1_000)])
    refused(w, mint, "WithheldAuthorityMismatch")


def test_token_2022_mint_with_a_mint_authority(w: World) -> None:
    mint = create_t22_mint(
        w.c, [ext_transfer_fee(None, w.m.config, 100, 1_000)], revoke_mint_authority=False
    )
    refused(w, mint, "MintAuthorityPresent")


def test_token_2022_mint_passed_with_spl_token(w: World) -> None:
    mint = create_t22_mint(w.c, [])
    slug = listing(w, mint)
    ix = tokenize(w, slug, mint, TOKEN_PROGRAM_ID)
    assert_rejected(w.c, [ix], [w.creator], "InvalidTokenProgram", watch=[mint])


@pytest.mark.parametrize(
    "exts",
    [
        pytest.param([], id="no extension"),
        pytest.param(["fee"], id="TransferFeeConfig (config PDA withholds)"),
        pytest.param(["fee", "pointer"], id="TransferFeeConfig + MetadataPointer"),
        pytest.param(["fee-by-config"], id="TransferFeeConfig (config PDA sets the fee)"),
        pytest.param(["pointer"], id="MetadataPointer"),
    ],
)
def test_allow_listed_mints_tokenize(w: World, exts: list[str]) -> None:
    """Control: the documented allow-list is accepted, so the refusals are about the
    extension and not about hand-built mints."""
    chosen = [
        ext_transfer_fee(None, w.m.config, 100, 1_000)
        if e == "fee"
        else ext_transfer_fee(w.m.config, w.m.config, 100, 1_000)
        if e == "fee-by-config"
        else ext_metadata_pointer(EVIL, EVIL)
        for e in exts
    ]
    mint = create_t22_mint(w.c, chosen)
    slug = listing(w, mint)
    w.c.send([tokenize(w, slug, mint)], [w.creator])
    model = Model.decode(w.c.data(w.m.model(slug)))  # type: ignore[arg-type]
    assert model.token_kind == TokenKind.TOKEN2022 and model.mint == mint

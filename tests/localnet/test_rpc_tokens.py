"""SPL Token and Token-2022 over the embedded localnet's JSON-RPC (spl.token.instructions
builders, solana-py's AsyncClient), and the starting fixtures (USDC mint, funded roles)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from solana.rpc.async_api import AsyncClient
from solana.rpc.models import TokenAccountOpts
from solders.account_decoder import ParsedAccount
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.system_program import CreateAccountParams, create_account
from solders.transaction_status import UiRawMessage, UiTransaction
from spl.token import instructions as tok
from spl.token import models as tm
from spl.token.constants import TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID

from localnet import Localnet
from localnet.fixtures import ROLES, SOL_PER_ROLE, USDC_PER_ROLE
from localnet.loader import BPF_LOADER_UPGRADEABLE_ID, programdata_address

MINT_2022_WITH_FEE_LEN = 278


async def make_mint(
    rpc: AsyncClient,
    send: Any,
    payer: Keypair,
    *,
    decimals: int,
    program: Pubkey = TOKEN_PROGRAM_ID,
    fee_bps: int | None = None,
) -> Pubkey:
    mint = Keypair()
    space = 82 if fee_bps is None else MINT_2022_WITH_FEE_LEN
    rent = (await rpc.get_minimum_balance_for_rent_exemption(space)).value
    ixs = [
        create_account(
            CreateAccountParams(
                from_pubkey=payer.pubkey(),
                to_pubkey=mint.pubkey(),
                lamports=rent,
                space=space,
                owner=program,
            )
        )
    ]
    if fee_bps is not None:
        ixs.append(
            tok.initialize_transfer_fee_config(
                tm.InitializeTransferFeeConfigParams(
                    program_id=program,
                    mint=mint.pubkey(),
                    transfer_fee_config_authority=payer.pubkey(),
                    withdraw_withheld_authority=payer.pubkey(),
                    transfer_fee_basis_points=fee_bps,
                    maximum_fee=10**12,
                )
            )
        )
    ixs.append(
        tok.initialize_mint(
            tm.InitializeMintParams(
                decimals=decimals,
                program_id=program,
                mint=mint.pubkey(),
                mint_authority=payer.pubkey(),
                freeze_authority=None,
            )
        )
    )
    await send(ixs, payer, mint)
    return mint.pubkey()


async def make_holder(
    send: Any, payer: Keypair, owner: Pubkey, mint: Pubkey, amount: int, program: Pubkey
) -> Pubkey:
    ata = tok.get_associated_token_address(owner, mint, program)
    ixs = [tok.create_associated_token_account(payer.pubkey(), owner, mint, program)]
    if amount:
        ixs.append(
            tok.mint_to(
                tm.MintToParams(
                    program_id=program,
                    mint=mint,
                    dest=ata,
                    mint_authority=payer.pubkey(),
                    amount=amount,
                )
            )
        )
    await send(ixs, payer)
    return ata


def parsed_info(data: object) -> dict[str, Any]:
    """The ``parsed.info`` object of a jsonParsed account."""
    assert isinstance(data, ParsedAccount) and isinstance(data.parsed, dict)
    info = data.parsed["info"]
    assert isinstance(info, dict)
    return info


async def test_fixture_state(localnet: Localnet, rpc: AsyncClient) -> None:
    # Every role: SOL and a USDC ATA holding the starting balance
    for role in ROLES:
        pubkey = localnet.keypairs[role].pubkey()
        assert (await rpc.get_balance(pubkey)).value >= SOL_PER_ROLE - 10 * 10**9  # admin deploys
        ata = localnet.usdc_accounts[role]
        assert ata == tok.get_associated_token_address(pubkey, localnet.usdc_mint)
        balance = (await rpc.get_token_account_balance(ata)).value
        assert balance.decimals == 6
        assert int(balance.amount) >= USDC_PER_ROLE or role == "mint_authority"
    # the mint: 6 decimals, classic SPL Token, authority = the mint_authority keypair
    mint = (await rpc.get_account_info_json_parsed(localnet.usdc_mint)).value
    assert mint is not None and mint.owner == TOKEN_PROGRAM_ID
    info = parsed_info(mint.data)
    assert info["decimals"] == 6
    assert info["mintAuthority"] == str(localnet.keypairs["mint_authority"].pubkey())
    # the programs that are built are deployed through the upgradeable loader
    for name, program_id in localnet.program_ids.items():
        account = (await rpc.get_account_info(program_id)).value
        assert account is not None, name
        assert account.executable and account.owner == BPF_LOADER_UPGRADEABLE_ID
        data = await rpc.get_account_info(programdata_address(program_id), encoding="base64")
        assert data.value is not None
        authority = bytes(data.value.data)[13:45]
        assert authority == bytes(localnet.keypairs["admin"].pubkey())
    # the manifest says the same
    manifest = json.loads(localnet.manifest_path.read_text())
    assert manifest["rpc_url"] == localnet.rpc_url
    assert manifest["backend"] == "embedded"
    assert manifest["usdc_mint"] == str(localnet.usdc_mint)
    assert manifest["program_ids"] == {k: str(v) for k, v in localnet.program_ids.items()}
    for role in ROLES:
        saved = json.loads(Path(manifest["keypairs"][role]).read_text())  # noqa: ASYNC240
        assert Keypair.from_bytes(bytes(saved)) == localnet.keypairs[role]


async def test_helpers_airdrop_and_mint_usdc(localnet: Localnet, rpc: AsyncClient) -> None:
    owner = Keypair().pubkey()
    await localnet.airdrop(owner, 3 * 10**9)
    assert (await rpc.get_balance(owner)).value == 3 * 10**9
    ata = await localnet.mint_usdc(owner, 1_500_000)
    ata_again = await localnet.mint_usdc(owner, 500_000)
    assert ata == ata_again
    balance = (await rpc.get_token_account_balance(ata)).value
    assert (balance.amount, balance.ui_amount_string) == ("2000000", "2")


async def test_spl_token_mint_and_transfer(
    localnet: Localnet, rpc: AsyncClient, send: Any, funded: Keypair
) -> None:
    # Given a 6-decimal mint and two holders
    mint = await make_mint(rpc, send, funded, decimals=6)
    alice, bob = Keypair(), Keypair()
    await localnet.airdrop(alice.pubkey(), 10**9)
    src = await make_holder(send, funded, alice.pubkey(), mint, 5_000_000, TOKEN_PROGRAM_ID)
    dst = await make_holder(send, funded, bob.pubkey(), mint, 0, TOKEN_PROGRAM_ID)

    # When alice sends 1.25 tokens to bob with transfer_checked
    sig = await send(
        [
            tok.transfer_checked(
                tm.TransferCheckedParams(
                    program_id=TOKEN_PROGRAM_ID,
                    source=src,
                    mint=mint,
                    dest=dst,
                    owner=alice.pubkey(),
                    amount=1_250_000,
                    decimals=6,
                )
            )
        ],
        alice,
    )

    # Then balances, supply and the transaction's token balances agree
    balance = (await rpc.get_token_account_balance(dst)).value
    assert (balance.amount, balance.decimals, balance.ui_amount_string) == ("1250000", 6, "1.25")
    assert balance.ui_amount == 1.25
    supply = (await rpc.get_token_supply(mint)).value
    assert supply.amount == "5000000"
    tx = (await rpc.get_transaction(sig, max_supported_transaction_version=0)).value
    assert tx is not None and tx.transaction.meta is not None
    pre = {b.account_index: b for b in tx.transaction.meta.pre_token_balances or []}
    post = {b.account_index: b for b in tx.transaction.meta.post_token_balances or []}
    ui_tx = tx.transaction.transaction
    assert isinstance(ui_tx, UiTransaction) and isinstance(ui_tx.message, UiRawMessage)
    keys = ui_tx.message.account_keys
    i_src, i_dst = keys.index(src), keys.index(dst)
    assert pre[i_src].ui_token_amount.amount == "5000000"
    assert post[i_src].ui_token_amount.amount == "3750000"
    assert pre[i_dst].ui_token_amount.amount == "0" and post[i_dst].owner == bob.pubkey()
    assert post[i_dst].mint == mint and post[i_dst].program_id == TOKEN_PROGRAM_ID

    # and token accounts can be found by owner, by mint or by program
    by_mint = (
        await rpc.get_token_accounts_by_owner(bob.pubkey(), TokenAccountOpts(mint=mint))
    ).value
    assert [a.pubkey for a in by_mint] == [dst]
    by_program = (
        await rpc.get_token_accounts_by_owner(
            alice.pubkey(), TokenAccountOpts(program_id=TOKEN_PROGRAM_ID)
        )
    ).value
    assert [a.pubkey for a in by_program] == [src]
    parsed = (
        await rpc.get_token_accounts_by_owner_json_parsed(bob.pubkey(), TokenAccountOpts(mint=mint))
    ).value
    info = parsed_info(parsed[0].account.data)
    assert info["tokenAmount"]["uiAmountString"] == "1.25" and info["state"] == "initialized"
    largest = (await rpc.get_token_largest_accounts(mint)).value
    assert [a.address for a in largest] == [src, dst]


async def test_token_2022_mint_with_transfer_fee(
    localnet: Localnet, rpc: AsyncClient, send: Any, funded: Keypair
) -> None:
    # Given a Token-2022 mint with a 1% transfer fee
    mint = await make_mint(
        rpc, send, funded, decimals=9, program=TOKEN_2022_PROGRAM_ID, fee_bps=100
    )
    alice, bob = Keypair(), Keypair()
    await localnet.airdrop(alice.pubkey(), 10**9)
    src = await make_holder(send, funded, alice.pubkey(), mint, 10**9, TOKEN_2022_PROGRAM_ID)
    dst = await make_holder(send, funded, bob.pubkey(), mint, 0, TOKEN_2022_PROGRAM_ID)

    # When 0.5 tokens move with transfer_checked (the fee is withheld in the destination)
    sig = await send(
        [
            tok.transfer_checked(
                tm.TransferCheckedParams(
                    program_id=TOKEN_2022_PROGRAM_ID,
                    source=src,
                    mint=mint,
                    dest=dst,
                    owner=alice.pubkey(),
                    amount=500_000_000,
                    decimals=9,
                )
            )
        ],
        alice,
    )

    # Then bob holds what arrived (amount - 1%), and the RPC knows the program
    assert (await rpc.get_token_account_balance(dst)).value.amount == "495000000"
    assert (await rpc.get_token_supply(mint)).value.amount == str(10**9)
    accounts = (
        await rpc.get_token_accounts_by_owner(
            bob.pubkey(), TokenAccountOpts(program_id=TOKEN_2022_PROGRAM_ID)
        )
    ).value
    assert [a.pubkey for a in accounts] == [dst]
    assert accounts[0].account.owner == TOKEN_2022_PROGRAM_ID
    tx = (await rpc.get_transaction(sig, max_supported_transaction_version=0)).value
    assert tx is not None and tx.transaction.meta is not None
    post = tx.transaction.meta.post_token_balances or []
    assert {b.program_id for b in post} == {TOKEN_2022_PROGRAM_ID}
    assert sorted(b.ui_token_amount.amount for b in post) == ["495000000", "500000000"]

"""SPL Token queries: balances, supply, token accounts by owner/delegate, largest accounts."""

from __future__ import annotations

from typing import Any

from solders.pubkey import Pubkey

from localnet import spl
from localnet.chain import Chain
from localnet.methods.accounts import _encoding, ui_account
from localnet.methods.common import checked_config, registry, with_context
from localnet.params import Params, parse_pubkey
from localnet.rpc_errors import invalid_params

METHODS, method = registry()

MAX_LARGEST_ACCOUNTS = 20


def _token_account(chain: Chain, key: Pubkey) -> tuple[spl.TokenAccountInfo, Pubkey]:
    account = chain.get_account(key)
    data = b"" if account is None else bytes(account.data)
    if account is None or not spl.is_token_account_data(account.owner, data):
        raise invalid_params("Invalid param: not a Token account")
    return spl.parse_token_account(data), account.owner


def _mint(chain: Chain, key: Pubkey) -> tuple[spl.MintInfo, Pubkey]:
    account = chain.get_account(key)
    data = b"" if account is None else bytes(account.data)
    if account is None or not spl.is_mint_data(account.owner, data):
        raise invalid_params("Invalid param: not a Token mint")
    return spl.parse_mint(data), account.owner


@method("getTokenAccountBalance")
def get_token_account_balance(chain: Chain, p: Params) -> Any:
    info, _ = _token_account(chain, p.pubkey(0))
    checked_config(chain, p, 1)
    decimals = chain.mint_decimals(info.mint)
    if decimals is None:
        raise invalid_params("Invalid param: could not find mint")
    return with_context(chain, spl.ui_token_amount(info.amount, decimals))


@method("getTokenSupply")
def get_token_supply(chain: Chain, p: Params) -> Any:
    mint, _ = _mint(chain, p.pubkey(0))
    checked_config(chain, p, 1)
    return with_context(chain, spl.ui_token_amount(mint.supply, mint.decimals))


def _token_filter(chain: Chain, raw: Any) -> tuple[Pubkey, Pubkey | None]:
    """``{"mint": ..}`` or ``{"programId": ..}`` -> (token program, mint or None)."""
    if not isinstance(raw, dict) or ("mint" in raw) == ("programId" in raw):
        raise invalid_params("Invalid params: expected a mint or programId filter.")
    if "mint" in raw:
        mint = parse_pubkey(raw["mint"])
        account = chain.get_account(mint)
        if account is None or account.owner not in spl.TOKEN_PROGRAMS:
            raise invalid_params("Invalid param: could not find mint")
        return account.owner, mint
    program = parse_pubkey(raw["programId"])
    if program not in spl.TOKEN_PROGRAMS:
        raise invalid_params("Invalid param: unrecognized Token program id")
    return program, None


def _accounts_by(chain: Chain, p: Params, field: str) -> Any:
    who = p.pubkey(0)
    program, mint = _token_filter(chain, p.required(1, "filter"))
    config = checked_config(chain, p, 2)
    encoding, data_slice = _encoding(config, "binary")
    found = []
    for key, account in chain.program_accounts(program):
        data = bytes(account.data)
        if not spl.is_token_account_data(account.owner, data):
            continue
        info = spl.parse_token_account(data)
        if mint is not None and info.mint != mint:
            continue
        if getattr(info, field) != who:
            continue
        found.append(
            {"pubkey": str(key), "account": ui_account(chain, account, encoding, data_slice)}
        )
    return with_context(chain, found)


@method("getTokenAccountsByOwner")
def get_token_accounts_by_owner(chain: Chain, p: Params) -> Any:
    return _accounts_by(chain, p, "owner")


@method("getTokenAccountsByDelegate")
def get_token_accounts_by_delegate(chain: Chain, p: Params) -> Any:
    return _accounts_by(chain, p, "delegate")


@method("getTokenLargestAccounts")
def get_token_largest_accounts(chain: Chain, p: Params) -> Any:
    mint_key = p.pubkey(0)
    mint, program = _mint(chain, mint_key)
    checked_config(chain, p, 1)
    holders = []
    for key, account in chain.program_accounts(program):
        data = bytes(account.data)
        if spl.is_token_account_data(account.owner, data):
            info = spl.parse_token_account(data)
            if info.mint == mint_key:
                holders.append((info.amount, key))
    holders.sort(key=lambda h: (-h[0], str(h[1])))
    value = [
        {"address": str(key), **spl.ui_token_amount(amount, mint.decimals)}
        for amount, key in holders[:MAX_LARGEST_ACCOUNTS]
    ]
    return with_context(chain, value)

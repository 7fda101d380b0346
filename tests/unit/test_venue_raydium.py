"""Raydium CPMM venue: pool decoding, quote math against a Python reference (SPL and a
fee-bearing Token-2022 mint), the swap_base_input instruction, and the Trade API price check."""

from __future__ import annotations

import asyncio
import hashlib
import math
import struct
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from fractions import Fraction

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from solders.pubkey import Pubkey

from cranks.http import RetryPolicy
from cranks.venues.base import Route
from cranks.venues.errors import (
    MalformedResponse,
    NoRoute,
    PriceDeviation,
    RateLimited,
)
from cranks.venues.raydium import (
    RAYDIUM_CPMM_DEVNET_PROGRAM_ID,
    AmmConfig,
    RaydiumConfig,
    RaydiumVenue,
    decode_amm_config,
    decode_pool_state,
    swap_base_input,
)
from tests.fakes._server import Fault
from tests.fakes.chain import (
    CLOCK,
    TOKEN,
    TOKEN_2022,
    FakeChain,
    Fee,
    RaydiumPoolSpec,
    clock,
    key,
    raydium_amm_config,
    raydium_pool_state,
    spl_mint,
    t22_mint,
    token_account,
)
from tests.fakes.raydium_server import FakeRaydium

USDC = key("usdc")
MODEL_TOKEN = key("model-token")
MODEL = key("model-pda")
REVENUE = key("revenue-vault")
BUYBACK = key("buyback-vault")
POOL = key("cpmm-pool")
CONFIG = key("cpmm-config")
OBSERVATION = key("cpmm-observation")
VAULT_0 = key("cpmm-vault-0")
VAULT_1 = key("cpmm-vault-1")
NOW = 1_764_000_000.0


# --- an independent reference, written from raydium-cp-swap's curve/ and swap_base_input ------


def ceil_frac(x: Fraction) -> int:
    return math.ceil(x)


def t22_fee(amount: int, fee: Fee | None) -> int:
    if fee is None or fee.bps == 0:
        return 0
    return min(ceil_frac(Fraction(amount * fee.bps, 10_000)), fee.maximum_fee)


@dataclass
class Case:
    amount_in: int
    vault_in: int
    vault_out: int
    owed_in: int = 0
    owed_out: int = 0
    trade_fee_rate: int = 2_500
    creator_fee_rate: int = 0
    creator_on_input: bool = True
    fee_in: Fee | None = None
    fee_out: Fee | None = None


def reference_received(c: Case) -> int:
    """Tokens that arrive in the destination (after the output transfer fee)."""
    x = c.amount_in - t22_fee(c.amount_in, c.fee_in)
    r_in, r_out = c.vault_in - c.owed_in, c.vault_out - c.owed_out
    if c.creator_on_input:
        total = ceil_frac(Fraction(x * (c.trade_fee_rate + c.creator_fee_rate), 10**6))
        net = x - total
    else:
        net = x - ceil_frac(Fraction(x * c.trade_fee_rate, 10**6))
    swapped = math.floor(Fraction(net * r_out, r_in + net))
    out = swapped
    if not c.creator_on_input:
        out -= ceil_frac(Fraction(swapped * c.creator_fee_rate, 10**6))
    return out - t22_fee(out, c.fee_out)


# --- chain fixture ---------------------------------------------------------------------------


def build_chain(
    c: Case,
    *,
    usdc_is_token_0: bool = True,
    epoch: int = 5,
    status: int = 0,
    open_time: int = 0,
    creator_fee_on: int = 0,
    enable_creator_fee: bool = False,
    protocol_fund_split: tuple[int, int] = (0, 0),
) -> FakeChain:
    """A pool USDC/MODEL_TOKEN with the case's balances; owed fees split between protocol,
    fund and creator counters to exercise all three."""
    chain = FakeChain()
    in_is_0 = usdc_is_token_0
    mint_in = t22_mint(6, older=c.fee_in) if c.fee_in else spl_mint(6)
    mint_out = t22_mint(6, older=c.fee_out) if c.fee_out else spl_mint(6)
    prog_in = TOKEN_2022 if c.fee_in else TOKEN
    prog_out = TOKEN_2022 if c.fee_out else TOKEN
    chain.set(USDC, mint_in)
    chain.set(MODEL_TOKEN, mint_out)
    vault_in, vault_out = (VAULT_0, VAULT_1) if in_is_0 else (VAULT_1, VAULT_0)
    chain.set(vault_in, token_account(USDC, key("cpmm-authority"), c.vault_in))
    chain.set(vault_out, token_account(MODEL_TOKEN, key("cpmm-authority"), c.vault_out))

    def split(owed: int) -> tuple[int, int, int]:
        p = owed // 2
        f = owed // 3
        return p, f, owed - p - f

    pi, fi, ci = split(c.owed_in)
    po, fo, co = split(c.owed_out)

    def order(a: int, b: int) -> tuple[int, int]:
        return (a, b) if in_is_0 else (b, a)

    spec = RaydiumPoolSpec(
        amm_config=CONFIG,
        token_0_vault=VAULT_0,
        token_1_vault=VAULT_1,
        token_0_mint=USDC if in_is_0 else MODEL_TOKEN,
        token_1_mint=MODEL_TOKEN if in_is_0 else USDC,
        token_0_program=prog_in if in_is_0 else prog_out,
        token_1_program=prog_out if in_is_0 else prog_in,
        observation_key=OBSERVATION,
        status=status,
        protocol_fees=order(pi, po),
        fund_fees=order(fi, fo),
        creator_fees=order(ci, co),
        open_time=open_time,
        creator_fee_on=creator_fee_on,
        enable_creator_fee=enable_creator_fee,
    )
    chain.set(POOL, raydium_pool_state(spec))
    chain.set(CONFIG, raydium_amm_config(c.trade_fee_rate, creator_fee_rate=c.creator_fee_rate))
    chain.set(CLOCK, clock(epoch))
    return chain


def raydium(chain: FakeChain, **cfg: object) -> RaydiumVenue:
    config = RaydiumConfig(pool=POOL, **cfg)  # type: ignore[arg-type]
    return RaydiumVenue(config, chain.fetch, clock=lambda: NOW)


async def quote(v: RaydiumVenue, amount: int, slippage: int = 100) -> Route:
    return await v.quote(
        USDC, MODEL_TOKEN, amount, slippage, authority=MODEL, source=REVENUE, destination=BUYBACK
    )


# --- decoding --------------------------------------------------------------------------------


def test_pool_state_and_config_decode_at_the_program_offsets() -> None:
    spec = RaydiumPoolSpec(
        amm_config=CONFIG,
        token_0_vault=VAULT_0,
        token_1_vault=VAULT_1,
        token_0_mint=USDC,
        token_1_mint=MODEL_TOKEN,
        token_0_program=TOKEN,
        token_1_program=TOKEN_2022,
        observation_key=OBSERVATION,
        status=4,
        protocol_fees=(11, 12),
        fund_fees=(21, 22),
        creator_fees=(31, 32),
        open_time=1234,
        creator_fee_on=2,
        enable_creator_fee=True,
    )
    p = decode_pool_state(raydium_pool_state(spec))
    assert (p.amm_config, p.token_0_vault, p.token_1_vault) == (CONFIG, VAULT_0, VAULT_1)
    assert (p.token_0_mint, p.token_1_mint) == (USDC, MODEL_TOKEN)
    assert (p.token_0_program, p.token_1_program) == (TOKEN, TOKEN_2022)
    assert p.observation_key == OBSERVATION and p.status == 4 and p.open_time == 1234
    assert p.protocol_fees == (11, 12) and p.fund_fees == (21, 22) and p.creator_fees == (31, 32)
    assert p.creator_fee_on == 2 and p.enable_creator_fee
    cfg = decode_amm_config(raydium_amm_config(2500, 120_000, 40_000, 500))
    assert cfg == AmmConfig(2500, 120_000, 40_000, 500)


def test_discriminators_are_anchors() -> None:
    k = [key(str(i)) for i in range(8)]
    data = bytearray(
        raydium_pool_state(RaydiumPoolSpec(k[0], k[1], k[2], k[3], k[4], k[5], k[6], k[7]))
    )
    assert bytes(data[:8]) == hashlib.sha256(b"account:PoolState").digest()[:8]
    data[0] ^= 1
    with pytest.raises(MalformedResponse):
        decode_pool_state(bytes(data))
    with pytest.raises(MalformedResponse):
        decode_amm_config(raydium_amm_config(2500)[:-1])


# --- quote math ------------------------------------------------------------------------------

CASES = {
    "spl": Case(250_000_000, 80_000_000_000, 400_000_000_000_000),
    "spl-owed-fees": Case(
        250_000_000,
        80_000_000_000,
        400_000_000_000_000,
        owed_in=3_000_000_000,
        owed_out=7_000_000_000_000,
    ),
    "t22-output-fee": Case(
        250_000_000, 80_000_000_000, 400_000_000_000_000, fee_out=Fee(300, 10**18)
    ),
    "t22-output-fee-capped": Case(
        250_000_000, 80_000_000_000, 400_000_000_000_000, fee_out=Fee(300, 5_000_000)
    ),
    "t22-input-fee": Case(999_999, 10**9, 10**9, fee_in=Fee(125, 10**18)),
    "creator-fee-on-input": Case(
        10**8, 10**11, 10**13, creator_fee_rate=1_000, creator_on_input=True
    ),
}


@pytest.mark.parametrize("name", list(CASES))
async def test_quote_matches_reference(name: str) -> None:
    c = CASES[name]
    chain = build_chain(c, enable_creator_fee=c.creator_fee_rate > 0)
    route = await quote(raydium(chain), c.amount_in, slippage=100)
    expected = reference_received(c)
    assert route.expected_out == expected
    assert route.min_out == expected * 9_900 // 10_000
    assert route.in_amount == c.amount_in


async def test_owed_fees_are_not_liquidity() -> None:
    # Fees the pool owes sit in the vaults but are not reserves: owed on the output side
    # they make the price worse, on the input side better
    plain = CASES["spl"]
    base = (await quote(raydium(build_chain(plain)), plain.amount_in)).expected_out
    owed_out = replace(plain, owed_out=7_000_000_000_000)
    owed_in = replace(plain, owed_in=3_000_000_000)
    worse = (await quote(raydium(build_chain(owed_out)), plain.amount_in)).expected_out
    better = (await quote(raydium(build_chain(owed_in)), plain.amount_in)).expected_out
    assert worse < base < better
    assert (worse, better) == (reference_received(owed_out), reference_received(owed_in))


async def test_transfer_fee_follows_the_epoch() -> None:
    # Given a model token whose fee rises from 1% to 5% at epoch 10
    c = Case(10**8, 10**11, 10**13)
    older, newer = Fee(100, 10**18, 0), Fee(500, 10**18, 10)
    before = build_chain(c, epoch=9)
    after = build_chain(c, epoch=10)
    for chain in (before, after):
        chain.set(MODEL_TOKEN, t22_mint(6, older=older, newer=newer))
    out_before = (await quote(raydium(before), c.amount_in)).expected_out
    out_after = (await quote(raydium(after), c.amount_in)).expected_out
    assert out_before == reference_received(replace(c, fee_out=older))
    assert out_after == reference_received(replace(c, fee_out=newer))
    # And without a readable clock the larger fee is assumed (never over-promise min_out)
    unknown = build_chain(c)
    unknown.set(MODEL_TOKEN, t22_mint(6, older=older, newer=newer))
    del unknown.accounts[CLOCK]
    assert (await quote(raydium(unknown), c.amount_in)).expected_out == out_after


async def test_creator_fee_on_the_output_side() -> None:
    # creator_fee_on = OnlyToken0 and MODEL_TOKEN is token 0 (input is token 1): on output
    c = Case(10**8, 10**11, 10**13, creator_fee_rate=2_000, creator_on_input=False)
    chain = build_chain(c, usdc_is_token_0=False, creator_fee_on=1, enable_creator_fee=True)
    route = await quote(raydium(chain), c.amount_in)
    assert route.expected_out == reference_received(c)
    # and disabled on the pool, the config's creator fee does not apply
    chain = build_chain(c, usdc_is_token_0=False, creator_fee_on=1, enable_creator_fee=False)
    route = await quote(raydium(chain), c.amount_in)
    assert route.expected_out == reference_received(replace(c, creator_fee_rate=0))


@settings(max_examples=200, deadline=None)
@given(
    amount=st.integers(1, 10**12),
    r_in=st.integers(1, 10**15),
    r_out=st.integers(1, 10**15),
    trade=st.integers(0, 100_000),
    creator=st.integers(0, 50_000),
    on_input=st.booleans(),
)
def test_curve_matches_reference(
    amount: int, r_in: int, r_out: int, trade: int, creator: int, on_input: bool
) -> None:
    cfg = AmmConfig(
        trade_fee_rate=trade,
        protocol_fee_rate=120_000,
        fund_fee_rate=40_000,
        creator_fee_rate=creator,
    )
    q = swap_base_input(
        amount, r_in, r_out, cfg, creator_fee_rate=creator, creator_fee_on_input=on_input
    )
    c = Case(
        amount,
        r_in,
        r_out,
        trade_fee_rate=trade,
        creator_fee_rate=creator,
        creator_on_input=on_input,
    )
    assert q.output_amount == reference_received(c)
    assert q.protocol_fee == q.trade_fee * 120_000 // 10**6
    # The constant product never decreases (what the program asserts)
    net = amount - q.trade_fee - (q.creator_fee if on_input else 0)
    swapped = q.output_amount + (0 if on_input else q.creator_fee)
    assert (r_in + net) * (r_out - swapped) >= r_in * r_out


# --- the instruction -------------------------------------------------------------------------


async def test_swap_base_input_instruction() -> None:
    c = CASES["t22-output-fee"]
    route = await quote(raydium(build_chain(c)), c.amount_in, slippage=75)
    disc = hashlib.sha256(b"global:swap_base_input").digest()[:8]
    assert route.swap_program == RAYDIUM_CPMM_DEVNET_PROGRAM_ID
    assert route.data == disc + struct.pack("<QQ", c.amount_in, route.min_out)
    authority = Pubkey.find_program_address(
        [b"vault_and_lp_mint_auth_seed"], RAYDIUM_CPMM_DEVNET_PROGRAM_ID
    )[0]
    expected = [
        (MODEL, False),  # payer: the model PDA, signing through buyback's CPI
        (authority, False),
        (CONFIG, False),
        (POOL, True),
        (REVENUE, True),
        (BUYBACK, True),
        (VAULT_0, True),  # USDC is token 0: input vault
        (VAULT_1, True),
        (TOKEN, False),
        (TOKEN_2022, False),
        (USDC, False),
        (MODEL_TOKEN, False),
        (OBSERVATION, True),
    ]
    assert [(m.pubkey, m.is_writable) for m in route.accounts] == expected
    assert not any(m.is_signer for m in route.accounts)
    inner = route.swap_instruction()
    assert inner.accounts[0].is_signer and inner.accounts[0].pubkey == MODEL
    assert route.min_out == route.expected_out * 9_925 // 10_000


async def test_reverse_direction_uses_the_other_vaults() -> None:
    c = CASES["spl"]
    route = await quote(raydium(build_chain(c, usdc_is_token_0=False)), c.amount_in)
    assert [m.pubkey for m in route.accounts[6:8]] == [VAULT_1, VAULT_0]
    assert route.expected_out == reference_received(c)


# --- refusals --------------------------------------------------------------------------------


async def test_pool_refusals() -> None:
    c = CASES["spl"]
    with pytest.raises(NoRoute, match="disabled"):
        await quote(raydium(build_chain(c, status=4)), c.amount_in)
    with pytest.raises(NoRoute, match="opens"):
        await quote(raydium(build_chain(c, open_time=int(NOW) + 60)), c.amount_in)
    chain = build_chain(c)
    with pytest.raises(NoRoute, match="does not trade"):
        await raydium(chain).quote(
            USDC, key("other"), 10, 50, authority=MODEL, source=REVENUE, destination=BUYBACK
        )
    with pytest.raises(NoRoute, match="does not exist"):
        await quote(raydium(FakeChain()), c.amount_in)
    with pytest.raises(NoRoute, match="buys nothing"):
        await quote(raydium(build_chain(Case(1, 10**12, 10**6))), 1)
    chain = build_chain(c)
    chain.set(VAULT_0, token_account(MODEL_TOKEN, key("x"), 1))  # a vault of the wrong mint
    with pytest.raises(MalformedResponse, match="holds"):
        await quote(raydium(chain), c.amount_in)


# --- Trade API price check -------------------------------------------------------------------


@pytest.fixture
async def trade_api() -> AsyncIterator[FakeRaydium]:
    async with FakeRaydium() as s:
        yield s


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as c:
        yield c


def checked(
    chain: FakeChain, api: FakeRaydium, client: httpx.AsyncClient, tolerance_bps: int = 100
) -> RaydiumVenue:
    async def no_sleep(_: float) -> None:
        return None

    cfg = RaydiumConfig(
        pool=POOL,
        trade_api_url=api.base_url,
        price_tolerance_bps=tolerance_bps,
        retry=RetryPolicy(max_attempts=2),
    )
    return RaydiumVenue(cfg, chain.fetch, client=client, sleep=no_sleep, clock=lambda: NOW)


async def test_price_check_within_tolerance(
    trade_api: FakeRaydium, client: httpx.AsyncClient
) -> None:
    c = CASES["spl"]
    ours = reference_received(c)
    trade_api.output_amount = ours * 10_050 // 10_000  # 0.5% better elsewhere
    route = await quote(checked(build_chain(c), trade_api, client), c.amount_in)
    assert route.expected_out == ours
    (req,) = trade_api.requests
    assert req.path == "/compute/swap-base-in"
    assert req.query == {
        "inputMint": str(USDC),
        "outputMint": str(MODEL_TOKEN),
        "amount": str(c.amount_in),
        "slippageBps": "100",
        "txVersion": "V0",
    }
    assert route.raw_quote["reference"]["deviation_bps"] == 49


@pytest.mark.parametrize("factor_bps", [9_700, 10_300])
async def test_price_deviation_is_refused(
    trade_api: FakeRaydium, client: httpx.AsyncClient, factor_bps: int
) -> None:
    # Given the Trade API pricing 3% away from the pool we read
    c = CASES["spl"]
    ours = reference_received(c)
    trade_api.output_amount = ours * factor_bps // 10_000
    with pytest.raises(PriceDeviation) as err:
        await quote(checked(build_chain(c), trade_api, client, tolerance_bps=100), c.amount_in)
    assert err.value.ours == ours
    assert err.value.reference == trade_api.output_amount
    assert err.value.deviation_bps > 100


async def test_price_check_no_route_and_malformed(
    trade_api: FakeRaydium, client: httpx.AsyncClient
) -> None:
    c = CASES["spl"]
    v = checked(build_chain(c), trade_api, client)
    trade_api.no_route = True
    with pytest.raises(NoRoute, match="ROUTE_NOT_FOUND"):
        await quote(v, c.amount_in)
    trade_api.no_route = False
    trade_api.faults.append(Fault.malformed())
    with pytest.raises(MalformedResponse):
        await quote(v, c.amount_in)
    trade_api.faults.append(
        Fault.http(
            200, {"id": "x", "success": True, "version": "V1", "data": {"swapType": "BaseIn"}}
        )
    )
    with pytest.raises(MalformedResponse, match="inputMint"):
        await quote(v, c.amount_in)
    trade_api.faults.extend([Fault.rate_limited("1"), Fault.rate_limited("1")])
    with pytest.raises(RateLimited):
        await quote(v, c.amount_in)


def test_price_check_needs_a_client() -> None:
    with pytest.raises(ValueError):
        RaydiumVenue(
            RaydiumConfig(pool=POOL, trade_api_url="http://127.0.0.1:1"), FakeChain().fetch
        )


async def test_quotes_run_concurrently() -> None:
    c = CASES["spl"]
    v = raydium(build_chain(c))
    routes = await asyncio.gather(*(quote(v, c.amount_in) for _ in range(5)))
    assert len({r.expected_out for r in routes}) == 1

"""Jupiter venue against the local fake speaking Jupiter's documented wire formats."""

from __future__ import annotations

import base64
import copy
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from solders.pubkey import Pubkey

from bourse_chain.token_layout import associated_token_address
from cranks.http import RetryPolicy
from cranks.reference import (
    Observation,
    ReferencePolicy,
    admit,
    reference_price,
    within_reference,
)
from cranks.venues.base import Route, Venue
from cranks.venues.errors import (
    MalformedResponse,
    NoRoute,
    QuoteExpired,
    RequestRejected,
    RouteTooLarge,
    UnsupportedRoute,
)
from cranks.venues.jupiter import (
    JUPITER_V6_PROGRAM_ID,
    JupiterApi,
    JupiterConfig,
    JupiterVenue,
)
from tests.fakes._server import Fault, fixture
from tests.fakes.chain import CLOCK, TOKEN, FakeChain, Fee, clock, key, t22_mint
from tests.fakes.jupiter_server import BASE_ACCOUNTS, FakeJupiter

USDC = key("usdc")
MODEL_TOKEN = key("model-token")
MODEL = key("model-pda")
REVENUE = key("revenue-vault")
BUYBACK = key("buyback-vault")
AMOUNT = 250_000_000
SLIPPAGE = 50
APIS = [JupiterApi.BUILD, JupiterApi.V1]


class Clock:
    def __init__(self) -> None:
        import time

        self.t = time.time()

    def __call__(self) -> float:
        return self.t


async def no_sleep(_: float) -> None:
    return None


@pytest.fixture
async def server() -> AsyncIterator[FakeJupiter]:
    async with FakeJupiter() as s:
        yield s


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as c:
        yield c


def venue(
    server: FakeJupiter,
    client: httpx.AsyncClient,
    api: JupiterApi = JupiterApi.BUILD,
    clk: Clock | None = None,
    **kw: Any,
) -> JupiterVenue:
    cfg = JupiterConfig(
        base_url=server.base_url,
        api=api,
        api_key="test-key",
        retry=RetryPolicy(max_attempts=2, timeout_s=2.0),
        **kw,
    )
    return JupiterVenue(client, cfg, sleep=no_sleep, clock=clk or Clock())


async def quote(v: JupiterVenue, amount: int = AMOUNT) -> Route:
    return await v.quote(
        USDC, MODEL_TOKEN, amount, SLIPPAGE, authority=MODEL, source=REVENUE, destination=BUYBACK
    )


def served_swap(server: FakeJupiter) -> dict[str, object]:
    last = server.responses[-1]
    return last["swapInstruction"]  # type: ignore[no-any-return]


# --- decoding ---------------------------------------------------------------------------------


@pytest.mark.parametrize("api", APIS)
async def test_route_is_decoded_from_the_swap_instruction(
    server: FakeJupiter, client: httpx.AsyncClient, api: JupiterApi
) -> None:
    v = venue(server, client, api)
    assert isinstance(v, Venue)
    route = await quote(v)
    swap = served_swap(server)

    # The program, data and account order are the served swapInstruction's
    assert route.venue == "jupiter"
    assert route.swap_program == JUPITER_V6_PROGRAM_ID
    assert route.data == base64.b64decode(swap["data"])  # type: ignore[arg-type]
    served = [Pubkey.from_string(a["pubkey"]) for a in swap["accounts"]]  # type: ignore[attr-defined]
    assert len(route.accounts) == BASE_ACCOUNTS == len(served)
    ata = associated_token_address(MODEL, USDC, TOKEN)
    # ...except the authority's ATA, replaced by the revenue vault buyback spends from
    assert [m.pubkey for m in route.accounts] == [REVENUE if k == ata else k for k in served]
    assert ata in served and ata not in [m.pubkey for m in route.accounts]
    for meta, raw in zip(route.accounts, swap["accounts"], strict=True):  # type: ignore[call-overload]
        assert meta.is_writable == raw["isWritable"]
    # The PDA is never a signer of the outer transaction; buyback signs for it
    assert not any(m.is_signer for m in route.accounts)
    inner = route.swap_instruction()
    assert [m.pubkey for m in inner.accounts if m.is_signer] == [MODEL]
    assert BUYBACK in [m.pubkey for m in route.accounts if m.is_writable]

    # Amounts: ExactIn, min_out = otherAmountThreshold (SPL output: no transfer fee)
    out = AMOUNT * 1_234_567_890 // 250_000_000
    assert route.in_amount == AMOUNT
    assert route.expected_out == out
    assert route.min_out == out * (10_000 - SLIPPAGE) // 10_000
    assert route.price_impact == pytest.approx(0.0012)
    assert route.setup_instructions == () and route.cleanup_instructions == ()
    assert len(route.compute_budget_instructions) == 1
    assert route.compute_budget_instructions[0].data[0] == 3  # SetComputeUnitPrice
    assert route.address_lookup_tables == (
        Pubkey.from_string(
            next(iter(fixture("jupiter_build.json")["addressesByLookupTableAddress"]))
        ),
    )
    assert route.request.authority == MODEL


async def test_build_request_is_shaped_for_cpi(
    server: FakeJupiter, client: httpx.AsyncClient
) -> None:
    await quote(venue(server, client))
    (req,) = server.requests
    assert req.method == "GET" and req.path == "/swap/v2/build"
    assert req.headers["x-api-key"] == "test-key"
    assert req.query == {
        "inputMint": str(USDC),
        "outputMint": str(MODEL_TOKEN),
        "amount": str(AMOUNT),
        "slippageBps": str(SLIPPAGE),
        "maxAccounts": "56",
        "taker": str(MODEL),
        "wrapAndUnwrapSol": "false",
        "destinationTokenAccount": str(BUYBACK),
    }


async def test_v1_requests_are_shaped_for_cpi(
    server: FakeJupiter, client: httpx.AsyncClient
) -> None:
    payer = key("crank")
    await quote(venue(server, client, JupiterApi.V1, payer=payer))
    quote_req, ix_req = server.requests
    assert quote_req.path == "/swap/v1/quote" and ix_req.path == "/swap/v1/swap-instructions"
    assert quote_req.query["swapMode"] == "ExactIn"
    assert quote_req.query["maxAccounts"] == "56"
    assert quote_req.query["restrictIntermediateTokens"] == "true"
    assert ix_req.method == "POST"
    assert ix_req.headers["x-api-key"] == "test-key"
    body = ix_req.body
    assert body["quoteResponse"] == server.responses[0]
    assert body["userPublicKey"] == str(MODEL)
    assert body["destinationTokenAccount"] == str(BUYBACK)
    assert body["wrapAndUnwrapSol"] is False
    assert body["useSharedAccounts"] is True
    assert body["skipUserAccountsRpcCalls"] is True
    assert body["payer"] == str(payer)


async def test_taker_parameter_name_is_configurable(
    server: FakeJupiter, client: httpx.AsyncClient
) -> None:
    # the server requires `taker`; a venue configured with userPublicKey is refused (400)
    with pytest.raises(RequestRejected) as err:
        await quote(venue(server, client, taker_param="userPublicKey"))
    assert err.value.status == 400
    assert server.requests[0].query["userPublicKey"] == str(MODEL)


# --- maxAccounts lowering ----------------------------------------------------------------------


@pytest.mark.parametrize("api", APIS)
async def test_max_accounts_is_lowered_until_the_route_fits(
    server: FakeJupiter, client: httpx.AsyncClient, api: JupiterApi
) -> None:
    # Given routes of 75 accounts at maxAccounts=56 and 70 at 48: the fixture's 27 accounts
    # name 18 distinct ones, so a route of N locks N - 9 + 4 (buyback's own) = N - 5, more
    # than a transaction's 64 up to 69 accounts
    server.account_counts = {56: 75, 48: 70, 40: 52}
    route = await quote(venue(server, client, api))
    # Then the venue asked 56, 48, 40 and took the route that fits
    quotes = [r for r in server.requests if r.method == "GET"]
    assert [r.query["maxAccounts"] for r in quotes] == ["56", "48", "40"]
    assert len(route.accounts) == 52


async def test_route_too_large_at_every_step(
    server: FakeJupiter, client: httpx.AsyncClient
) -> None:
    server.account_counts = {56: 90, 48: 80, 40: 75, 30: 72, 20: 70}
    with pytest.raises(RouteTooLarge) as err:
        await quote(venue(server, client))
    assert err.value.accounts == 65 and err.value.limit == 64
    assert len(server.requests) == 5


async def test_no_route_after_lowering_is_route_too_large(
    server: FakeJupiter, client: httpx.AsyncClient
) -> None:
    server.account_counts = {56: 80}
    server.min_max_accounts = 50  # nothing routes under 50 accounts
    with pytest.raises(RouteTooLarge) as err:
        await quote(venue(server, client))
    assert err.value.accounts == 75
    assert isinstance(err.value.__cause__, NoRoute)


async def test_the_swap_instruction_limit_applies_before_the_locks(
    server: FakeJupiter, client: httpx.AsyncClient
) -> None:
    server.account_counts = {56: 130}
    with pytest.raises(RouteTooLarge) as err:
        await quote(venue(server, client, max_accounts_steps=(56,)))
    assert (err.value.accounts, err.value.limit) == (130, 128)


async def test_custom_steps_and_limit(server: FakeJupiter, client: httpx.AsyncClient) -> None:
    server.account_counts = {64: 45, 48: 30}
    route = await quote(venue(server, client, max_accounts_steps=(64, 48), account_limit=32))
    assert [r.query["maxAccounts"] for r in server.requests] == ["64", "48"]
    assert len(route.accounts) == 30


# --- refusals ----------------------------------------------------------------------------------


@pytest.mark.parametrize("api", APIS)
async def test_no_route(server: FakeJupiter, client: httpx.AsyncClient, api: JupiterApi) -> None:
    server.no_route = True
    with pytest.raises(NoRoute):
        await quote(venue(server, client, api))
    assert len(server.requests) == 1  # a 400 is final: not retried, not re-quoted


@pytest.mark.parametrize("api", APIS)
async def test_setup_instructions_are_refused(
    server: FakeJupiter, client: httpx.AsyncClient, api: JupiterApi
) -> None:
    server.with_setup = True
    with pytest.raises(UnsupportedRoute, match="setup"):
        await quote(venue(server, client, api))


async def served_answer(server: FakeJupiter, client: httpx.AsyncClient) -> dict[str, Any]:
    """The well-formed /build answer to our request, to break one thing in it."""
    await quote(venue(server, client))
    return copy.deepcopy(server.responses[-1])


async def test_cleanup_and_other_instructions_are_refused(
    server: FakeJupiter, client: httpx.AsyncClient
) -> None:
    # Given an answer carrying a cleanup instruction (e.g. a wSOL unwrap)
    doc = await served_answer(server, client)
    doc["cleanupInstruction"] = fixture("jupiter_setup_instruction.json")
    server.faults.append(Fault.http(200, doc))
    with pytest.raises(UnsupportedRoute, match="cleanup"):
        await quote(venue(server, client))
    # and the same with otherInstructions
    doc = await served_answer(server, client)
    doc["otherInstructions"] = [fixture("jupiter_setup_instruction.json")]
    server.faults.append(Fault.http(200, doc))
    with pytest.raises(UnsupportedRoute, match="cleanup/other"):
        await quote(venue(server, client))


async def test_foreign_signer_is_refused(server: FakeJupiter, client: httpx.AsyncClient) -> None:
    doc = await served_answer(server, client)
    doc["swapInstruction"]["accounts"][1]["isSigner"] = True  # program authority "signs"
    server.faults.append(Fault.http(200, doc))
    with pytest.raises(UnsupportedRoute, match="signer"):
        await quote(venue(server, client))


async def test_missing_destination_is_refused(
    server: FakeJupiter, client: httpx.AsyncClient
) -> None:
    doc = await served_answer(server, client)
    for acc in doc["swapInstruction"]["accounts"]:
        if acc["pubkey"] == str(BUYBACK):
            acc["pubkey"] = str(key("someone-else"))
    server.faults.append(Fault.http(200, doc))
    with pytest.raises(UnsupportedRoute, match="destination"):
        await quote(venue(server, client))


async def test_missing_source_is_refused(server: FakeJupiter, client: httpx.AsyncClient) -> None:
    # Jupiter spending from an account that is not the authority's ATA: nothing to substitute
    doc = await served_answer(server, client)
    ata = str(associated_token_address(MODEL, USDC, TOKEN))
    for acc in doc["swapInstruction"]["accounts"]:
        if acc["pubkey"] == ata:
            acc["pubkey"] = str(key("another-token-account"))
    server.faults.append(Fault.http(200, doc))
    with pytest.raises(UnsupportedRoute, match="source"):
        await quote(venue(server, client))


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("swapInstruction",), None, "swapInstruction"),
        (("outAmount",), 12.5, "outAmount"),
        (("otherAmountThreshold",), "-1", "otherAmountThreshold"),
        (("swapInstruction", "data"), "not base64!", "data"),
        (("swapInstruction", "programId"), "xyz", "programId"),
        (("inputMint",), "So11111111111111111111111111111111111111112", "another pair"),
        (("slippageBps",), 300, "slippageBps"),
        (("swapMode",), "ExactOut", "swapMode"),
        (("setupInstructions",), {}, "setupInstructions"),
    ],
)
async def test_malformed_fields_are_refused(
    server: FakeJupiter,
    client: httpx.AsyncClient,
    path: tuple[str, ...],
    value: object,
    message: str,
) -> None:
    # Given the well-formed answer for our request, with one field broken
    doc = await served_answer(server, client)
    target = doc
    for k in path[:-1]:
        target = target[k]
    if value is None:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    server.faults.append(Fault.http(200, doc))
    with pytest.raises(MalformedResponse, match=message):
        await quote(venue(server, client))


async def test_threshold_above_out_amount_is_refused(
    server: FakeJupiter, client: httpx.AsyncClient
) -> None:
    doc = await served_answer(server, client)
    doc["otherAmountThreshold"] = str(int(doc["outAmount"]) + 1)
    server.faults.append(Fault.http(200, doc))
    with pytest.raises(MalformedResponse, match="otherAmountThreshold"):
        await quote(venue(server, client))


async def test_error_body_with_200_is_a_rejection(
    server: FakeJupiter, client: httpx.AsyncClient
) -> None:
    server.faults.append(
        Fault.http(
            200, {"error": "Could not find any route", "errorCode": "COULD_NOT_FIND_ANY_ROUTE"}
        )
    )
    with pytest.raises(NoRoute):
        await quote(venue(server, client))


async def test_missing_api_key_is_rejected_once(
    server: FakeJupiter, client: httpx.AsyncClient
) -> None:
    server.api_key = "the-real-key"
    with pytest.raises(RequestRejected) as err:
        await quote(venue(server, client))
    assert err.value.status == 401
    assert len(server.requests) == 1


# --- freshness ---------------------------------------------------------------------------------


async def test_quote_expired_on_arrival_build(
    server: FakeJupiter, client: httpx.AsyncClient
) -> None:
    server.expired = True  # blockhashWithMetadata.fetchedAt an hour ago
    with pytest.raises(QuoteExpired) as err:
        await quote(venue(server, client))
    assert err.value.age_s > 3000


async def test_quote_expired_on_arrival_v1_by_context_slot(
    server: FakeJupiter, client: httpx.AsyncClient
) -> None:
    server.expired = True  # contextSlot 10,000 slots behind the cluster

    async def current_slot() -> int:
        return server.current_slot

    cfg = JupiterConfig(base_url=server.base_url, api=JupiterApi.V1)
    v = JupiterVenue(client, cfg, slot_fetcher=current_slot, sleep=no_sleep)
    with pytest.raises(QuoteExpired, match="contextSlot"):
        await quote(v)
    # and a fresh contextSlot passes
    server.expired = False
    assert (await quote(v)).context_slot == server.current_slot - 2


async def test_requote_refuses_an_old_quote_and_fetches_a_new_one(
    server: FakeJupiter, client: httpx.AsyncClient
) -> None:
    clk = Clock()
    server.clock = clk  # server and crank agree on the time
    v = venue(server, client, clk=clk, max_quote_age_s=20.0)
    route = await quote(v)
    assert v.ensure_fresh(route) is route
    assert await v.requote(route) is route  # fresh: no new request
    assert len(server.requests) == 1

    clk.t += 21  # the quote is now too old
    with pytest.raises(QuoteExpired):
        v.ensure_fresh(route)
    fresh = await v.requote(route)
    assert fresh is not route
    assert len(server.requests) == 2
    assert fresh.quoted_at > route.quoted_at
    assert fresh.request == route.request


# --- Token-2022 output -------------------------------------------------------------------------


async def test_output_transfer_fee_lowers_min_out(
    server: FakeJupiter, client: httpx.AsyncClient
) -> None:
    # Given a Token-2022 model token with a 2% fee from epoch 10 (1% before), at epoch 12
    chain = FakeChain()
    chain.set(MODEL_TOKEN, t22_mint(6, older=Fee(100, 10**12, 0), newer=Fee(200, 10**12, 10)))
    chain.set(CLOCK, clock(epoch=12))
    cfg = JupiterConfig(base_url=server.base_url)
    v = JupiterVenue(client, cfg, account_fetcher=chain.fetch, sleep=no_sleep)
    route = await quote(v)
    out = AMOUNT * 1_234_567_890 // 250_000_000
    threshold = out * (10_000 - SLIPPAGE) // 10_000

    def fee(a: int) -> int:
        return -(-a * 200 // 10_000)

    # Then what arrives is net of the 2% fee, and min_out is the threshold net of its fee
    assert route.expected_out == out - fee(out)
    assert route.min_out == threshold - fee(threshold)


async def test_malformed_lookup_tables_are_refused(
    server: FakeJupiter, client: httpx.AsyncClient
) -> None:
    doc = await served_answer(server, client)
    table = next(iter(doc["addressesByLookupTableAddress"]))
    doc["addressesByLookupTableAddress"][table] = [42]
    server.faults.append(Fault.http(200, doc))
    with pytest.raises(MalformedResponse, match="addressesByLookupTableAddress"):
        await quote(venue(server, client))
    doc["addressesByLookupTableAddress"] = {"not-a-key": []}
    server.faults.append(Fault.http(200, doc))
    with pytest.raises(MalformedResponse, match="not a public key"):
        await quote(venue(server, client))
    # v1: the second call's plain list
    v1 = venue(server, client, JupiterApi.V1)
    await quote(v1)
    ixs = copy.deepcopy(server.responses[-1])
    ixs["addressLookupTableAddresses"] = [None]
    server.faults.extend([Fault("delay"), Fault.http(200, ixs)])
    with pytest.raises(MalformedResponse, match="addressLookupTableAddresses"):
        await quote(v1)


# --- absurd answers (issue 11, item 5) ----------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        # the hostile answer: outAmount 1, no price impact, min_out 1
        (
            {"outAmount": "1", "otherAmountThreshold": "1", "priceImpactPct": "0"},
            "route plan delivers",
        ),
        ({"otherAmountThreshold": "1"}, "is below outAmount"),
        ({"outAmount": "0", "otherAmountThreshold": "0"}, "outAmount is 0"),
        ({"priceImpactPct": "-0.5"}, "priceImpactPct"),
        ({"priceImpactPct": "1.5"}, "priceImpactPct"),
        ({"priceImpactPct": "NaN"}, "priceImpactPct"),
    ],
)
async def test_absurd_quotes_are_refused(
    server: FakeJupiter, client: httpx.AsyncClient, changes: dict[str, str], message: str
) -> None:
    # Given the well-formed answer for our request, made to contradict itself
    doc = await served_answer(server, client)
    doc.update(changes)
    server.faults.append(Fault.http(200, doc))
    # Then it is refused before any route exists
    with pytest.raises(MalformedResponse, match=message):
        await quote(venue(server, client))


async def test_a_consistent_lie_is_refused_by_the_reference_price(
    server: FakeJupiter, client: httpx.AsyncClient
) -> None:
    """An answer priced 1,000x too low everywhere (route plan, threshold) passes the venue's
    own checks; the buyback's reference price, observed over earlier cycles, refuses it at
    every smaller amount too."""
    v = venue(server, client)
    policy = ReferencePolicy()
    history: list[Observation] = []
    for at in (0, 300, 600):
        probe = await quote(v, 1_000_000)
        history = admit(history, Observation(at, probe.in_amount, probe.expected_out), policy)
    reference = reference_price(history, 600, policy)
    assert reference is not None
    server.out_per_in /= 1_000
    lie = await quote(v)
    assert lie.min_out <= lie.expected_out == int(AMOUNT * server.out_per_in)

    async def requote(amount: int) -> Route:
        return await quote(v, amount)

    tolerance = policy.max_deviation_bps
    # (the buyback never shrinks below its threshold; 1 USDC here)
    assert await within_reference(lie, requote, reference, tolerance, smallest=10**6) is None
    # and the honest answer again is accepted at the full amount (this fake has no depth)
    server.out_per_in *= 1_000
    honest = await quote(v)
    assert await within_reference(honest, requote, reference, 25) is honest

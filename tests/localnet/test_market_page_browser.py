"""The market page in a real headless browser (Debian's chromium) against the gateway process
(``bourse-gateway serve``) on the localnet: every listed model's figures in the DOM equal the
chain, a paid call through the gateway (settled by its worker) and a burn show up without a
reload, the gateway's routed models without a token are previewed, model and transaction links
resolve, the keyboard reaches every model, nothing is logged to the console, and screenshots at
desktop and phone widths land in ``artifacts/market-page/`` (gitignored)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from selenium import webdriver
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.keys import Keys

from gateway.market.render import percent, tokens, usdc, utc
from tests.support.browser import browser_missing, chromium, console_errors, full_screenshot
from tests.support.market_chain import USDC, MarketChain, start_market
from tests.support.market_gateway import MarketGateway, market_gateway

pytestmark = pytest.mark.skipif(browser_missing() is not None, reason=str(browser_missing()))

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "market-page"
CHAT, CODER, VISION, PENDING = "acme/chat-1", "acme/coder-2", "vision-3", "acme/pending-4"
PREVIEW = "acme/preview-5"  # approved and routed, no token yet
LISTED = (CHAT, CODER, VISION)
T = TypeVar("T")

CARDS_JS = """
return Array.from(document.querySelectorAll('li.model')).map(li => ({
  slug: li.dataset.slug,
  href: li.querySelector('h3 a').getAttribute('href'),
  facts: Object.fromEntries(Array.from(li.querySelectorAll('[data-field]')).map(
    e => [e.dataset.field, [e.dataset.raw === undefined ? null : e.dataset.raw,
                           e.textContent.trim()]]))
}));
"""


@pytest.fixture(scope="module")
async def chain(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[MarketChain]:
    async with start_market(tmp_path_factory.mktemp("market-browser")) as c:
        await c.list_model(CHAT)
        await c.list_model(CODER, t22=True, fee_bps=800)
        await c.list_model(VISION)
        await c.register_only(PENDING)
        await c.approve_untokenized(PREVIEW)
        await c.pay(CHAT, 3 * USDC, 1_250_001)  # two calls, one batch
        await c.pay(CODER, 2 * USDC)
        await c.buyback(CHAT)
        yield c


@pytest.fixture(scope="module")
async def gateway(
    chain: MarketChain, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[MarketGateway]:
    tmp = tmp_path_factory.mktemp("market-gateway")
    async with market_gateway(chain, [*LISTED, PREVIEW], tmp) as gw:
        yield gw


@pytest.fixture(scope="module")
def site(gateway: MarketGateway) -> str:
    return gateway.url


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    with chromium() as driver:
        yield driver


async def do(fn: Callable[..., T], *args: Any) -> T:
    """Blocking browser calls off the event loop (the localnet serves on it)."""
    return await asyncio.to_thread(fn, *args)


async def eventually(check: Callable[[], Awaitable[bool]], within: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("the page did not show it in time")
        await asyncio.sleep(0.1)


async def cards(browser: webdriver.Chrome) -> dict[str, dict[str, Any]]:
    found: list[dict[str, Any]] = await do(browser.execute_script, CARDS_JS)
    return {c["slug"]: c for c in found}


async def expected_facts(chain: MarketChain, slug: str) -> dict[str, tuple[str, str]]:
    """``field -> (raw, shown)`` as the chain holds it now."""
    _, m = await chain.model(slug)
    supply, vault = await chain.supply(m.mint), await chain.balance(m.revenue_vault)
    bought = await chain.balance(m.buyback_vault)
    t22 = {"transfer_fee_bps": ("100", "1%")} if slug == CODER else {}  # list_model(t22=True)
    return t22 | {
        "vault_balance": (str(vault), usdc(vault)),
        "buyback_vault_balance": (str(bought), tokens(bought, 6)),
        "volume": (str(m.total_volume), usdc(m.total_volume)),
        "settlements": (str(m.settlement_count), f"{m.settlement_count:,}"),
        "creator_fees": (str(m.total_creator_fees), usdc(m.total_creator_fees)),
        "supply": (str(supply), tokens(supply, 6)),
        "tokens_burned": (str(m.tokens_burned), tokens(m.tokens_burned, 6)),
        # every call settled today: the 30-day revenue is the whole volume
        "revenue_window": (str(m.total_volume), usdc(m.total_volume)),
        "last_buyback_ts": (str(m.last_buyback_ts), utc(m.last_buyback_ts)),
        "fee_bps": (str(m.fee_bps), percent(m.fee_bps)),
        "mint": (str(m.mint), f"{str(m.mint)[:4]}…{str(m.mint)[-4:]}"),
    }


async def shown_facts(card: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {k: (v[0], v[1]) for k, v in card["facts"].items() if k != "token_kind"}


async def no_console_errors(browser: webdriver.Chrome) -> None:
    assert await do(console_errors, browser) == []


async def test_every_listed_model_with_chain_figures(
    chain: MarketChain, site: str, browser: webdriver.Chrome
) -> None:
    # When the page is opened
    await do(browser.get, f"{site}/market")
    shown = await cards(browser)
    # Then it has a card for exactly the approved models, each with the chain's figures
    assert set(shown) == set(LISTED)
    for slug in LISTED:
        assert await shown_facts(shown[slug]) == await expected_facts(chain, slug), slug
    assert shown[CHAT]["facts"]["volume"][1] == "4.250001 USDC"
    assert shown[CODER]["facts"]["token_kind"][1] == "Token-2022"
    assert shown[CODER]["facts"]["fee_bps"][1] == "8%"
    burned = int(shown[CHAT]["facts"]["tokens_burned"][0])
    assert burned > 0 and shown[CHAT]["facts"]["tokens_burned"][1].endswith(" tokens")
    # And the market totals, the pending model and the catalog preview
    total = await do(
        browser.execute_script,
        "return document.querySelector('#totals [data-field=volume]').dataset.raw",
    )
    assert int(total) == 6_250_001
    calls = await do(
        browser.execute_script,
        "return document.querySelector('#totals [data-field=settlements]').dataset.raw",
    )
    assert int(calls) == 3  # a batch of two calls and a batch of one
    assert shown[CHAT]["facts"]["settlements"] == ["2", "2"]
    others = await do(browser.execute_script, "return document.querySelector('#others').innerText")
    assert PENDING in others and "pending" in others
    assert PREVIEW not in others  # previewed below instead
    # the gateway's routed model without a token: previewed at its offer's prices
    catalog = await do(
        browser.execute_script,
        "return Array.from(document.querySelectorAll('#catalog li')).map("
        "li => [li.dataset.catalogId, li.innerText])",
    )
    assert [c[0] for c in catalog] == [PREVIEW]
    assert "131,072 tokens" in catalog[0][1]
    assert "3 USDC / M tokens" in catalog[0][1] and "9 USDC / M tokens" in catalog[0][1]
    await no_console_errors(browser)


async def test_settlement_and_burn_appear_without_reload(
    chain: MarketChain, gateway: MarketGateway, browser: webdriver.Chrome
) -> None:
    # Given the page open, marked so that a reload would show
    await do(browser.get, f"{gateway.url}/market")
    await do(browser.execute_script, "window.notReloaded = true;")
    volume = int((await cards(browser))[VISION]["facts"]["volume"][0])
    assert volume == 0
    # When a paid call on the vision model goes through the gateway (its worker settles it)
    key = await gateway.new_key(credit=10 * USDC)
    charged = await gateway.paid_call(VISION, key)
    assert charged > 0

    async def settled() -> bool:
        raw: str = (await cards(browser))[VISION]["facts"]["volume"][0]
        return raw == str(charged)

    # Then the page shows it by itself, as the chain holds it
    await eventually(settled, within=60)
    _, model = await chain.model(VISION)
    assert (model.total_volume, model.settlement_count) == (charged, 1)
    # When a batch settled directly fills the revenue vault and the crank buys back and burns
    # (the paid call's creator fee alone is below the crank's price-impact bound)
    await chain.pay(VISION, 2_000_000)
    report = await chain.buyback(VISION)
    assert report.tokens_burned > 0

    async def burned() -> bool:
        raw: str = (await cards(browser))[VISION]["facts"]["tokens_burned"][0]
        return raw == str(report.tokens_burned)

    await eventually(burned)
    shown = await cards(browser)
    assert await shown_facts(shown[VISION]) == await expected_facts(chain, VISION)
    assert await do(browser.execute_script, "return window.notReloaded === true")
    status = await do(
        browser.execute_script, "return document.getElementById('live-status').innerText"
    )
    assert status.startswith("Updated")
    await no_console_errors(browser)


async def test_model_pages_and_their_transactions_resolve(
    chain: MarketChain, site: str, browser: webdriver.Chrome
) -> None:
    await do(browser.get, f"{site}/market")
    links = {slug: c["href"] for slug, c in (await cards(browser)).items()}
    assert links[CHAT] == "/market/acme/chat-1"
    for slug, href in links.items():
        await do(browser.get, site + href)
        title = await do(browser.execute_script, "return document.querySelector('h1').innerText")
        assert title.startswith(slug)
        facts = await do(
            browser.execute_script,
            "return Object.fromEntries(Array.from(document.querySelectorAll('#facts dd'))"
            ".map(e => [e.dataset.field, e.dataset.raw]))",
        )
        _, m = await chain.model(slug)
        assert int(facts["volume"]) == m.total_volume
        assert int(facts["tokens_burned"]) == m.tokens_burned
        assert int(facts["settlements"]) == m.settlement_count
        assert facts["address"] == str(chain.session.market.model(slug))
    # The chat model's history links each event to its transaction
    await do(browser.get, f"{site}/market/{CHAT}")
    rows = await do(
        browser.execute_script,
        "return Array.from(document.querySelectorAll('#history tbody tr')).map(r => "
        "[r.dataset.event, r.querySelector('a').getAttribute('href'),"
        " r.cells[2].innerText.trim()])",
    )
    events = [e for e, _, _ in rows]
    assert "TokensBurned" in events and "PaymentSettled" not in events
    # the two paid calls, settled in one batch: its count, total and split as the chain paid
    (batch,) = [text for e, _, text in rows if e == "BatchSettled"]
    _, m = await chain.model(CHAT)
    assert batch == (
        f"batch 0: 2 calls, {usdc(m.total_volume)}: provider {usdc(m.total_provider_payouts)},"
        f" creator {usdc(m.total_creator_fees)}, protocol {usdc(m.total_protocol_fees)}"
    )
    burn_href = next(h for e, h, _ in rows if e == "TokensBurned")
    await do(browser.get, site + burn_href)
    shown = await do(
        browser.execute_script,
        "return [document.querySelector('[data-field=signature]').innerText,"
        " Array.from(document.querySelectorAll('#events li')).map(e => e.dataset.event)]",
    )
    assert burn_href.endswith(shown[0]) and "TokensBurned" in shown[1]
    await no_console_errors(browser)


async def test_keyboard_reaches_and_opens_a_model(site: str, browser: webdriver.Chrome) -> None:
    await do(browser.get, f"{site}/market")
    target = f"model-{CHAT}"

    def tab_to_target() -> list[str]:
        seen: list[str] = []
        body = browser.find_element("tag name", "body")
        body.click()
        for _ in range(40):
            ActionChains(browser).send_keys(Keys.TAB).perform()
            active = browser.switch_to.active_element
            seen.append(active.get_attribute("id") or active.tag_name)
            if seen[-1] == target:
                ActionChains(browser).send_keys(Keys.ENTER).perform()
                break
        return seen

    seen = await do(tab_to_target)
    assert seen[-1] == target, seen

    async def opened() -> bool:
        url: str = await do(lambda: browser.current_url)
        return url.endswith(f"/market/{CHAT}")

    await eventually(opened, within=10)
    await no_console_errors(browser)


@pytest.mark.parametrize(("name", "width", "height"), [("desktop", 1280, 900), ("phone", 390, 844)])
async def test_screenshots_and_phone_width(
    site: str, browser: webdriver.Chrome, name: str, width: int, height: int
) -> None:
    await do(browser.set_window_size, width, height)
    try:
        for page, path in (("market", "/market"), ("model", f"/market/{CHAT}")):
            await do(browser.get, site + path)
            inner = await do(browser.execute_script, "return window.innerWidth")
            wide = await do(browser.execute_script, "return document.documentElement.scrollWidth")
            # readable at this width: nothing wider than the screen
            assert wide <= inner, (page, wide, inner)
            shot = ARTIFACTS / f"{page}-{name}.png"
            await do(full_screenshot, browser, shot)
            assert shot.stat().st_size > 10_000
        await no_console_errors(browser)
    finally:
        await do(browser.set_window_size, 1280, 900)

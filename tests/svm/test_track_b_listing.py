"""Track B listing: a coin launched through ClawPump (its documented HTTP API, served
locally) or made like pump.fun's ``create_v2`` is verified (fixed supply, no freeze
authority, no Token-2022 extension beyond the two metadata ones), then registered, approved
with its mint pinned and tokenized. The ClawPump client's failures are typed."""

from __future__ import annotations

import re

import httpx
import pytest
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from spl.token.constants import TOKEN_PROGRAM_ID

from bourse_chain.generated.compute_market.accounts import Model
from bourse_chain.generated.compute_market.types import TokenKind
from bourse_ops import clawpump
from bourse_ops.sandbox import pump_venue
from bourse_ops.track_b import MintNotListable, check_mint_data
from tests.fakes._server import Fault
from tests.fakes.clawpump_server import FakeClawPump
from tests.security import kit
from tests.security.kit import World

WSOL = Pubkey.from_string("So11111111111111111111111111111111111111112")
KEY = "agent-key-1"


def _request(wallet: Pubkey, agent: str = "agent-7") -> clawpump.LaunchRequest:
    return clawpump.LaunchRequest(
        name="Acme Llama",
        symbol="LLAMA",
        description="Buybacks from every paid inference call",
        image_url="https://img.example/llama.png",
        agent_id=agent,
        agent_name="Acme",
        wallet=wallet,
    )


def _check(w: World, mint: Pubkey) -> tuple[str, tuple[int, ...], int, int]:
    acc = w.c.svm.get_account(mint)
    assert acc is not None
    return check_mint_data(bytes(acc.data), acc.owner)


async def test_clawpump_launch_then_list_with_the_pinned_mint() -> None:
    w = World()
    venue = pump_venue.install(w.c)

    def launcher(name: str, symbol: str, wallet: str) -> str:
        coin = pump_venue.launch(
            w.c, venue, Pubkey.from_string(wallet), token2022=False, quote_mint=WSOL
        )
        return str(coin.mint)

    async with FakeClawPump(KEY, launcher) as server, httpx.AsyncClient() as http:
        client = clawpump.ClawPumpClient(http, KEY, server.base_url)
        image = await client.upload_image(b"\x89PNG fake", "llama.png")
        req = _request(w.creator.pubkey())
        launch = await client.launch(clawpump.LaunchRequest(**{**req.__dict__, "image_url": image}))
        body = server.requests[-1].body
        assert body["walletAddress"] == str(w.creator.pubkey()) and body["imageUrl"] == image
        assert server.requests[-1].headers["authorization"] == f"Bearer {KEY}"
    mint = launch.mint
    kind, exts, supply, decimals = _check(w, mint)
    assert (kind, exts, supply, decimals) == ("spl", (), pump_venue.TOTAL_SUPPLY, 6)

    # register -> approve (pins the mint) -> tokenize
    w.register("claw", 500, w.creator, approve=False)
    w.approve("claw", mint)
    w.c.send([w.m.tokenize_model(w.creator.pubkey(), "claw", mint, TOKEN_PROGRAM_ID)], [w.creator])
    data = w.c.data(w.model("claw"))
    assert data is not None
    model = Model.decode(data)
    assert model.mint == mint and model.approved_mint == mint
    assert model.token_kind == TokenKind.SPL

    # another approved creator cannot attach the same coin to its model
    w.register("copycat", 500, w.creator2, approve=True)
    before = w.c.snapshot([w.model("copycat")])
    err = w.c.fails(
        [w.m.tokenize_model(w.creator2.pubkey(), "copycat", mint, TOKEN_PROGRAM_ID)],
        [w.creator2],
    )
    assert err.custom_code is not None
    assert w.c.snapshot([w.model("copycat")]) == before


def test_create_v2_style_mints_pass_and_others_are_refused() -> None:
    w = World()
    c, payer = w.c, w.c.payer.pubkey()
    ok = kit.create_t22_mint(c, [kit.ext_metadata_pointer(payer, Pubkey.default())])
    assert _check(w, ok)[0] == "token2022" and _check(w, ok)[1] == (18,)
    plain_t22 = kit.create_t22_mint(c, [])
    assert _check(w, plain_t22)[:2] == ("token2022", ())
    assert _check(w, kit.create_spl_mint(c))[0] == "spl"
    refused = {
        "extensions [1]": kit.create_t22_mint(c, [kit.ext_transfer_fee(payer, payer, 100, 10)]),
        "extensions [12]": kit.create_t22_mint(c, [kit.ext_permanent_delegate(payer)]),
        "mint authority": kit.create_t22_mint(c, [], revoke_mint_authority=False),
        "freeze authority": kit.create_spl_mint(c, freeze_authority=payer),
        "supply is not fixed": kit.create_spl_mint(c, mint_authority=payer),
    }
    for reason, mint in refused.items():
        with pytest.raises(MintNotListable, match=re.escape(reason)):
            _check(w, mint)
    with pytest.raises(MintNotListable, match="not a token program"):
        check_mint_data(bytes(82), Keypair().pubkey())


async def test_clawpump_failures_are_typed() -> None:
    made: list[str] = []

    def launcher(name: str, symbol: str, wallet: str) -> str:
        made.append(name)
        return str(Keypair().pubkey())

    wallet = Keypair().pubkey()
    async with FakeClawPump(KEY, launcher) as server, httpx.AsyncClient() as http:
        good = clawpump.ClawPumpClient(http, KEY, server.base_url)
        bad = clawpump.ClawPumpClient(http, "wrong", server.base_url)
        with pytest.raises(clawpump.ClawPumpUnauthorized):
            await bad.launch(_request(wallet))
        first = await good.launch(_request(wallet))
        with pytest.raises(clawpump.ClawPumpRateLimited, match="one launch per agent per day"):
            await good.launch(_request(wallet))
        server.today = lambda: "2099-01-01"
        second = await good.launch(_request(wallet))
        assert first.mint != second.mint and len(made) == 2
        server.treasury_low = True
        with pytest.raises(clawpump.ClawPumpUnavailable) as e:
            await good.launch(_request(wallet, "agent-8"))
        assert e.value.status == 503
        server.treasury_low = False
        server.faults.append(Fault.malformed())
        with pytest.raises(clawpump.ClawPumpMalformed):
            await good.launch(_request(wallet, "agent-9"))
        with pytest.raises(clawpump.ClawPumpError):
            await good.launch(clawpump.LaunchRequest(**{**_request(wallet).__dict__, "name": ""}))
    async with httpx.AsyncClient() as http:
        gone = clawpump.ClawPumpClient(http, KEY, "http://127.0.0.1:9")
        with pytest.raises(clawpump.ClawPumpUnavailable):
            await gone.launch(_request(wallet))
    assert len(made) == 2  # no failed request made a coin

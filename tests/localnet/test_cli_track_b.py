"""``bourse model check-coin`` / ``attach`` on a localnet with pump.fun's stand-in: a
USDC-paired coin is reported listable with the curve as its venue, then registered,
approved with its mint pinned and attached; a coin with a freeze authority is refused in one
line, and attaching before the approval names the coin is refused too."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from solders.keypair import Keypair
from solders.system_program import CreateAccountParams, create_account
from spl.token import models as spl_models
from spl.token.constants import TOKEN_PROGRAM_ID
from spl.token.instructions import initialize_mint2

from bourse_chain import mints
from bourse_ops.sandbox import pump_venue
from bourse_ops.sandbox.svm_chain import BIN
from localnet import Localnet
from localnet.net import ThreadedLocalnet
from tests.support.cli import Bourse

pytestmark = pytest.mark.skipif(
    not (BIN / "pump_standin.so").exists(), reason="programs not built (python -m program.build)"
)


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadedLocalnet]:
    with Localnet.start_in_thread(port=0, workdir=tmp_path_factory.mktemp("cli-track-b")) as n:
        yield n


def test_check_coin_then_attach(net: ThreadedLocalnet) -> None:
    bourse = Bourse(net.rpc_url, net.workdir)
    assert bourse("admin", "init", keypair="admin").code == 0
    keys = net.keypairs
    assert net.net.chain is not None
    chain = pump_venue.LocalnetChain(net.net.chain, keys["payer"], keys["admin"], net.usdc_mint)
    coin = pump_venue.launch(chain, pump_venue.install(chain), keys["creator"].pubkey())
    mint = str(coin.mint)

    got = bourse("model", "check-coin", mint).json()
    assert (got["kind"], got["supply"], got["decimals"]) == ("token2022", 10**15, 6)
    assert got["market"]["venue"] == "pump_curve" and not got["market"]["complete"]
    assert got["market"]["quote_mint"] == str(net.usdc_mint)
    table = bourse("model", "check-coin", mint, output="table")
    assert table.code == 0 and "pump_curve" in table.stdout

    assert bourse("model", "register", "pumpy", "--fee-bps", "500", keypair="creator").code == 0
    early = bourse("model", "attach", "pumpy", "--mint", mint, keypair="creator")
    assert early.code == 1 and "approve" in early.stderr
    assert bourse("admin", "approve", "pumpy", "--mint", mint, keypair="admin").code == 0
    attached = bourse("model", "attach", "pumpy", "--mint", mint, keypair="creator").json()
    assert attached["mint"] == mint and attached["token_kind"] == "token2022"

    # a coin someone can freeze is refused in one line
    frozen = Keypair()
    payer = keys["payer"].pubkey()
    chain.send(
        [
            create_account(
                CreateAccountParams(
                    from_pubkey=payer,
                    to_pubkey=frozen.pubkey(),
                    lamports=mints.rent_exempt_lamports(82),
                    space=82,
                    owner=TOKEN_PROGRAM_ID,
                )
            ),
            initialize_mint2(
                spl_models.InitializeMint2Params(
                    decimals=6,
                    program_id=TOKEN_PROGRAM_ID,
                    mint=frozen.pubkey(),
                    mint_authority=payer,
                    freeze_authority=payer,
                )
            ),
        ],
        [frozen],
    )
    refused = bourse("model", "check-coin", str(frozen.pubkey()))
    assert refused.code == 1 and refused.stdout == ""
    assert "mint authority is still set" in refused.stderr
    assert len(refused.stderr.splitlines()) == 1

"""A LiteSVM chain with both programs deployed through the real upgradeable
loader, for fast in-process tests (tests/svm). The JSON-RPC tier
(tests/localnet) drives the same programs through solana-py instead."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.litesvm import LiteSVM
from solders.message import Message
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction
from solders.transaction_metadata import FailedTransactionMetadata, TransactionMetadata
from solders.transaction_status import InstructionErrorCustom, TransactionErrorInstructionError
from spl.token import models as spl_models
from spl.token.constants import TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID
from spl.token.instructions import (
    create_associated_token_account,
    get_associated_token_address,
    mint_to_checked,
)

from bourse_chain import mints, pools, token_layout
from bourse_chain.generated.compute_market.events import events_from_logs
from bourse_chain.market import Market
from localnet.loader import deploy_upgradeable
from localnet.programs import BIN_DIR, KEYS_DIR

BIN = BIN_DIR
KEYS = KEYS_DIR


def load_keypair(path: Path) -> Keypair:
    return Keypair.from_bytes(bytes(json.loads(path.read_text())))


class TxFailed(AssertionError):
    def __init__(self, meta: FailedTransactionMetadata) -> None:
        self.meta = meta
        self.logs = list(meta.meta().logs())
        super().__init__(f"{meta.err()}\n" + "\n".join(self.logs))

    @property
    def custom_code(self) -> int | None:
        err = self.meta.err()
        if isinstance(err, TransactionErrorInstructionError) and isinstance(
            err.err, InstructionErrorCustom
        ):
            return int(err.err.code)
        return None


@dataclass
class SvmChain:
    svm: LiteSVM
    payer: Keypair
    admin: Keypair
    usdc_mint: Pubkey
    usdc_authority: Keypair
    cu_log: dict[str, list[int]] = field(default_factory=dict)

    # -- transactions --------------------------------------------------------------------

    def send(
        self, ixs: Sequence[Instruction], signers: Sequence[Keypair], payer: Keypair | None = None
    ) -> TransactionMetadata:
        fee_payer = payer or self.payer
        unique: dict[Pubkey, Keypair] = {fee_payer.pubkey(): fee_payer}
        for s in signers:
            unique.setdefault(s.pubkey(), s)
        msg = Message.new_with_blockhash(list(ixs), fee_payer.pubkey(), self.svm.latest_blockhash())
        tx = VersionedTransaction(msg, list(unique.values()))
        res = self.svm.send_transaction(tx)
        self.svm.expire_blockhash()
        if isinstance(res, FailedTransactionMetadata):
            raise TxFailed(res)
        return res

    def fails(
        self, ixs: Sequence[Instruction], signers: Sequence[Keypair], payer: Keypair | None = None
    ) -> TxFailed:
        try:
            self.send(ixs, signers, payer)
        except TxFailed as e:
            return e
        raise AssertionError("transaction unexpectedly succeeded")

    # -- accounts ------------------------------------------------------------------------

    def data(self, address: Pubkey) -> bytes | None:
        acc = self.svm.get_account(address)
        if acc is None or acc.lamports == 0:
            return None
        return bytes(acc.data)

    def existing_data(self, address: Pubkey) -> bytes:
        """The data of an account that must exist (``AssertionError`` if it does not)."""
        data = self.data(address)
        assert data is not None, f"account {address} does not exist"
        return data

    def lamports(self, address: Pubkey) -> int:
        acc = self.svm.get_account(address)
        return 0 if acc is None else acc.lamports

    def token_balance(self, address: Pubkey) -> int:
        d = self.data(address)
        return 0 if d is None else token_layout.token_amount(d)

    def mint_supply(self, mint: Pubkey) -> int:
        return token_layout.decode_mint(self.existing_data(mint)).supply

    def snapshot(self, addresses: Sequence[Pubkey]) -> dict[Pubkey, tuple[int, bytes]]:
        """Lamports and data of each address, to prove a failed tx moved nothing."""
        out = {}
        for a in addresses:
            acc = self.svm.get_account(a)
            out[a] = (0, b"") if acc is None else (acc.lamports, bytes(acc.data))
        return out

    # -- funding -------------------------------------------------------------------------

    def new_wallet(self, sol: int = 10, usdc: int = 0) -> Keypair:
        kp = Keypair()
        self.svm.airdrop(kp.pubkey(), sol * 1_000_000_000)
        if usdc:
            self.fund_usdc(kp.pubkey(), usdc)
        return kp

    def ata(self, owner: Pubkey, mint: Pubkey, token_program: Pubkey = TOKEN_PROGRAM_ID) -> Pubkey:
        address = get_associated_token_address(owner, mint, token_program)
        if self.data(address) is None:
            self.send(
                [create_associated_token_account(self.payer.pubkey(), owner, mint, token_program)],
                [],
            )
        return address

    def fund_usdc(self, owner: Pubkey, amount: int) -> Pubkey:
        dest = self.ata(owner, self.usdc_mint)
        self.send(
            [
                mint_to_checked(
                    spl_models.MintToCheckedParams(
                        program_id=TOKEN_PROGRAM_ID,
                        mint=self.usdc_mint,
                        dest=dest,
                        mint_authority=self.usdc_authority.pubkey(),
                        amount=amount,
                        decimals=6,
                        signers=[],
                    )
                )
            ],
            [self.usdc_authority],
        )
        return dest

    def create_model_mint(
        self,
        creator: Pubkey,
        supply: int,
        *,
        token2022: bool = False,
        fee: mints.TransferFeeSetup | None = None,
    ) -> Pubkey:
        mint = Keypair()
        if token2022 or fee:
            mm = mints.token2022_model_mint(
                self.payer.pubkey(), mint.pubkey(), creator, supply, 6, fee
            )
        else:
            mm = mints.spl_model_mint(self.payer.pubkey(), mint.pubkey(), creator, supply, 6)
        self.send(mm.instructions, [mint])
        return mint.pubkey()

    def seed_pool(
        self,
        depositor: Keypair,
        mint: Pubkey,
        token_program: Pubkey,
        tokens: int,
        usdc: int,
        fee_bps: int = 30,
    ) -> pools.PoolAddresses:
        """Create the cp_pool pool of ``mint`` against USDC and deposit ``tokens`` (from the
        depositor's associated account) and ``usdc`` (minted to the depositor first)."""
        token = pools.Side(mint, token_program, self.ata(depositor.pubkey(), mint, token_program))
        cash = pools.Side(
            self.usdc_mint, TOKEN_PROGRAM_ID, self.fund_usdc(depositor.pubkey(), usdc)
        )
        self.send([pools.create_pool(self.payer.pubkey(), token, cash, fee_bps)], [])
        self.send([pools.add_liquidity(depositor.pubkey(), token, tokens, cash, usdc)], [depositor])
        return pools.pool_addresses(mint, self.usdc_mint)

    def events(self, meta: TransactionMetadata) -> list[object]:
        return list(events_from_logs(list(meta.logs())))


def new_chain() -> SvmChain:
    svm = LiteSVM()
    payer = Keypair()
    admin = Keypair()
    svm.airdrop(payer.pubkey(), 1_000 * 1_000_000_000)
    svm.airdrop(admin.pubkey(), 100 * 1_000_000_000)
    for name in ("compute_market", "cp_pool"):
        deploy_upgradeable(
            svm,
            payer,
            load_keypair(KEYS / f"{name}-keypair.json"),
            (BIN / f"{name}.so").read_bytes(),
            admin,
        )
    usdc_authority = Keypair()
    svm.airdrop(usdc_authority.pubkey(), 10 * 1_000_000_000)
    chain = SvmChain(svm, payer, admin, Pubkey.default(), usdc_authority)
    usdc = Keypair()
    from solders.system_program import CreateAccountParams, create_account
    from spl.token.instructions import initialize_mint2

    chain.send(
        [
            create_account(
                CreateAccountParams(
                    from_pubkey=payer.pubkey(),
                    to_pubkey=usdc.pubkey(),
                    lamports=mints.rent_exempt_lamports(token_layout.MINT_LEN),
                    space=token_layout.MINT_LEN,
                    owner=TOKEN_PROGRAM_ID,
                )
            ),
            initialize_mint2(
                spl_models.InitializeMint2Params(
                    decimals=6,
                    program_id=TOKEN_PROGRAM_ID,
                    mint=usdc.pubkey(),
                    mint_authority=usdc_authority.pubkey(),
                    freeze_authority=None,
                )
            ),
        ],
        [usdc],
    )
    chain.usdc_mint = usdc.pubkey()
    return chain


__all__ = [
    "TOKEN_2022_PROGRAM_ID",
    "TOKEN_PROGRAM_ID",
    "Market",
    "SvmChain",
    "TxFailed",
    "new_chain",
]

// Solana Pay (@solana/pay 0.2 on web3.js v1), as a merchant integrates it: createTransfer with
// a reference (SOL, then USDC), sendAndConfirmTransaction, findReference
// (getSignaturesForAddress) and validateTransfer (getTransaction: balances, token balances).
"use strict";
const web3 = require("@solana/web3.js");
const BigNumber = require("bignumber.js");
const { createTransfer, findReference, validateTransfer } = require("@solana/pay");
const { readInput, secretKey, run } = require("./common");

async function pay(connection, payer, fields) {
  const reference = web3.Keypair.generate().publicKey;
  const request = { ...fields, reference };
  const transaction = await createTransfer(connection, payer.publicKey, request, { commitment: "confirmed" });
  const signature = await web3.sendAndConfirmTransaction(connection, transaction, [payer], {
    commitment: "confirmed",
  });
  const found = await findReference(connection, reference, { finality: "confirmed" });
  await validateTransfer(connection, found.signature, request, { commitment: "confirmed" });
  return { signature, found: found.signature, reference: reference.toBase58() };
}

async function main() {
  const input = readInput();
  const connection = new web3.Connection(input.rpc_url, "confirmed");
  const payer = web3.Keypair.fromSecretKey(secretKey(input.keypairs.payer));
  const recipient = new web3.PublicKey(input.recipient);
  const sol = await pay(connection, payer, { recipient, amount: new BigNumber("0.01"), memo: "bourse-sol" });
  const usdc = await pay(connection, payer, {
    recipient,
    amount: new BigNumber("1.23"),
    splToken: new web3.PublicKey(input.usdc_mint),
    memo: "bourse-usdc",
  });
  return { sol, usdc };
}

run(main);

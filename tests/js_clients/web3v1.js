// @solana/web3.js v1: sendAndConfirmTransaction (default, `confirmed`, `finalized`),
// onAccountChange and onLogs, against the localnet's JSON-RPC and its PubSub at port + 1
// (the WebSocket URL is derived by web3.js itself).
"use strict";
const web3 = require("@solana/web3.js");
const { readInput, secretKey, within, run } = require("./common");

const WAIT_MS = 15000;

async function main() {
  const input = readInput();
  const connection = new web3.Connection(input.rpc_url);
  const payer = web3.Keypair.fromSecretKey(secretKey(input.keypairs.payer));
  const recipient = web3.Keypair.generate().publicKey;

  const account = new Promise((resolve) => {
    connection.onAccountChange(
      recipient,
      (info, ctx) => resolve({ lamports: info.lamports, owner: info.owner.toBase58(), slot: ctx.slot }),
      "confirmed",
    );
  });
  const logs = new Promise((resolve) => {
    connection.onLogs(
      recipient,
      (entry, ctx) => resolve({ signature: entry.signature, err: entry.err, logs: entry.logs, slot: ctx.slot }),
      "confirmed",
    );
  });
  // Subscriptions go out in order on one socket: a slot notification after them means the
  // server has registered all three.
  await within(
    new Promise((resolve) => {
      const id = connection.onSlotChange(() => {
        connection.removeSlotChangeListener(id);
        resolve();
      });
    }),
    WAIT_MS,
    "first slot notification",
  );

  const transfer = (lamports) =>
    new web3.Transaction().add(
      web3.SystemProgram.transfer({ fromPubkey: payer.publicKey, toPubkey: recipient, lamports }),
    );
  // web3.js's default (no commitment), then `confirmed`, then `finalized`.
  const sends = [];
  for (const [commitment, lamports] of [[null, 1_000_000], ["confirmed", 2_000_000], ["finalized", 4_000_000]]) {
    const started = Date.now();
    const options = commitment ? { commitment } : undefined;
    const signature = await web3.sendAndConfirmTransaction(connection, transfer(lamports), [payer], options);
    const ms = Date.now() - started;
    const status = (await connection.getSignatureStatus(signature)).value;
    sends.push({ commitment, signature, ms, status: status && status.confirmationStatus });
  }

  // What explorers and Solana Pay's findReference call: parsed transaction, block, history.
  const first = sends[0].signature;
  const parsed = await connection.getParsedTransaction(first, {
    commitment: "confirmed",
    maxSupportedTransactionVersion: 0,
  });
  const slot = parsed.slot;
  let block = null;
  for (let i = 0; i < 50 && block === null; i++) {
    try {
      block = await connection.getBlock(slot, { maxSupportedTransactionVersion: 0 });
    } catch (err) {
      await new Promise((resolve) => setTimeout(resolve, 100)); // not finalized yet
    }
  }
  const history = await connection.getSignaturesForAddress(recipient, { limit: 2 }, "confirmed");
  const older = await connection.getSignaturesForAddress(
    recipient,
    { before: history[history.length - 1].signature },
    "confirmed",
  );

  const accountNotification = await within(account, WAIT_MS, "onAccountChange");
  const logsNotification = await within(logs, WAIT_MS, "onLogs");
  return {
    recipient: recipient.toBase58(),
    sends,
    parsed: {
      slot,
      fee_payer: parsed.transaction.message.accountKeys[0].pubkey.toBase58(),
      fee_payer_signer: parsed.transaction.message.accountKeys[0].signer,
      program: parsed.transaction.message.instructions[0].programId.toBase58(),
      fee: parsed.meta.fee,
    },
    block_signatures: block ? block.transactions.map((t) => t.transaction.signatures[0]) : null,
    block_height: block ? block.blockHeight : null,
    history: history.map((h) => h.signature),
    older: older.map((h) => h.signature),
    account: accountNotification,
    logs: logsNotification,
  };
}

run(main);

// @solana/kit: sendAndConfirmTransactionFactory over createSolanaRpc +
// createSolanaRpcSubscriptions (confirmed and finalized), and accountNotifications.
"use strict";
const kit = require("@solana/kit");
const { readInput, secretKey, within, transferData, run } = require("./common");

const WAIT_MS = 15000;
const SYSTEM_PROGRAM = kit.address("11111111111111111111111111111111");

async function main() {
  const input = readInput();
  const rpc = kit.createSolanaRpc(input.rpc_url);
  const rpcSubscriptions = kit.createSolanaRpcSubscriptions(input.ws_url);
  const payer = await kit.createKeyPairSignerFromBytes(secretKey(input.keypairs.payer));
  const recipient = (await kit.generateKeyPairSigner()).address;
  const sendAndConfirm = kit.sendAndConfirmTransactionFactory({ rpc, rpcSubscriptions });

  const abort = new AbortController();
  const notifications = await rpcSubscriptions
    .accountNotifications(recipient, { commitment: "confirmed", encoding: "base64" })
    .subscribe({ abortSignal: abort.signal });
  const firstAccountNotification = (async () => {
    for await (const n of notifications) {
      return { lamports: Number(n.value.lamports), slot: Number(n.context.slot), owner: n.value.owner };
    }
    return null;
  })();

  const results = [];
  for (const [commitment, lamports] of [["confirmed", 3_000_000], ["finalized", 4_000_000]]) {
    const { value: latest } = await rpc.getLatestBlockhash({ commitment: "confirmed" }).send();
    const message = kit.pipe(
      kit.createTransactionMessage({ version: 0 }),
      (m) => kit.setTransactionMessageFeePayerSigner(payer, m),
      (m) => kit.setTransactionMessageLifetimeUsingBlockhash(latest, m),
      (m) =>
        kit.appendTransactionMessageInstruction(
          {
            programAddress: SYSTEM_PROGRAM,
            accounts: [
              { address: payer.address, role: kit.AccountRole.WRITABLE_SIGNER, signer: payer },
              { address: recipient, role: kit.AccountRole.WRITABLE },
            ],
            data: new Uint8Array(transferData(lamports)),
          },
          m,
        ),
    );
    const signed = await kit.signTransactionMessageWithSigners(message);
    const started = Date.now();
    await within(sendAndConfirm(signed, { commitment }), WAIT_MS, `sendAndConfirm ${commitment}`);
    const ms = Date.now() - started;
    const signature = kit.getSignatureFromTransaction(signed);
    const { value: statuses } = await rpc.getSignatureStatuses([signature]).send();
    results.push({ commitment, signature, ms, status: statuses[0] && statuses[0].confirmationStatus });
  }
  const account = await within(firstAccountNotification, WAIT_MS, "accountNotifications");
  abort.abort();
  return { recipient, sends: results, account };
}

run(main);

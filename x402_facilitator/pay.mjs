// The npm @x402/fetch client paying a URL, for tests.
// Usage: node pay.mjs <payer-keypair.json> <rpc-url> <url> <asset> <max-atomic-amount> [json-body]
// Prints {"status", "body", "settlement"} (settlement: the decoded PAYMENT-RESPONSE, or null).
import { readFileSync } from "node:fs";
import { createKeyPairSignerFromBytes } from "@solana/kit";
import { decodePaymentResponseHeader, wrapFetchWithPayment, x402Client } from "@x402/fetch";
import { ExactSvmScheme } from "@x402/svm/exact/client";

const [keypairPath, rpcUrl, url, asset, maxAmount, body] = process.argv.slice(2);
const signer = await createKeyPairSignerFromBytes(
  new Uint8Array(JSON.parse(readFileSync(keypairPath, "utf8"))),
);
const client = new x402Client();
client.register("solana:*", new ExactSvmScheme(signer, { rpcUrl }));
// Our localnet mint is not a default asset: allow it explicitly, with a per-payment cap.
client.setSpendControls({ allowedAssets: [{ network: "solana:*", asset, maxAmountPerPayment: maxAmount }] });

const fetchWithPay = wrapFetchWithPayment(globalThis.fetch, client);
const res = await fetchWithPay(url, {
  method: "POST",
  headers: { "Content-Type": "application/json" },
  body: body ?? "{}",
});
const header = res.headers.get("payment-response") ?? res.headers.get("x-payment-response");
console.log(JSON.stringify({
  status: res.status,
  body: await res.text(),
  settlement: header ? decodePaymentResponseHeader(header) : null,
}));

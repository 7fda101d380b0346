// A real x402 facilitator (@x402/core + @x402/svm) over HTTP, for bourse demo and the tests: GET /supported,
// POST /verify, POST /settle. Usage: node facilitator.mjs <fee-payer-keypair.json> <rpc-url>
// Prints {"url": ...} on stdout once listening (port chosen by the OS).
import http from "node:http";
import { readFileSync } from "node:fs";
import { createKeyPairSignerFromBytes } from "@solana/kit";
import { x402Facilitator } from "@x402/core/facilitator";
import { toFacilitatorSvmSigner } from "@x402/svm";
import { registerExactSvmScheme } from "@x402/svm/exact/facilitator";

const [keypairPath, rpcUrl] = process.argv.slice(2);
const bytes = new Uint8Array(JSON.parse(readFileSync(keypairPath, "utf8")));
const signer = await createKeyPairSignerFromBytes(bytes);
const facilitator = registerExactSvmScheme(new x402Facilitator(), {
  signer: toFacilitatorSvmSigner(signer, { defaultRpcUrl: rpcUrl }),
  networks: ["solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1"], // the localnet, labelled devnet
});

const json = (res, status, value) => {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(value, (_, v) => (typeof v === "bigint" ? v.toString() : v)));
};

const server = http.createServer(async (req, res) => {
  try {
    if (req.method === "GET" && req.url === "/supported") return json(res, 200, facilitator.getSupported());
    if (req.method !== "POST" || !["/verify", "/settle"].includes(req.url)) return json(res, 404, { error: "not found" });
    let raw = "";
    for await (const chunk of req) raw += chunk;
    const { paymentPayload, paymentRequirements } = JSON.parse(raw);
    const answer = req.url === "/verify"
      ? await facilitator.verify(paymentPayload, paymentRequirements)
      : await facilitator.settle(paymentPayload, paymentRequirements);
    json(res, 200, answer);
  } catch (error) {
    json(res, 500, { error: String(error?.message ?? error) });
  }
});
server.listen(0, "127.0.0.1", () => {
  console.log(JSON.stringify({ url: `http://127.0.0.1:${server.address().port}` }));
});
process.on("SIGTERM", () => server.close(() => process.exit(0)));

// Reads {kind, ...} as JSON on stdin; answers with the instruction the public pump.fun SDK
// (@pump-fun/pump-sdk) builds: {programId, keys: [{pubkey, isSigner, isWritable}], data (hex)}.
"use strict";
const { PUMP_SDK } = require("@pump-fun/pump-sdk");
const { PublicKey } = require("@solana/web3.js");

async function main(input) {
  const q = JSON.parse(input);
  const pk = (s) => new PublicKey(s);
  let ix;
  if (q.kind === "create_v2") {
    ix = await PUMP_SDK.createV2Instruction({
      mint: pk(q.mint),
      name: q.name,
      symbol: q.symbol,
      uri: q.uri,
      creator: pk(q.creator),
      user: pk(q.user),
      mayhemMode: false,
      quoteMint: pk(q.quoteMint),
    });
  } else {
    throw new Error(`unknown kind ${q.kind}`);
  }
  process.stdout.write(
    JSON.stringify({
      programId: ix.programId.toBase58(),
      keys: ix.keys.map((k) => ({
        pubkey: k.pubkey.toBase58(),
        isSigner: k.isSigner,
        isWritable: k.isWritable,
      })),
      data: Buffer.from(ix.data).toString("hex"),
    })
  );
}

let buf = "";
process.stdin.on("data", (d) => (buf += d));
process.stdin.on("end", () => main(buf).catch((e) => { console.error(e); process.exit(1); }));

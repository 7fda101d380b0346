// Shared by the client scripts: input on stdin, one JSON result on stdout, bounded waits.
"use strict";
const fs = require("fs");

function readInput() {
  return JSON.parse(fs.readFileSync(0, "utf8"));
}

function secretKey(path) {
  return Uint8Array.from(JSON.parse(fs.readFileSync(path, "utf8")));
}

// Resolves with the promise's value, or rejects after `ms` naming what did not happen.
function within(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// A system-program transfer's instruction data: u32 LE 2, u64 LE lamports.
function transferData(lamports) {
  const data = Buffer.alloc(12);
  data.writeUInt32LE(2, 0);
  data.writeBigUInt64LE(BigInt(lamports), 4);
  return data;
}

function run(main) {
  main()
    .then((result) => {
      process.stdout.write(JSON.stringify(result) + "\n");
      process.exit(0);
    })
    .catch((err) => {
      process.stderr.write(`${err && err.stack ? err.stack : err}\n`);
      process.exit(1);
    });
}

module.exports = { readInput, secretKey, within, transferData, run };

// Anchor TS `program.methods.<ix>(...).accountsPartial(...).signers(...).rpc()`, driven by
// the IDL file alone: each step names an instruction; its arguments are taken by name from
// the step (converted by the IDL's types), its accounts by name from one shared table, and
// its signers are the IDL's signer accounts, mapped to keypairs by account name. A new
// argument or account in the IDL only needs a value in the plan, not a code change.
"use strict";
const fs = require("fs");
const anchor = require("@coral-xyz/anchor");
const web3 = require("@solana/web3.js");
const { readInput, secretKey, run } = require("./common");

const camel = (s) => s.replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase());

function typeDef(idl, name) {
  const t = idl.types.find((x) => x.name === name);
  if (!t) throw new Error(`unknown type ${name}`);
  return t.type;
}

// Plan values are JSON: integers as decimal strings or numbers, pubkeys as base58.
function toAnchor(idl, ty, v) {
  if (typeof ty === "string") {
    if (ty === "pubkey") return new web3.PublicKey(v);
    if (ty === "bool" || ty === "string") return v;
    if (ty === "bytes") return Buffer.from(v, "hex");
    if (/^[ui](8|16|32)$/.test(ty)) return Number(v);
    return new anchor.BN(String(v));
  }
  if (ty.array) {
    const [inner] = ty.array;
    if (inner === "u8") return Array.from(Buffer.from(v, "hex"));
    return v.map((x) => toAnchor(idl, inner, x));
  }
  if (ty.vec) return v.map((x) => toAnchor(idl, ty.vec, x));
  if (ty.option) return v === null ? null : toAnchor(idl, ty.option, v);
  if (ty.defined) {
    const def = typeDef(idl, ty.defined.name);
    if (def.kind === "enum") return { [camel(v.charAt(0).toLowerCase() + v.slice(1))]: {} };
    const out = {};
    for (const f of def.fields) out[camel(f.name)] = toAnchor(idl, f.type, v[f.name]);
    return out;
  }
  throw new Error(`unsupported type ${JSON.stringify(ty)}`);
}

async function main() {
  const input = readInput();
  const idl = JSON.parse(fs.readFileSync(input.idl_path, "utf8"));
  idl.address = input.program_id;
  const connection = new web3.Connection(input.rpc_url, "confirmed");
  const keypairs = {};
  for (const [role, path] of Object.entries(input.keypairs)) {
    keypairs[role] = web3.Keypair.fromSecretKey(secretKey(path));
  }
  const steps = [];
  for (const step of input.steps) {
    const ix = idl.instructions.find((i) => i.name === step.ix);
    if (!ix) throw new Error(`instruction ${step.ix} is not in the IDL`);
    const args = ix.args.map((a) => {
      if (!(a.name in step.args)) throw new Error(`${step.ix}: the plan has no value for argument ${a.name}`);
      return toAnchor(idl, a.type, step.args[a.name]);
    });
    const accounts = {};
    const signers = [];
    for (const acc of ix.accounts) {
      const name = step.accounts && acc.name in step.accounts ? step.accounts[acc.name] : input.accounts[acc.name];
      if (acc.signer) {
        const role = input.signer_roles[acc.name];
        if (!role) throw new Error(`${step.ix}: no keypair for signer ${acc.name}`);
        signers.push(keypairs[role]);
        accounts[camel(acc.name)] = keypairs[role].publicKey;
      } else if (name !== undefined) {
        accounts[camel(acc.name)] = new web3.PublicKey(name);
      }
    }
    // The first signer pays the fee (the provider's wallet); the rest sign as extra signers.
    const wallet = new anchor.Wallet(signers[0]);
    const provider = new anchor.AnchorProvider(connection, wallet, { commitment: "confirmed" });
    const program = new anchor.Program(idl, provider);
    const started = Date.now();
    const signature = await program.methods[camel(step.ix)](...args)
      .accountsPartial(accounts)
      .signers(signers.slice(1))
      .rpc();
    steps.push({ ix: step.ix, signature, ms: Date.now() - started });
  }
  return { steps };
}

run(main);

// Reads {idl, cases} as JSON on stdin; answers with Anchor's own encoding/decoding.
// Values travel in a canonical JSON form shared with the Python side:
// integers as decimal strings, pubkeys as base58, bytes as hex, enums as the variant name.
"use strict";
const { BorshCoder, BN } = require("@coral-xyz/anchor");
const { PublicKey } = require("@solana/web3.js");

function typeDef(idl, name) {
  const t = idl.types.find((x) => x.name === name);
  if (!t) throw new Error(`unknown type ${name}`);
  return t.type;
}

function isTuple(def) {
  const f = def.fields && def.fields[0];
  return f !== undefined && (typeof f !== "object" || f.name === undefined);
}

function toAnchor(idl, ty, v) {
  if (typeof ty === "string") {
    if (ty === "pubkey") return new PublicKey(v);
    if (ty === "bool") return v;
    if (ty === "string") return v;
    if (ty === "bytes") return Buffer.from(v, "hex");
    if (/^[ui](8|16|32)$/.test(ty)) return Number(v);
    return new BN(v);
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
    if (def.kind === "enum") return { [v]: {} };
    const out = {};
    if (isTuple(def)) {
      // tuple struct (pump's OptionBool): Anchor names the fields "0", "1", ...
      def.fields.forEach((t, i) => (out[i] = toAnchor(idl, t, v[i])));
      return out;
    }
    for (const f of def.fields) out[f.name] = toAnchor(idl, f.type, v[f.name]);
    return out;
  }
  throw new Error(`unsupported type ${JSON.stringify(ty)}`);
}

function fromAnchor(idl, ty, v) {
  if (typeof ty === "string") {
    if (ty === "pubkey") return v.toBase58();
    if (ty === "bool" || ty === "string") return v;
    if (ty === "bytes") return Buffer.from(v).toString("hex");
    return v.toString();
  }
  if (ty.array) {
    const [inner] = ty.array;
    if (inner === "u8") return Buffer.from(v).toString("hex");
    return v.map((x) => fromAnchor(idl, inner, x));
  }
  if (ty.vec) return v.map((x) => fromAnchor(idl, ty.vec, x));
  if (ty.option) return v === null ? null : fromAnchor(idl, ty.option, v);
  if (ty.defined) {
    const def = typeDef(idl, ty.defined.name);
    if (def.kind === "enum") return Object.keys(v)[0];
    if (isTuple(def)) return def.fields.map((t, i) => fromAnchor(idl, t, v[i]));
    const out = {};
    for (const f of def.fields) out[f.name] = fromAnchor(idl, f.type, v[f.name]);
    return out;
  }
  throw new Error(`unsupported type ${JSON.stringify(ty)}`);
}

function main(input) {
  const { idl, cases } = JSON.parse(input);
  const coder = new BorshCoder(idl);
  const results = cases.map((c) => {
    if (c.kind === "instruction") {
      const ix = idl.instructions.find((x) => x.name === c.name);
      const args = {};
      for (const a of ix.args) args[a.name] = toAnchor(idl, a.type, c.args[a.name]);
      return coder.instruction.encode(c.name, args).toString("hex");
    }
    if (c.kind === "account") {
      const decoded = coder.accounts.decode(c.name, Buffer.from(c.data, "hex"));
      return fromAnchor(idl, { defined: { name: c.name } }, decoded);
    }
    if (c.kind === "event") {
      const ev = coder.events.decode(Buffer.from(c.data, "hex").toString("base64"));
      if (!ev) return null;
      return { name: ev.name, data: fromAnchor(idl, { defined: { name: c.name } }, ev.data) };
    }
    throw new Error(`unknown case ${c.kind}`);
  });
  process.stdout.write(JSON.stringify(results));
}

let buf = "";
process.stdin.on("data", (d) => (buf += d));
process.stdin.on("end", () => main(buf));

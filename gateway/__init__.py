"""The Bourse inference gateway, rail 1: an OpenAI-compatible API paid from a credit ledger in
micro-USDC, settled on-chain in batches (see ``docs/gateway.md``)."""

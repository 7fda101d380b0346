"""USDC top-ups through Solana Pay transfer requests."""

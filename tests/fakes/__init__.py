"""Local HTTP stand-ins for the venues' off-chain APIs (Jupiter, Raydium Trade API)."""

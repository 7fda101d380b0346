"""Off-chain cranks: buyback (through ``cranks.venues``), burn and fee harvest."""

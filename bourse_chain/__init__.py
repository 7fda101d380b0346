"""Bourse chain toolkit: typed bindings of our programs, PDA helpers and errors.

``bourse_chain.compute_market`` and ``bourse_chain.cp_pool`` are short aliases of the
generated packages ``bourse_chain.generated.compute_market`` and ``...cp_pool``:

>>> from bourse_chain import compute_market
>>> compute_market.accounts.Config.LEN
464
"""

from __future__ import annotations

from bourse_chain.generated import compute_market, cp_pool

__all__ = ["compute_market", "cp_pool"]

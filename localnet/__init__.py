"""A Solana localnet for tests and development: LiteSVM behind real JSON-RPC, or
``solana-test-validator`` when available, with our programs and funded fixtures.

``from localnet import Localnet`` (imported lazily, so ``localnet.loader`` stays light).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from localnet.net import Localnet, ThreadedLocalnet

__all__ = ["Localnet", "ThreadedLocalnet"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from localnet import net

        return getattr(net, name)
    raise AttributeError(f"module 'localnet' has no attribute {name!r}")

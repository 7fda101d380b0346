"""Why an RPC call did not get through, in words: the command line and the crank daemon
both report an unreachable node with :func:`unreachable_reason` instead of solana-py's
``<class 'httpx.ConnectError'> raised in ... invocation``."""

from __future__ import annotations

from solana.exceptions import SolanaRpcException

#: Transport failures of httpx (and its fork httpx2) by class name: both raise their own.
_TRANSPORT_ERRORS = frozenset(
    {"ConnectError", "ConnectTimeout", "ReadTimeout", "WriteTimeout", "PoolTimeout"}
    | {"RemoteProtocolError", "ReadError", "WriteError", "NetworkError", "TimeoutException"}
)


def _chain(exc: BaseException) -> list[BaseException]:
    out: list[BaseException] = []
    cur: BaseException | None = exc
    while cur is not None and all(cur is not e for e in out):
        out.append(cur)
        cur = cur.__cause__ or cur.__context__
    return out


def is_unreachable(exc: BaseException) -> bool:
    """``exc`` (or what caused it) is a failure to talk to the node at all."""
    return any(
        isinstance(e, SolanaRpcException | ConnectionError | TimeoutError)
        or type(e).__name__ in _TRANSPORT_ERRORS
        for e in _chain(exc)
    )


def unreachable_reason(exc: BaseException) -> str:
    """The root cause in words: ``connection refused (is the node running? ...)``,
    ``timed out``, or the transport's own message."""
    chain = _chain(exc)
    root = chain[-1]
    for e in reversed(chain):
        if not isinstance(e, SolanaRpcException):
            root = e
            break
    text = str(root)
    name = type(root).__name__
    if "All connection attempts failed" in text or isinstance(root, ConnectionRefusedError):
        return "connection refused (is the node running? `python -m localnet` starts one)"
    if "Timeout" in name or isinstance(root, TimeoutError):
        return f"timed out ({text})" if text else "timed out"
    if not text or text.startswith("<class "):
        return name
    return text

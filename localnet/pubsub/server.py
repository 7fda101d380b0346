"""The PubSub WebSocket endpoint (``websockets``) and the pump that feeds the hub.

One task per connection reads requests; one drains its outbox (bounded: a client that
stops reading for ``MAX_OUTBOX`` messages is disconnected, as a validator drops a lagging
subscriber). The pump wakes when the chain appends to its journal and at every slot boundary.
Requests without an ``id`` are JSON-RPC notifications (web3.js and Kit send ``ping`` ones):
they get no answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from localnet.chain import Chain
from localnet.pubsub.hub import Hub
from localnet.pubsub.notify import dumps
from localnet.pubsub.subscriptions import SUBSCRIBE, UNSUBSCRIBE, parse
from localnet.rpc_envelope import check_batch, error_doc, parse_body, valid_id
from localnet.rpc_errors import (
    INTERNAL_ERROR,
    INVALID_PARAMS,
    INVALID_REQUEST,
    METHOD_NOT_FOUND,
    RpcError,
)

log = logging.getLogger(__name__)

#: Largest request frame (a validator's PubSub caps frames similarly).
MAX_FRAME = 1024 * 1024
#: Undelivered messages per connection before the connection is dropped.
MAX_OUTBOX = 100_000
#: Live subscriptions over all connections (a validator's default cap is 1,000,000).
MAX_SUBSCRIPTIONS = 100_000
#: Upper bound of the pump's sleep (it also wakes on every journal append).
PUMP_PERIOD = 0.4


class Connection:
    """One client: its outbox and the task writing it to the socket."""

    def __init__(self, ws: ServerConnection) -> None:
        self.ws = ws
        self._queue: deque[str] = deque()
        self._ready = asyncio.Event()
        self.overflowed = False

    def push(self, message: str) -> None:
        if self.overflowed:
            return
        if len(self._queue) >= MAX_OUTBOX:
            self.overflowed = True
            self._queue.clear()
            log.warning("pubsub client %s is not reading; disconnecting it", self.ws.remote_address)
        else:
            self._queue.append(message)
        self._ready.set()

    async def write_loop(self) -> None:
        """Until the socket closes or the client lags too far behind."""
        while not self.overflowed:
            await self._ready.wait()
            self._ready.clear()
            while self._queue:
                await self.ws.send(self._queue.popleft())
        await self.ws.close(1008, "notification queue full")


class PubSubServer:
    """``await start()``, ``url``, ``await close()``."""

    def __init__(self, chain: Chain, host: str, port: int) -> None:
        self.chain = chain
        self.hub = Hub(chain)
        self.host = host
        self.port = port
        self._server: Server | None = None
        self._pump: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}"

    def _on_append(self) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._wake.set)

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._server = await serve(
            self._connection,
            self.host,
            self.port,
            max_size=MAX_FRAME,
            ping_interval=20,
            ping_timeout=20,
            close_timeout=1,
        )
        self.chain.journal.add_listener(self._on_append)
        self._pump = asyncio.create_task(self._run_pump(), name="pubsub-pump")
        log.info("PubSub listening on %s", self.url)

    async def close(self) -> None:
        self.chain.journal.remove_listener(self._on_append)
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump
            self._pump = None
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
            log.info("PubSub on %s closed", self.url)

    async def _run_pump(self) -> None:
        while True:  # until close() cancels it
            timeout = min(self.chain.seconds_to_next_slot() + 0.002, PUMP_PERIOD)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)
            self._wake.clear()
            try:
                self.hub.step()
            except Exception:  # keep serving the other subscribers
                log.exception("pubsub step failed")

    # ------------------------------------------------------------ connection
    async def _connection(self, ws: ServerConnection) -> None:
        conn = Connection(ws)
        writer = asyncio.create_task(conn.write_loop(), name="pubsub-writer")
        try:
            async for frame in ws:
                self._frame(conn, frame)
                if writer.done():
                    break
        except ConnectionClosed:
            pass
        finally:
            dropped = self.hub.drop_outbox(conn)
            log.debug("pubsub client left; %d subscriptions dropped", dropped)
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionClosed):
                await writer

    def _frame(self, conn: Connection, frame: str | bytes) -> None:
        try:
            request = parse_body(frame)
            if isinstance(request, list):
                check_batch(request)
                for item in request:
                    self._request(conn, item)
                return
        except RpcError as exc:
            conn.push(notify_error(exc, None))
            return
        self._request(conn, request)

    def _request(self, conn: Connection, request: Any) -> None:
        if not isinstance(request, dict):
            conn.push(notify_error(RpcError(INVALID_REQUEST, "Invalid request"), None))
            return
        has_id = "id" in request
        request_id = request.get("id")
        if not valid_id(request_id):
            conn.push(notify_error(RpcError(INVALID_REQUEST, "Invalid request: invalid id"), None))
            return
        method = request.get("method")
        if request.get("jsonrpc") != "2.0" or not isinstance(method, str):
            if has_id:
                conn.push(notify_error(RpcError(INVALID_REQUEST, "Invalid request"), request_id))
            return
        params = request.get("params") or []
        try:
            if not isinstance(params, list):
                raise RpcError(INVALID_PARAMS, "Invalid params: expected an array.")
            if method in SUBSCRIBE:
                if len(self.hub) >= MAX_SUBSCRIPTIONS:
                    raise RpcError(INVALID_REQUEST, "Too many subscriptions")
                sub = parse(SUBSCRIBE[method], params, conn)
                sub.id = self.hub.new_id()
                if has_id:
                    conn.push(result_doc(sub.id, request_id))
                self.hub.add(sub)
                return
            if method in UNSUBSCRIBE:
                sub_id = params[0] if params else None
                if (
                    isinstance(sub_id, bool)
                    or not isinstance(sub_id, int)
                    or not self.hub.remove(sub_id, UNSUBSCRIBE[method], conn)
                ):
                    raise RpcError(INVALID_PARAMS, "Invalid subscription id.")
                result: Any = True
            else:
                raise RpcError(METHOD_NOT_FOUND, "Method not found")
        except RpcError as exc:
            if has_id:
                conn.push(notify_error(exc, request_id))
            return
        except Exception:  # a handler bug must not end the connection
            log.exception("pubsub %s failed", method)
            if has_id:
                conn.push(notify_error(RpcError(INTERNAL_ERROR, "Internal error"), request_id))
            return
        if has_id:
            conn.push(result_doc(result, request_id))


def result_doc(result: Any, request_id: Any) -> str:
    return dumps({"jsonrpc": "2.0", "result": result, "id": request_id})


def notify_error(exc: RpcError, request_id: Any) -> str:
    doc = error_doc(exc.code, exc.message, request_id)
    doc["error"] = exc.to_json()
    return dumps(doc)

"""Solana PubSub (WebSocket JSON-RPC) in front of a ``Chain``, on the RPC port + 1.

``subscriptions``: what a subscribe request asks for (validated like agave);
``notify``: the notification payloads, exactly as a validator sends them;
``hub``: who is subscribed to what, fed by the chain's journal as slots reach each commitment;
``server``: the WebSocket endpoint (the ``websockets`` library) and its pump task.
"""

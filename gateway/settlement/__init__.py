"""On-chain settlement of served calls: the outbox, the worker, and the one chain port."""

"""API keys: ``bs_live_`` + 43 url-safe random characters, stored as their SHA-256 only (the
secret is shown once, at creation or rotation). Keys are high-entropy, so a plain digest is
enough to make a leaked table useless; the first 12 characters are kept to name a key."""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.db.engine import now_ms, reading
from gateway.db.schema import api_keys, users
from gateway.ledger import Ledger

PREFIX = "bs_live_"


class KeyError_(Exception):
    """Unknown or already revoked key id."""


def new_secret() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class KeyInfo:
    id: int
    user_id: int
    user: str
    prefix: str
    label: str
    created_at: int
    revoked_at: int | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class NewKey:
    info: KeyInfo
    secret: str

    def to_json(self) -> dict[str, Any]:
        return {**self.info.to_json(), "key": self.secret}


class KeyStore:
    """Create / list / rotate / revoke keys, and authenticate a bearer secret.

    ``authenticate`` caches hits for ``cache_ttl`` seconds (0: no cache); a revocation made
    in this process clears the cache at once, one made elsewhere is seen within the TTL.
    """

    def __init__(self, engine: AsyncEngine, ledger: Ledger, cache_ttl: float = 1.0) -> None:
        self.engine = engine
        self.ledger = ledger
        self.cache_ttl = cache_ttl
        self._cache: dict[str, tuple[float, KeyInfo]] = {}

    async def create(self, user: str, label: str = "") -> NewKey:
        user_id = await self.ledger.ensure_user(user)
        secret = new_secret()
        async with self.engine.begin() as conn:
            key_id = (
                await conn.execute(
                    insert(api_keys)
                    .values(
                        user_id=user_id,
                        key_hash=digest(secret),
                        prefix=secret[:12],
                        label=label,
                        created_at=now_ms(),
                    )
                    .returning(api_keys.c.id)
                )
            ).scalar_one()
        return NewKey(await self.get(int(key_id)), secret)

    async def get(self, key_id: int) -> KeyInfo:
        found = await self._select(api_keys.c.id == key_id)
        if not found:
            raise KeyError_(f"no key {key_id}")
        return found[0]

    async def listing(self, user: str | None = None) -> list[KeyInfo]:
        return await self._select(users.c.name == user if user is not None else None)

    async def _select(self, where: Any) -> list[KeyInfo]:
        query = select(
            api_keys.c.id,
            api_keys.c.user_id,
            users.c.name,
            api_keys.c.prefix,
            api_keys.c.label,
            api_keys.c.created_at,
            api_keys.c.revoked_at,
        ).join(users, users.c.id == api_keys.c.user_id)
        if where is not None:
            query = query.where(where)
        async with reading(self.engine) as conn:
            rows = (await conn.execute(query.order_by(api_keys.c.id))).all()
        return [KeyInfo(*(r[i] for i in range(7))) for r in rows]

    async def revoke(self, key_id: int) -> KeyInfo:
        async with self.engine.begin() as conn:
            done = await conn.execute(
                update(api_keys)
                .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
                .values(revoked_at=now_ms())
            )
        if done.rowcount != 1:
            raise KeyError_(f"no active key {key_id}")
        self._cache.clear()
        return await self.get(key_id)

    async def rotate(self, key_id: int) -> NewKey:
        """Revoke the key and issue a new one for the same user and label."""
        old = await self.revoke(key_id)
        return await self.create(old.user, old.label)

    async def authenticate(self, secret: str) -> KeyInfo | None:
        if not secret.startswith(PREFIX):
            return None
        h = digest(secret)
        now = time.monotonic()
        hit = self._cache.get(h)
        if hit is not None and hit[0] > now:
            return hit[1]
        found = await self._select(api_keys.c.key_hash == h)
        if not found or found[0].revoked_at is not None:
            self._cache.pop(h, None)
            return None
        if self.cache_ttl > 0:
            self._cache[h] = (now + self.cache_ttl, found[0])
        return found[0]

"""JSON over HTTP with bounded retries, for the cranks' off-chain services.

One small, injected-everything helper instead of a retry loop per caller:

* every request has an explicit timeout (``RetryPolicy.timeout_s``);
* 429 and 5xx answers, timeouts and transport errors are retried with exponential
  backoff and jitter, at most ``max_attempts`` times in all;
* a ``Retry-After`` header (delta seconds or an HTTP date) is honoured, and on a 429
  without one the rate-limit reset headers (``RateLimit-Reset``, ``X-RateLimit-Reset``)
  stand in; a wait longer than ``max_retry_after_s`` is not slept but reported;
* any other 4xx is final at once (:class:`HttpRejected`, with the parsed body);
* a 2xx body that is not JSON is final at once (:class:`HttpBadJson`).

``sleep``, ``rand`` and ``clock`` are injected so tests can measure the waits without
waiting. Headers are never logged (they carry API keys).
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

log = logging.getLogger(__name__)

SleepFn = Callable[[float], Awaitable[None]]
RandFn = Callable[[], float]
ClockFn = Callable[[], float]

#: X-RateLimit-Reset values above this are unix times, below it delta seconds.
_EPOCH_THRESHOLD = 1_000_000_000


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard to try one request. All times in seconds."""

    max_attempts: int = 4
    base_delay_s: float = 0.25
    max_delay_s: float = 8.0
    #: Fraction of each backoff delay that is randomised (0 = none, 1 = full jitter).
    jitter: float = 0.5
    #: A server asking us to wait longer than this is reported, not obeyed.
    max_retry_after_s: float = 30.0
    timeout_s: float = 10.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be >= 1")
        if not 0.0 <= self.jitter <= 1.0:
            raise ValueError("jitter must be within [0, 1]")
        if self.base_delay_s < 0 or self.max_delay_s < 0 or self.timeout_s <= 0:
            raise ValueError("delays must be >= 0 and timeout_s > 0")

    def backoff(self, failures: int, rand: RandFn) -> float:
        """The delay after ``failures`` consecutive failures (1-based), with jitter."""
        raw = min(self.max_delay_s, self.base_delay_s * 2.0 ** (failures - 1))
        return float(raw * (1.0 - self.jitter * rand()))


class HttpFailure(Exception):
    """Base of this module's errors."""

    def __init__(self, message: str, *, url: str, status: int | None = None) -> None:
        super().__init__(message)
        self.url = url
        self.status = status


class HttpRejected(HttpFailure):
    """A final 4xx answer (not 429). ``body`` is the parsed JSON, or the text."""

    def __init__(self, message: str, *, url: str, status: int, body: object) -> None:
        super().__init__(message, url=url, status=status)
        self.body = body


class HttpBadJson(HttpFailure):
    """A 2xx answer whose body is not JSON."""


class HttpRateLimited(HttpFailure):
    """429s until the attempts ran out, or a wait longer than the policy allows."""

    def __init__(self, message: str, *, url: str, retry_after: float | None) -> None:
        super().__init__(message, url=url, status=429)
        self.retry_after = retry_after


class HttpUnavailable(HttpFailure):
    """5xx answers, timeouts or transport errors until the attempts ran out."""


def parse_retry_after(value: str, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (delta seconds or HTTP date)."""
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - now)


def rate_limit_wait(headers: httpx.Headers, now: float) -> float | None:
    """The wait a 429 or 503 asks for: ``Retry-After`` first, then the reset headers."""
    retry_after = headers.get("retry-after")
    if retry_after is not None:
        parsed = parse_retry_after(retry_after, now)
        if parsed is not None:
            return parsed
    reset = headers.get("ratelimit-reset")  # IETF draft: delta seconds
    if reset is not None:
        try:
            return max(0.0, float(reset))
        except ValueError:
            pass
    reset = headers.get("x-ratelimit-reset")  # common: unix seconds, sometimes a delta
    if reset is not None:
        try:
            value = float(reset)
        except ValueError:
            return None
        return max(0.0, value - now) if value > _EPOCH_THRESHOLD else max(0.0, value)
    return None


def _body(response: httpx.Response) -> object:
    try:
        return response.json()
    except ValueError:
        return response.text


class JsonHttp:
    """GET/POST returning parsed JSON, under a :class:`RetryPolicy`."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        policy: RetryPolicy | None = None,
        *,
        sleep: SleepFn = asyncio.sleep,
        rand: RandFn = random.random,
        clock: ClockFn = time.time,
    ) -> None:
        self._client = client
        self.policy = policy or RetryPolicy()
        self._sleep = sleep
        self._rand = rand
        self._clock = clock

    async def get(
        self,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        return await self.request("GET", url, params=params, headers=headers)

    async def post(
        self,
        url: str,
        *,
        body: object,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        return await self.request("POST", url, json_body=body, headers=headers)

    async def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: object = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        policy = self.policy
        failures = 0
        while True:
            failures += 1
            last_attempt = failures >= policy.max_attempts
            try:
                response = await self._client.request(
                    method,
                    url,
                    params=params,
                    json=json_body,
                    headers=headers,
                    timeout=policy.timeout_s,
                )
            except httpx.TimeoutException as exc:
                if last_attempt:
                    raise HttpUnavailable(
                        f"{method} {url}: timed out {failures} times", url=url
                    ) from exc
                await self._wait(method, url, failures, None, f"timeout ({type(exc).__name__})")
                continue
            except httpx.TransportError as exc:
                if last_attempt:
                    raise HttpUnavailable(
                        f"{method} {url}: transport error {failures} times: {exc}", url=url
                    ) from exc
                await self._wait(method, url, failures, None, f"transport ({type(exc).__name__})")
                continue

            status = response.status_code
            if status == 429 or status >= 500:
                wait = rate_limit_wait(response.headers, self._clock())
                too_long = wait is not None and wait > policy.max_retry_after_s
                if last_attempt or too_long:
                    if status == 429:
                        raise HttpRateLimited(
                            f"{method} {url}: rate limited ({failures} attempts, "
                            f"retry after {wait})",
                            url=url,
                            retry_after=wait,
                        )
                    raise HttpUnavailable(
                        f"{method} {url}: HTTP {status} ({failures} attempts)",
                        url=url,
                        status=status,
                    )
                await self._wait(method, url, failures, wait, f"HTTP {status}")
                continue
            if status >= 400:
                raise HttpRejected(
                    f"{method} {url}: HTTP {status}", url=url, status=status, body=_body(response)
                )
            try:
                return json.loads(response.content)
            except ValueError as exc:
                raise HttpBadJson(
                    f"{method} {url}: HTTP {status} body is not JSON", url=url, status=status
                ) from exc

    async def _wait(
        self, method: str, url: str, failures: int, server_wait: float | None, why: str
    ) -> None:
        delay = self.policy.backoff(failures, self._rand)
        if server_wait is not None:
            delay = max(delay, server_wait)
        log.warning(
            "%s %s failed (%s), attempt %d/%d; retrying in %.3fs",
            method,
            url,
            why,
            failures,
            self.policy.max_attempts,
            delay,
        )
        await self._sleep(delay)

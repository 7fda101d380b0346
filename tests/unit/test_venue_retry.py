"""HTTP behaviour of the venues (cranks.http + cranks.venues._transport) against local fakes.

Waits are measured through an injected sleep function, never wall time; only the timeout
tests spend real (sub-second) time, waiting for the client's own timeout.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from email.utils import format_datetime

import httpx
import pytest

from cranks.http import (
    HttpBadJson,
    HttpRateLimited,
    HttpRejected,
    HttpUnavailable,
    JsonHttp,
    RetryPolicy,
    parse_retry_after,
)
from cranks.venues.errors import (
    MalformedResponse,
    RateLimited,
    RequestRejected,
    VenueUnavailable,
)
from cranks.venues.jupiter import JupiterConfig, JupiterVenue
from tests.fakes._server import Fault
from tests.fakes.chain import key
from tests.fakes.jupiter_server import FakeJupiter

NOW = 1_764_000_000.0
USDC = key("usdc")
TOKEN = key("model-token")
MODEL = key("model-pda")
REVENUE = key("revenue-vault")
BUYBACK = key("buyback-vault")


class Sleeps:
    """An injected ``sleep`` recording each requested wait."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
async def server() -> AsyncIterator[FakeJupiter]:
    async with FakeJupiter() as s:
        yield s


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as c:
        yield c


def policy(**kw: float) -> RetryPolicy:
    base = {
        "max_attempts": 4,
        "base_delay_s": 0.5,
        "max_delay_s": 8.0,
        "jitter": 0.0,
        "max_retry_after_s": 30.0,
        "timeout_s": 2.0,
    }
    base.update(kw)
    return RetryPolicy(**base)  # type: ignore[arg-type]


def http(client: httpx.AsyncClient, sleeps: Sleeps, **kw: float) -> JsonHttp:
    return JsonHttp(client, policy(**kw), sleep=sleeps, rand=lambda: 1.0, clock=lambda: NOW)


async def quote(venue: JupiterVenue):  # type: ignore[no-untyped-def]
    return await venue.quote(
        USDC, TOKEN, 250_000_000, 50, authority=MODEL, source=REVENUE, destination=BUYBACK
    )


def jupiter(
    server: FakeJupiter, client: httpx.AsyncClient, sleeps: Sleeps, **kw: float
) -> JupiterVenue:
    cfg = JupiterConfig(base_url=server.base_url, retry=policy(**kw))
    return JupiterVenue(client, cfg, sleep=sleeps, rand=lambda: 1.0, clock=lambda: NOW)


# --- Retry-After and rate-limit headers ---------------------------------------------------


def test_retry_after_parses_seconds_and_http_dates() -> None:
    assert parse_retry_after("7", NOW) == 7.0
    assert parse_retry_after(" 2.5 ", NOW) == 2.5
    assert parse_retry_after("-3", NOW) == 0.0
    date = format_datetime(datetime.fromtimestamp(NOW + 12, UTC), usegmt=True)
    assert parse_retry_after(date, NOW) == 12.0
    past = format_datetime(datetime.fromtimestamp(NOW - 60, UTC), usegmt=True)
    assert parse_retry_after(past, NOW) == 0.0
    assert parse_retry_after("soon", NOW) is None
    assert parse_retry_after("nan", NOW) is None


async def test_429_retry_after_seconds_is_honoured(
    server: FakeJupiter, client: httpx.AsyncClient
) -> None:
    # Given a 429 asking for 7 s, then a normal answer
    server.faults.append(Fault.rate_limited(retry_after="7"))
    sleeps = Sleeps()
    # When quoting
    route = await quote(jupiter(server, client, sleeps))
    # Then the venue waited exactly what the server asked (more than its own backoff) and
    # the second attempt produced the route
    assert sleeps.waits == [7.0]
    assert len(server.requests) == 2
    assert route.in_amount == 250_000_000


async def test_429_retry_after_http_date_is_honoured(
    server: FakeJupiter, client: httpx.AsyncClient
) -> None:
    date = format_datetime(datetime.fromtimestamp(NOW + 12, UTC), usegmt=True)
    server.faults.append(Fault.rate_limited(retry_after=date))
    sleeps = Sleeps()
    await quote(jupiter(server, client, sleeps))
    assert sleeps.waits == [12.0]


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"RateLimit-Remaining": "0", "RateLimit-Reset": "4"}, 4.0),
        ({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(NOW) + 9)}, 9.0),
        ({"X-RateLimit-Reset": "3"}, 3.0),
    ],
)
async def test_429_rate_limit_reset_headers_stand_in_for_retry_after(
    server: FakeJupiter, client: httpx.AsyncClient, headers: dict[str, str], expected: float
) -> None:
    server.faults.append(Fault("status", 429, headers, '{"error": "Rate limit exceeded"}'))
    sleeps = Sleeps()
    await quote(jupiter(server, client, sleeps))
    assert sleeps.waits == [expected]


async def test_429_without_hint_uses_exponential_backoff(
    server: FakeJupiter, client: httpx.AsyncClient
) -> None:
    server.faults.extend([Fault.rate_limited(), Fault.rate_limited(), Fault.rate_limited()])
    sleeps = Sleeps()
    await quote(jupiter(server, client, sleeps))
    assert sleeps.waits == [0.5, 1.0, 2.0]
    assert len(server.requests) == 4


async def test_429_until_attempts_run_out_raises_rate_limited(
    server: FakeJupiter, client: httpx.AsyncClient
) -> None:
    server.faults.extend([Fault.rate_limited(retry_after="1")] * 10)
    sleeps = Sleeps()
    with pytest.raises(RateLimited) as err:
        await quote(jupiter(server, client, sleeps, max_attempts=3))
    assert err.value.retry_after == 1.0
    assert err.value.venue == "jupiter"
    assert len(server.requests) == 3
    assert sleeps.waits == [1.0, 1.0]


async def test_retry_after_beyond_the_cap_is_reported_not_slept(
    server: FakeJupiter, client: httpx.AsyncClient
) -> None:
    server.faults.append(Fault.rate_limited(retry_after="600"))
    sleeps = Sleeps()
    with pytest.raises(RateLimited) as err:
        await quote(jupiter(server, client, sleeps, max_retry_after_s=30.0))
    assert err.value.retry_after == 600.0
    assert sleeps.waits == []
    assert len(server.requests) == 1


# --- 5xx, timeouts, transport ----------------------------------------------------------------


async def test_5xx_is_retried_with_backoff_and_jitter(
    server: FakeJupiter, client: httpx.AsyncClient
) -> None:
    server.faults.extend([Fault.server_error(500), Fault.server_error(503)])
    sleeps = Sleeps()
    cfg = JupiterConfig(base_url=server.base_url, retry=policy(jitter=0.5))
    # rand() = 1.0 with jitter 0.5 halves each backoff step: 0.5 -> 0.25, 1.0 -> 0.5
    venue = JupiterVenue(client, cfg, sleep=sleeps, rand=lambda: 1.0, clock=lambda: NOW)
    await quote(venue)
    assert sleeps.waits == [0.25, 0.5]
    assert len(server.requests) == 3


async def test_backoff_is_capped(client: httpx.AsyncClient) -> None:
    p = policy(base_delay_s=1.0, max_delay_s=3.0)
    assert [p.backoff(n, lambda: 0.0) for n in range(1, 6)] == [1.0, 2.0, 3.0, 3.0, 3.0]


async def test_5xx_until_attempts_run_out_is_unavailable(
    server: FakeJupiter, client: httpx.AsyncClient
) -> None:
    server.faults.extend([Fault.server_error(502)] * 5)
    sleeps = Sleeps()
    with pytest.raises(VenueUnavailable):
        await quote(jupiter(server, client, sleeps, max_attempts=3))
    assert len(server.requests) == 3
    assert len(sleeps.waits) == 2


async def test_timeout_is_retried_then_unavailable(
    server: FakeJupiter, client: httpx.AsyncClient
) -> None:
    # Given a server slower than the client's timeout, every time
    server.faults.extend([Fault.slow(1.0)] * 3)
    sleeps = Sleeps()
    # When quoting with a 50 ms timeout and 3 attempts
    with pytest.raises(VenueUnavailable) as err:
        await quote(jupiter(server, client, sleeps, max_attempts=3, timeout_s=0.05))
    # Then each attempt reached the server, the venue backed off between them, and the
    # last error names the timeout
    assert len(server.requests) == 3
    assert sleeps.waits == [0.5, 1.0]
    assert "timed out" in str(err.value)


async def test_timeout_then_success(server: FakeJupiter, client: httpx.AsyncClient) -> None:
    server.faults.append(Fault.slow(1.0))
    sleeps = Sleeps()
    route = await quote(jupiter(server, client, sleeps, timeout_s=0.05))
    assert route.expected_out > 0
    assert sleeps.waits == [0.5]


async def test_connection_refused_is_unavailable(client: httpx.AsyncClient) -> None:
    async with FakeJupiter() as s:
        url = s.base_url
    # the server is gone: connection refused on every attempt
    sleeps = Sleeps()
    cfg = JupiterConfig(base_url=url, retry=policy(max_attempts=2))
    venue = JupiterVenue(client, cfg, sleep=sleeps, rand=lambda: 1.0, clock=lambda: NOW)
    with pytest.raises(VenueUnavailable):
        await quote(venue)
    assert sleeps.waits == [0.5]


# --- final answers ---------------------------------------------------------------------------


async def test_malformed_json_is_not_retried(
    server: FakeJupiter, client: httpx.AsyncClient
) -> None:
    server.faults.append(Fault.malformed())
    sleeps = Sleeps()
    with pytest.raises(MalformedResponse):
        await quote(jupiter(server, client, sleeps))
    assert len(server.requests) == 1
    assert sleeps.waits == []


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
async def test_other_4xx_is_final(
    server: FakeJupiter, client: httpx.AsyncClient, status: int
) -> None:
    server.faults.append(Fault.http(status, {"error": "bad request parameter"}))
    sleeps = Sleeps()
    with pytest.raises(RequestRejected) as err:
        await quote(jupiter(server, client, sleeps))
    assert err.value.status == status
    assert len(server.requests) == 1
    assert sleeps.waits == []


# --- the helper on its own -------------------------------------------------------------------


async def test_json_http_errors_carry_their_cause(
    server: FakeJupiter, client: httpx.AsyncClient
) -> None:
    sleeps = Sleeps()
    h = http(client, sleeps, max_attempts=2)
    url = server.base_url + "/swap/v2/build"
    server.faults.append(Fault.http(418, {"error": "teapot"}))
    with pytest.raises(HttpRejected) as rejected:
        await h.get(url)
    assert rejected.value.status == 418 and rejected.value.body == {"error": "teapot"}
    server.faults.append(Fault.malformed())
    with pytest.raises(HttpBadJson):
        await h.get(url)
    server.faults.extend([Fault.rate_limited("2"), Fault.rate_limited("2")])
    with pytest.raises(HttpRateLimited) as limited:
        await h.get(url)
    assert limited.value.retry_after == 2.0
    server.faults.extend([Fault.server_error(), Fault.server_error()])
    with pytest.raises(HttpUnavailable):
        await h.get(url)


def test_policy_validates() -> None:
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError):
        RetryPolicy(jitter=1.5)
    with pytest.raises(ValueError):
        RetryPolicy(timeout_s=0)

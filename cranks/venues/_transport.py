"""Map :mod:`cranks.http` failures onto venue errors."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from cranks.http import HttpBadJson, HttpRateLimited, HttpRejected, HttpUnavailable, JsonHttp
from cranks.venues.errors import (
    MalformedResponse,
    RateLimited,
    RequestRejected,
    VenueError,
    VenueUnavailable,
)

#: Turns a final 4xx into the venue's own error (e.g. "no route" -> NoRoute).
RejectionMapper = Callable[[HttpRejected], VenueError]


def default_rejection(venue: str) -> RejectionMapper:
    def mapper(exc: HttpRejected) -> VenueError:
        return RequestRejected(f"{exc} ({_short(exc.body)})", venue=venue, status=exc.status or 400)

    return mapper


def _short(body: object, limit: int = 200) -> str:
    text = str(body)
    return text if len(text) <= limit else text[:limit] + "..."


async def call_json(
    http: JsonHttp,
    venue: str,
    method: str,
    url: str,
    *,
    params: Mapping[str, str] | None = None,
    body: object = None,
    headers: Mapping[str, str] | None = None,
    on_rejected: RejectionMapper | None = None,
) -> Any:
    try:
        return await http.request(method, url, params=params, json_body=body, headers=headers)
    except HttpRateLimited as exc:
        raise RateLimited(str(exc), venue=venue, retry_after=exc.retry_after) from exc
    except HttpUnavailable as exc:
        raise VenueUnavailable(str(exc), venue=venue) from exc
    except HttpBadJson as exc:
        raise MalformedResponse(str(exc), venue=venue) from exc
    except HttpRejected as exc:
        mapper = on_rejected or default_rejection(venue)
        raise mapper(exc) from exc

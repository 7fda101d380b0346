"""The gateway's errors, each with its HTTP status and an OpenAI-shaped body
``{"error": {"message", "type", "code", "param", "metadata"?}}``."""

from __future__ import annotations

from typing import Any


class GatewayError(Exception):
    status = 500
    code = "INTERNAL_ERROR"
    type = "api_error"

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        metadata: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.metadata = metadata
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        err: dict[str, Any] = {
            "message": self.message,
            "type": self.type,
            "code": self.code,
            "param": self.param,
        }
        if self.metadata is not None:
            err["metadata"] = self.metadata
        return {"error": err}


class BadRequest(GatewayError):
    status = 400
    code = "INVALID_REQUEST"
    type = "invalid_request_error"


class Unauthorized(GatewayError):
    status = 401
    code = "UNAUTHORIZED"
    type = "authentication_error"


class InsufficientQuota(GatewayError):
    status = 402
    code = "INSUFFICIENT_QUOTA"
    type = "insufficient_quota"


class Forbidden(GatewayError):
    status = 403
    code = "FORBIDDEN"
    type = "permission_error"


class ModelNotFound(GatewayError):
    status = 404
    code = "MODEL_NOT_FOUND"
    type = "invalid_request_error"


class NotFound(GatewayError):
    status = 404
    code = "NOT_FOUND"
    type = "invalid_request_error"


class PayloadTooLarge(GatewayError):
    status = 413
    code = "REQUEST_TOO_LARGE"
    type = "invalid_request_error"


class RateLimited(GatewayError):
    status = 429
    code = "RATE_LIMITED"
    type = "rate_limit_error"


class AllProvidersFailed(GatewayError):
    status = 502
    code = "ALL_PROVIDERS_FAILED"
    type = "api_error"


class UpstreamStreamError(GatewayError):
    """Sent as an SSE event after the stream started (the status is already 200)."""

    status = 502
    code = "UPSTREAM_ERROR"
    type = "api_error"

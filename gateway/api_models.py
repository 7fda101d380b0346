"""The wire shapes the OpenAPI document describes (``gateway/openapi.py``): the chat-completions
request, its answers, the OpenAI-shaped error body and the x402 402 body.

The routes parse bodies themselves (``gateway/chat_request.py`` is the one validator); these
models only document what goes over the wire. Extra fields are allowed where OpenAI allows them
(they are passed on to the upstream).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

CHAT_EXAMPLE: dict[str, Any] = {
    "model": "deepseek-chat",
    "messages": [{"role": "user", "content": "Say hello in one word."}],
    "max_tokens": 16,
    "stream": False,
}


class ErrorDetail(BaseModel):
    message: str = Field(description="What went wrong, for a human")
    type: str = Field(
        description="OpenAI error type: invalid_request_error, authentication_error, "
        "insufficient_quota, permission_error, rate_limit_error, api_error"
    )
    code: str = Field(
        description="Stable code: INVALID_REQUEST, UNAUTHORIZED, INSUFFICIENT_QUOTA, "
        "MODEL_NOT_FOUND, NOT_FOUND, REQUEST_TOO_LARGE, RATE_LIMITED, ALL_PROVIDERS_FAILED, "
        "UPSTREAM_ERROR, CHAIN_UNAVAILABLE, ..."
    )
    param: str | None = Field(default=None, description="The request field at fault, if any")
    metadata: dict[str, Any] | None = Field(
        default=None,
        description="Details, e.g. for INSUFFICIENT_QUOTA: balance, needed, unit, topup_url",
    )


class ErrorResponse(BaseModel):
    """Every error of the gateway: OpenAI's shape, the HTTP status matching the code."""

    error: ErrorDetail


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: str = Field(description="system | developer | user | assistant | tool")
    content: str | list[dict[str, Any]] | None = Field(
        default=None, description="The text, or OpenAI content parts"
    )
    name: str | None = Field(default=None, description="Optional author name")


class StreamOptions(BaseModel):
    include_usage: bool = Field(
        default=False,
        description="Send a last chunk with `usage` before `[DONE]` (the gateway always asks "
        "the upstream for it, to charge the reported usage)",
    )


class ChatCompletionRequest(BaseModel):
    """OpenAI's chat-completions body. Other OpenAI fields (temperature, top_p, stop, tools,
    ...) are passed on to the upstream unchanged."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [CHAT_EXAMPLE]})

    model: str = Field(
        description="A model id from GET /api/v1/models: a slug (routed to the cheapest "
        "active offer, with failover) or `<provider>/<slug>` to pin one provider"
    )
    messages: list[ChatMessage] = Field(
        min_length=1, max_length=10_000, description="The conversation, at least one message"
    )
    stream: bool | None = Field(
        default=None,
        description="Server-sent events when true (the default); one JSON answer when false. "
        "Omitted with `Accept: application/json` only (what the OpenAI SDKs send): JSON",
    )
    stream_options: StreamOptions | None = Field(
        default=None, description="Streaming options (OpenAI's)"
    )
    max_tokens: int | None = Field(
        default=None,
        ge=1,
        description="Output token limit; bounds the pre-flight price (default: the model's "
        "maximum output; above it: 400)",
    )
    max_completion_tokens: int | None = Field(
        default=None, ge=1, description="OpenAI's newer name for `max_tokens` (the lower wins)"
    )
    temperature: float | None = Field(default=None, description="Sampling temperature")
    top_p: float | None = Field(default=None, description="Nucleus sampling")
    stop: str | list[str] | None = Field(default=None, description="Stop sequences")
    user: str | None = Field(default=None, description="An end-user id, passed on")


class Usage(BaseModel):
    model_config = ConfigDict(extra="allow")

    prompt_tokens: int = Field(description="Input tokens the upstream reported")
    completion_tokens: int = Field(description="Output tokens the upstream reported")
    total_tokens: int = Field(description="Their sum")


class ChatChoice(BaseModel):
    model_config = ConfigDict(extra="allow")

    index: int = Field(description="Choice index")
    message: ChatMessage = Field(description="The answer")
    finish_reason: str | None = Field(description="stop, length, tool_calls, ...")


class ChatCompletion(BaseModel):
    """One JSON answer (``stream: false``); a stream sends ``chat.completion.chunk`` objects as
    ``data:`` events, then ``data: [DONE]``."""

    model_config = ConfigDict(extra="allow")

    id: str = Field(description="Completion id")
    object: Literal["chat.completion"] = Field(description="Always chat.completion")
    created: int = Field(description="Unix time")
    model: str = Field(description="The upstream's model id")
    choices: list[ChatChoice] = Field(description="The answers")
    usage: Usage | None = Field(default=None, description="Token usage, as charged")


class PaymentRequirement(BaseModel):
    """One way to pay (x402 ``exact`` scheme on Solana)."""

    scheme: Literal["exact"] = Field(description="Always exact: pay this amount")
    network: str = Field(description="solana or solana-devnet (v1 names; CAIP-2 in the header)")
    maxAmountRequired: str = Field(description="The price, atomic units of `asset` (v1 name)")
    amount: str = Field(description="The same price under its v2 name")
    resource: str = Field(description="The URL being paid for")
    description: str = Field(description="What is charged")
    mimeType: str = Field(description="The answer's media type")
    payTo: str = Field(
        description="Owner of the receiving token account: the model's x402 inbox authority"
    )
    maxTimeoutSeconds: int = Field(description="How long the terms hold")
    asset: str = Field(description="The USDC mint")
    extra: dict[str, Any] = Field(
        description="`feePayer`: the facilitator's address that co-signs and pays the fee"
    )


class PaymentRequired(BaseModel):
    """The 402 body: an x402 v1 ``PaymentRequired`` (the same terms as the v2
    ``PAYMENT-REQUIRED`` header)."""

    x402Version: int = Field(description="1 (the body); the header carries version 2")
    error: str = Field(description="Why payment is required, or what was wrong with a payment")
    accepts: list[PaymentRequirement] = Field(description="The accepted payment terms")


class X402Refusal(BaseModel):
    """A payment refused without a fresh 402: malformed header (400), facilitator error (502)
    or unreachable (503). Nothing is charged."""

    error: dict[str, Any] = Field(description="`code` (HTTP status), `reason`, `message`")

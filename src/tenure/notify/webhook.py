"""Webhooks from outbox rows: a JSON POST signed with HMAC-SHA256, carrying the row's
Idempotency-Key, or a Slack-compatible body (`{"text": ...}`) for Slack incoming webhooks.

Headers a receiver sees:

    Content-Type        application/json
    Idempotency-Key     the outbox row's key: the same on every attempt at the same message
    X-Tenure-Timestamp  seconds since the epoch when this attempt was signed
    X-Tenure-Signature  sha256=<hex HMAC-SHA256 of "<timestamp>." + raw body> (tenure.notify.signing)
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from tenure.notify.signing import sign_webhook
from tenure.state.models import OutboxMessage

USER_AGENT = "tenure-webhook/1"


class WebhookFailed(Exception):
    """The receiver did not answer 2xx (the message is retried)."""


def webhook_body(msg: OutboxMessage) -> bytes:
    p = msg.payload
    if p.get("format", "json") == "slack":
        body: dict[str, Any] = {"text": p["text"]}
        if p.get("blocks"):
            body["blocks"] = p["blocks"]
    else:
        body = {"id": msg.idempotency_key, "category": msg.category, "data": p.get("body", {})}
    return json.dumps(body, separators=(",", ":"), sort_keys=True, default=str).encode("utf-8")


def post(msg: OutboxMessage, key: bytes, timeout: float) -> int:
    """POST the message; returns the HTTP status, WebhookFailed for anything but 2xx."""
    body = webhook_body(msg)
    stamp = str(int(time.time()))
    request = urllib.request.Request(msg.payload["url"], data=body, method="POST", headers={
        "Content-Type": "application/json", "User-Agent": USER_AGENT,
        "Idempotency-Key": msg.idempotency_key, "X-Tenure-Timestamp": stamp,
        "X-Tenure-Signature": sign_webhook(key, stamp, body)})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - http(s) checked at enqueue
            return response.status
    except urllib.error.HTTPError as err:
        raise WebhookFailed(f"HTTP {err.code} {err.reason} from {_host(msg)}") from None
    except (urllib.error.URLError, OSError) as err:
        reason = getattr(err, "reason", err)
        raise WebhookFailed(f"cannot reach {_host(msg)}: {reason}") from None


def _host(msg: OutboxMessage) -> str:
    return urllib.parse.urlparse(msg.payload["url"]).netloc

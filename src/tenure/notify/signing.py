"""Keys and signatures of the notify stage: webhook signatures (HMAC-SHA256) and unsubscribe
tokens (an address and a category, signed, so an unsubscribe link cannot be forged for someone
else)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from pathlib import Path
from typing import Any

from tenure.errors import ConfigError

SECRET_FILE = ".tenure_secret"
_KEYS: dict[str, bytes] = {}


def project_secret(config: Any) -> bytes:
    """The project's signing key: `secret_key` (TENURE_SECRET_KEY) when configured, otherwise the
    random key in `.tenure_secret` beside tenure.yaml (mode 0600, created on first use) that the
    web app's login tokens use too, so every process of the project shares it."""
    if getattr(config, "secret_key", None):
        return config.secret_key.encode()
    path = Path(config.base_dir) / SECRET_FILE
    key = _KEYS.get(str(path))
    if key is None:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_urlsafe(48))
        except FileExistsError:
            pass
        key = path.read_text(encoding="utf-8").strip().encode()
        if not key:
            raise ConfigError(f"{SECRET_FILE} is empty: delete it, or set TENURE_SECRET_KEY")
        _KEYS[str(path)] = key
    return key


def webhook_secret(config: Any) -> bytes:
    """The HMAC key of webhook signatures: the environment variable `notify.webhook_secret_env`
    (what receivers are given), else the project secret."""
    value = os.environ.get(config.notify.webhook_secret_env)
    return value.encode() if value else project_secret(config)


def sign_webhook(key: bytes, timestamp: str, body: bytes) -> str:
    """`sha256=<hex>` of HMAC-SHA256(key, "<timestamp>." + body): what the X-Tenure-Signature header
    carries. A receiver recomputes it over the raw body and the X-Tenure-Timestamp header."""
    mac = hmac.new(key, timestamp.encode("ascii") + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={mac}"


def verify_webhook(key: bytes, timestamp: str, body: bytes, signature: str) -> bool:
    return hmac.compare_digest(sign_webhook(key, timestamp, body), signature or "")


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def unsubscribe_token(key: bytes, address: str, category: str | None) -> str:
    """A token naming (address, category) with its signature; `read_unsubscribe_token` checks it."""
    body = f"{address.lower()}\n{category or '*'}".encode()
    mac = hmac.new(key, b"tenure-unsubscribe:" + body, hashlib.sha256).digest()[:16]
    return f"{_b64(body)}.{_b64(mac)}"


def read_unsubscribe_token(key: bytes, token: str) -> tuple[str, str] | None:
    """(address, category) of a genuine token ('*' = every category), None for a forged one."""
    try:
        body_text, mac_text = token.split(".", 1)
        body = _unb64(body_text)
        mac = _unb64(mac_text)
    except (ValueError, TypeError):
        return None
    want = hmac.new(key, b"tenure-unsubscribe:" + body, hashlib.sha256).digest()[:16]
    if not hmac.compare_digest(want, mac):
        return None
    address, _, category = body.decode("utf-8", "replace").partition("\n")
    return address, category or "*"

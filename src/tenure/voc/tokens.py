"""The public survey page's credentials: signed, expiring tokens (HMAC-SHA256 with the project
secret, tenure.notify.signing.project_secret).

An invitation token is `<invitation_id>.<expiry>.<mac>`: the invitation's random id (128 bits,
so it cannot be guessed), its expiry (Unix seconds) and the first 16 bytes of
HMAC(key, "tenure-survey:" + id + "." + expiry). Editing any part breaks the MAC, so neither the
id nor the expiry can be changed; single use is the invitation row's answered_at, checked by
tenure.voc.responses. A share-link token signs (program, account) the same way.

The comment form of an unauthenticated page needs its own CSRF defence: `form_nonce` is
HMAC(key, "tenure-survey-form:" + response_id), a value only a page that showed this response
can know; the POST must carry it (together with the token)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone

MAX_TOKEN = 300
_INVITE = b"tenure-survey:"
_LINK = b"tenure-survey-link:"
_FORM = b"tenure-survey-form:"


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: bytes, purpose: bytes, body: str) -> str:
    return _b64(hmac.new(key, purpose + body.encode("utf-8"), hashlib.sha256).digest()[:16])


def new_invitation_id() -> str:
    """A random invitation id: 'i' and 22 URL-safe characters (128 bits)."""
    return "i" + secrets.token_urlsafe(16)


def _epoch(at: datetime) -> int:
    return int(at.replace(tzinfo=timezone.utc).timestamp())


@dataclass(frozen=True)
class InvitationClaim:
    invitation_id: str
    expires_at: datetime  # naive UTC


def invitation_token(key: bytes, invitation_id: str, expires_at: datetime) -> str:
    body = f"{invitation_id}.{_epoch(expires_at)}"
    return f"{body}.{_mac(key, _INVITE, body)}"


def read_invitation_token(key: bytes, token: str | None) -> InvitationClaim | None:
    """The claim of a genuine token (expired or not: the caller says which), None for anything
    forged, edited, truncated or too long."""
    if not token or len(token) > MAX_TOKEN or token.count(".") != 2:
        return None
    invitation_id, expiry, mac = token.split(".")
    body = f"{invitation_id}.{expiry}"
    if not expiry.isdigit() or not hmac.compare_digest(_mac(key, _INVITE, body), mac):
        return None
    return InvitationClaim(invitation_id, datetime.fromtimestamp(int(expiry), timezone.utc).replace(tzinfo=None))


def link_token(key: bytes, program: str, account_id: str) -> str:
    """A share link's token: (program, account) signed; it does not expire (pause the program or
    drop the channel to stop it)."""
    body = _b64(f"{program}\n{account_id}".encode("utf-8"))
    return f"L{body}.{_mac(key, _LINK, body)}"


def read_link_token(key: bytes, token: str | None) -> tuple[str, str] | None:
    """(program, account_id) of a genuine share-link token, else None."""
    if not token or len(token) > MAX_TOKEN or not token.startswith("L") or token.count(".") != 1:
        return None
    body, mac = token[1:].split(".")
    if not hmac.compare_digest(_mac(key, _LINK, body), mac):
        return None
    try:
        program, _, account_id = _unb64(body).decode("utf-8").partition("\n")
    except (ValueError, UnicodeDecodeError):
        return None
    return (program, account_id) if program and account_id else None


def form_nonce(key: bytes, response_id: str) -> str:
    """The comment form's CSRF value for one response."""
    return _mac(key, _FORM, response_id)


def check_form_nonce(key: bytes, response_id: str, nonce: str | None) -> bool:
    return bool(nonce) and hmac.compare_digest(form_nonce(key, response_id), str(nonce))

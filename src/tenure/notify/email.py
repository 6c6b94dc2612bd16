"""Emails from outbox rows: the message (stable Message-ID, sent in the CSM's name, with a
List-Unsubscribe header) and its two transports: an SMTP server (`notify.smtp`) or, with none
configured (the embedded default), `.eml` files in `notify.eml_dir` that any mail program opens.
"""

from __future__ import annotations

import os
import smtplib
import ssl
import tempfile
from datetime import timezone
from email import policy as email_policy
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

from tenure.errors import ConfigError
from tenure.notify.signing import project_secret, unsubscribe_token
from tenure.state.models import OutboxMessage, utcnow


# headers up to SMTP's 998-character line limit: a folded List-Unsubscribe URI would be mangled
# into an RFC 2047 encoded word, which mail clients cannot follow
POLICY = email_policy.SMTP.clone(max_line_length=998)


def message_id(idempotency_key: str, from_address: str) -> str:
    """The Message-ID of an outbox email: the same for every attempt at the same row."""
    domain = from_address.rpartition("@")[2] or "localhost"
    return f"<{idempotency_key}@{domain}>"


def unsubscribe_page(config: Any) -> str | None:
    """The unsubscribe page's URL: `notify.unsubscribe_url`, else /unsubscribe under
    `web.public_url` (tenure serve's own page, tenure.web.unsubscribe), else None."""
    if config.notify.unsubscribe_url:
        return config.notify.unsubscribe_url
    public = getattr(getattr(config, "web", None), "public_url", None)
    return f"{public.rstrip('/')}/unsubscribe" if public else None


def unsubscribe_links(config: Any, address: str, category: str | None) -> list[str]:
    """The List-Unsubscribe URIs for an address and category (empty when none is configured)."""
    settings = config.notify
    page = unsubscribe_page(config)
    if not (page or settings.unsubscribe_mailto):
        return []
    token = unsubscribe_token(project_secret(config), address, category)
    links = []
    if page:
        sep = "&" if "?" in page else "?"
        links.append(f"{page}{sep}token={quote(token)}")
    if settings.unsubscribe_mailto:
        links.append(f"mailto:{settings.unsubscribe_mailto}?subject={quote('unsubscribe ' + token)}")
    return links


def build_email(config: Any, msg: OutboxMessage) -> EmailMessage:
    """The email for an outbox row (same headers on every attempt but Date)."""
    settings = config.notify
    p = msg.payload
    email = EmailMessage(policy=POLICY)
    csm_name, csm_address = p.get("from_name"), p.get("reply_to")
    if settings.send_as == "from" and csm_address:
        email["From"] = formataddr((csm_name or "", csm_address))
        email["Sender"] = formataddr((settings.from_name, settings.from_address))
    else:
        shown = f"{csm_name} via {settings.from_name}" if csm_name else settings.from_name
        email["From"] = formataddr((shown, settings.from_address))
        if csm_address:
            email["Reply-To"] = formataddr((csm_name or "", csm_address))
    email["To"] = formataddr((p.get("to_name") or "", p["to"]))
    email["Subject"] = p["subject"]
    email["Message-ID"] = message_id(msg.idempotency_key, settings.from_address)
    email["Date"] = format_datetime(utcnow().replace(tzinfo=timezone.utc))
    email["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to automated mail
    email["X-Tenure-Outbox-Id"] = str(msg.id)
    if msg.category:
        email["X-Tenure-Category"] = msg.category
    links = unsubscribe_links(config, p["to"], msg.category)
    if links:
        email["List-Unsubscribe"] = ", ".join(f"<{u}>" for u in links)
        if unsubscribe_page(config):
            email["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"  # RFC 8058
    email.set_content(p["text"])
    if p.get("html"):
        email.add_alternative(p["html"], subtype="html")
    return email


class EmailTransport(Protocol):
    def send(self, email: EmailMessage, msg: OutboxMessage) -> None: ...

    def close(self) -> None: ...


class EmlFolder:
    """Writes each email to `<folder>/<outbox id>-<idempotency key>.eml`, atomically (a temporary
    file renamed into place), so a resend replaces the same file instead of adding one."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def send(self, email: EmailMessage, msg: OutboxMessage) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        target = self.folder / f"{msg.id:08d}-{msg.idempotency_key}.eml"
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".eml", dir=self.folder)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(email.as_bytes())
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def close(self) -> None:
        pass


class SmtpServer:
    """One SMTP connection for a delivery pass, opened on first use and reopened after an error."""

    def __init__(self, settings: Any):
        self.settings = settings
        self._conn: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        if s.security == "ssl":
            conn = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout_seconds, context=ssl.create_default_context())
        else:
            conn = smtplib.SMTP(s.host, s.port, timeout=s.timeout_seconds)
            if s.security == "starttls":
                conn.starttls(context=ssl.create_default_context())
        if s.username:
            password = os.environ.get(s.password_env)
            if password is None:
                conn.close()
                raise ConfigError(f"notify.smtp.username is set but the environment variable {s.password_env} "
                                  f"(notify.smtp.password_env) holding the password is not")
            conn.login(s.username, password)
        return conn

    def send(self, email: EmailMessage, msg: OutboxMessage) -> None:
        if self._conn is None:
            self._conn = self._connect()
        try:
            self._conn.send_message(email)
        except Exception as err:
            if not isinstance(err, (smtplib.SMTPResponseException, smtplib.SMTPRecipientsRefused)):
                self.close()  # the connection is gone or in an unknown state: the next message reconnects
            raise

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.quit()
            except (smtplib.SMTPException, OSError):
                self._conn.close()
            self._conn = None


def transport(config: Any) -> EmailTransport:
    """SMTP when `notify.smtp` is configured, else the .eml folder."""
    if config.notify.smtp is not None:
        return SmtpServer(config.notify.smtp)
    return EmlFolder(config.resolve_path(config.notify.eml_dir))

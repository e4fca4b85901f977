"""How sign-in mails leave: a pluggable sender. SMTP in production; a local outbox file (JSON
Lines) for development and tests. A local SMTP catcher works with the SMTP sender as is."""

from __future__ import annotations

import asyncio
import json
import smtplib
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

from sync.settings import Settings

__all__ = ["FileSender", "Mail", "MailSender", "SmtpSender", "sender_from"]

SMTP_TIMEOUT_S = 20.0


@dataclass(frozen=True)
class Mail:
    """One plain-text mail to one address."""

    to: str
    subject: str
    text: str


class MailSender(Protocol):
    """Sends one mail; raises when it could not be handed over."""

    async def send(self, mail: Mail) -> None: ...


@dataclass(frozen=True)
class SmtpSender:
    """Hands mails to an SMTP server (STARTTLS and login when configured)."""

    host: str
    port: int
    sender: str
    starttls: bool = False
    username: str | None = None
    password: str | None = None

    async def send(self, mail: Mail) -> None:
        """Send in a worker thread: smtplib blocks."""
        await asyncio.to_thread(self._send, mail)

    def _send(self, mail: Mail) -> None:
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = self.sender, mail.to, mail.subject
        message.set_content(mail.text)
        with smtplib.SMTP(self.host, self.port, timeout=SMTP_TIMEOUT_S) as smtp:
            if self.starttls:
                smtp.starttls()
            if self.username:
                smtp.login(self.username, self.password or "")
            smtp.send_message(message)


@dataclass(frozen=True)
class FileSender:
    """Appends each mail as one JSON line to ``path``: the outbox a developer or a test reads."""

    path: Path

    async def send(self, mail: Mail) -> None:
        """Append the mail (one short write: no thread needed)."""
        line = json.dumps({"at": datetime.now(UTC).isoformat(), "to": mail.to,
                           "subject": mail.subject, "text": mail.text}, ensure_ascii=False)
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(line + "\n")


def sender_from(settings: Settings) -> MailSender:
    """The sender ``settings.provider_mail`` names."""
    if settings.provider_mail == "file":
        return FileSender(Path(settings.provider_mail_file))
    password = settings.provider_smtp_password
    return SmtpSender(settings.provider_smtp_host, settings.provider_smtp_port,
                      settings.provider_mail_from, settings.provider_smtp_starttls,
                      settings.provider_smtp_username,
                      password.get_secret_value() if password else None)

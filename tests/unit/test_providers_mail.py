"""Sign-in mails leave by SMTP (to a local SMTP catcher here) or into an outbox file."""

from __future__ import annotations

import json
from collections.abc import Iterator
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from devstack import free_port
from sync.providers.mail import FileSender, Mail, SmtpSender, sender_from
from sync.settings import Settings

MAIL = Mail("mira@example.be", "Sign in", "https://mijnfiche.example/provider/link/abc\n")


class Catcher:
    """An SMTP handler that keeps every message it receives."""

    def __init__(self) -> None:
        self.received: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append(message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def catcher() -> Iterator[tuple[Catcher, int]]:
    handler, port = Catcher(), free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


async def test_a_mail_sent_by_smtp_arrives_with_its_link(catcher: tuple[Catcher, int]) -> None:
    """Sender, recipient, subject and the link in the body, as the server received them."""
    handler, port = catcher
    await SmtpSender("127.0.0.1", port, "Sociale Kaart <noreply@socialekaart.be>").send(MAIL)
    [message] = handler.received
    assert (message["To"], message["Subject"]) == ("mira@example.be", "Sign in")
    assert "noreply@socialekaart.be" in message["From"]
    assert "/provider/link/abc" in message.get_payload()  # type: ignore[operator]


async def test_a_mail_that_cannot_be_handed_over_raises() -> None:
    """No server: the caller learns it (and logs it) rather than believing it was sent."""
    with pytest.raises(ConnectionRefusedError):
        await SmtpSender("127.0.0.1", free_port(), "noreply@socialekaart.be").send(MAIL)


async def test_the_outbox_file_keeps_one_json_line_per_mail(tmp_path: Path) -> None:
    """Mails are appended, never overwritten."""
    path = tmp_path / "outbox.jsonl"
    sender = sender_from(Settings(provider_mail="file", provider_mail_file=str(path)))
    assert isinstance(sender, FileSender)
    await sender.send(MAIL)
    await sender.send(MAIL)
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [(m["to"], m["text"]) for m in lines] == [(MAIL.to, MAIL.text)] * 2

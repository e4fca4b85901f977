"""Kafka clients built from settings (security options included) and a batched send."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Iterable
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from sync.errors import TransientError
from sync.settings import Settings

__all__ = ["Outgoing", "client_options", "new_producer", "send_all"]

Outgoing = tuple[str, bytes | None, bytes, list[tuple[str, bytes]]]  # topic, key, value, headers


def client_options(settings: Settings) -> dict[str, Any]:
    """Connection options shared by producers, consumers and admin clients."""
    security = settings.kafka_security
    options: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap_servers,
        "security_protocol": security.protocol,
    }
    if security.protocol.startswith("SASL"):
        options["sasl_mechanism"] = security.sasl_mechanism
        options["sasl_plain_username"] = security.sasl_username
        options["sasl_plain_password"] = (
            security.sasl_password.get_secret_value() if security.sasl_password else None)
    if security.protocol.endswith("SSL"):
        context = ssl.create_default_context(cafile=security.ssl_cafile)
        if security.ssl_certfile:
            context.load_cert_chain(security.ssl_certfile, security.ssl_keyfile)
        options["ssl_context"] = context
    return options


def new_producer(settings: Settings) -> AIOKafkaProducer:
    """An idempotent producer (acks=all): a retried send is never written twice. It lingers
    1 ms: a batch of the map stage or the relay is sent whole anyway (all its messages are
    handed over before the first request leaves), and a lone message waits no longer."""
    return AIOKafkaProducer(
        **client_options(settings), enable_idempotence=True, linger_ms=1,
        max_batch_size=256 * 1024, compression_type=None, request_timeout_ms=30000,
    )


async def send_all(producer: AIOKafkaProducer, messages: Iterable[Outgoing]) -> None:
    """Send every message and wait until the broker has acknowledged all of them."""
    try:
        futures = [
            await producer.send(topic, value=value, key=key, headers=headers)
            for topic, key, value, headers in messages
        ]
        await asyncio.gather(*futures)
    except KafkaError as error:
        raise TransientError(f"publish failed: {type(error).__name__}") from error

"""One login to Kafka before anything else, so refused credentials fail the start by name.

aiokafka's clients bootstrap by trying each server in turn: when the broker refuses the SASL
login they log ``SaslAuthenticationFailed`` and raise a ``KafkaConnectionError`` ("Unable to
bootstrap"), which cannot be told from a broker that is away. Connecting once ourselves gets
the broker's answer as an exception: retrying cannot fix a wrong password, so it is permanent.
"""

from __future__ import annotations

import asyncio

from aiokafka.conn import create_conn
from aiokafka.errors import (
    AuthenticationFailedError,
    IllegalSaslStateError,
    KafkaError,
    SaslAuthenticationFailed,
    UnsupportedSaslMechanismError,
)

from sync.producers.kafka import client_options
from sync.settings import Settings

__all__ = ["KafkaAuthenticationError", "check_kafka_login"]

_REFUSED = (SaslAuthenticationFailed, AuthenticationFailedError, UnsupportedSaslMechanismError,
            IllegalSaslStateError)


class KafkaAuthenticationError(RuntimeError):
    """The broker refused the configured credentials (or mechanism). Never retried."""


async def check_kafka_login(settings: Settings, timeout_s: float = 10.0) -> None:
    """Log in to the first bootstrap server that answers; raise :class:`KafkaAuthenticationError`
    when it refuses. Without SASL, or when no server answers (the start's own retries deal with
    an absent broker), this does nothing."""
    security = settings.kafka_security
    if not security.protocol.startswith("SASL"):
        return
    options = client_options(settings)
    for server in str(options.pop("bootstrap_servers")).split(","):
        host, _, port = server.strip().rpartition(":")
        try:
            async with asyncio.timeout(timeout_s):
                conn = await create_conn(host, int(port), request_timeout_ms=int(timeout_s * 1000),
                                         **options)
        except _REFUSED as error:
            raise KafkaAuthenticationError(
                f"Kafka at {server.strip()} refused the {security.sasl_mechanism} login of user "
                f"{security.sasl_username!r}: {error}") from None
        except (OSError, KafkaError, TimeoutError, ValueError):
            continue
        conn.close()
        return

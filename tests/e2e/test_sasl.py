"""The service on a broker that demands SASL (SCRAM-SHA-512): it works with the right
credentials and fails at once, saying why, with wrong ones; and it works over TLS (SASL_SSL,
trusting the local authority that signed the broker's certificate).

A broker of its own (``LocalKafka(sasl_users=...)`` in a temporary folder), not the session's:
its SCRAM users are created when its storage is formatted. "Fails clearly" means: the start
raises :class:`KafkaAuthenticationError` naming the user, the mechanism and the broker's
"Authentication failed", within seconds rather than retrying for ever; ``sksync run`` ends
with exit code 1 and that as its last line (``error: ...``), without a traceback; and the
password is in neither.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from devstack import LocalKafka
from sync.app import Service
from sync.producers.login import KafkaAuthenticationError
from sync.settings import KafkaSecurity, Settings
from tests.support.builders import nihii, professional
from tests.support.process import service_env
from tests.support.service import fiche_event_of, running_service

pytestmark = pytest.mark.slow

USER, PASSWORD, WRONG = "sksync", "Scram-Secret-42!", "not-the-password"
#: How long a refused login may take to end the start.
FAIL_WITHIN_S = 30


def own_broker(prefix: str, tls: bool) -> Iterator[LocalKafka]:
    """A broker of its own in a temporary folder, with one SCRAM user; removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    kafka = LocalKafka(folder / "kafka", sasl_users={USER: PASSWORD}, tls=tls)
    try:
        kafka.start()
        yield kafka
    finally:
        kafka.stop()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def sasl_kafka() -> Iterator[LocalKafka]:
    """A broker with a SASL_PLAINTEXT listener and one SCRAM user, for this module only."""
    yield from own_broker("sksync-sasl-", tls=False)


@pytest.fixture(scope="module")
def sasl_ssl_kafka() -> Iterator[LocalKafka]:
    """A broker with a SASL_SSL listener (certificate made with keytool) and one SCRAM user."""
    yield from own_broker("sksync-tls-", tls=True)


def with_login(settings: Settings, kafka: LocalKafka, password: str) -> Settings:
    protocol = "SASL_SSL" if kafka.tls else "SASL_PLAINTEXT"
    security = KafkaSecurity(protocol=protocol, sasl_mechanism="SCRAM-SHA-512",
                             sasl_username=USER, sasl_password=SecretStr(password),
                             ssl_cafile=str(kafka.ca_file) if kafka.tls else None)
    return settings.model_copy(update={"kafka_bootstrap_servers": kafka.sasl_bootstrap,
                                       "kafka_security": security})


async def test_with_the_right_credentials_a_source_event_becomes_a_fiche_event(
    sasl_kafka: LocalKafka, settings: Settings,
) -> None:
    """Subscribers, producer, relay and admin client all log in."""
    config = with_login(settings, sasl_kafka, PASSWORD)
    async with running_service(config):
        event = await fiche_event_of(config, professional(nihii("1"), last="Scram"))
    assert event["data"]["snapshot"]["name.last"] == "Scram"


async def test_over_tls_with_scram_a_source_event_becomes_a_fiche_event(
    sasl_ssl_kafka: LocalKafka, settings: Settings,
) -> None:
    """SASL_SSL: every client verifies the broker's certificate against the local authority,
    logs in with SCRAM-SHA-512, and the whole flow runs encrypted."""
    config = with_login(settings, sasl_ssl_kafka, PASSWORD)
    async with running_service(config):
        event = await fiche_event_of(config, professional(nihii("2"), last="Encrypted"))
    assert event["data"]["snapshot"]["name.last"] == "Encrypted"
    listeners = sasl_ssl_kafka.properties_file.read_text()
    assert f"SASL_SSL://{sasl_ssl_kafka.sasl_bootstrap}" in listeners
    assert "SASL_PLAINTEXT" not in listeners


async def test_with_a_wrong_password_the_start_fails_at_once_naming_the_refused_login(
    sasl_kafka: LocalKafka, settings: Settings,
) -> None:
    """Not retried: a password does not become right by waiting."""
    service = Service(with_login(settings, sasl_kafka, WRONG), serve_http=False)
    try:
        with pytest.raises(KafkaAuthenticationError) as refused:
            await asyncio.wait_for(service.start(), FAIL_WITHIN_S)
    finally:
        await service.stop()
    message = str(refused.value)
    assert f"SCRAM-SHA-512 login of user '{USER}'" in message
    assert "Authentication failed" in message
    assert sasl_kafka.sasl_bootstrap in message
    assert WRONG not in message


def test_sksync_run_with_a_wrong_password_exits_with_one_line_saying_so(
    sasl_kafka: LocalKafka, settings: Settings,
) -> None:
    """What an operator sees on the console."""
    config = with_login(settings, sasl_kafka, WRONG)
    env = service_env(config, SKSYNC_KAFKA_SECURITY__PROTOCOL="SASL_PLAINTEXT",
                      SKSYNC_KAFKA_SECURITY__SASL_MECHANISM="SCRAM-SHA-512",
                      SKSYNC_KAFKA_SECURITY__SASL_USERNAME=USER,
                      SKSYNC_KAFKA_SECURITY__SASL_PASSWORD=WRONG)
    result = subprocess.run(  # noqa: S603 - our own entry point
        [str(Path(sys.executable).parent / "sksync"), "run"], env=env, capture_output=True,
        text=True, timeout=FAIL_WITHIN_S + 30, check=False)
    output = result.stdout + result.stderr
    last = [line for line in result.stderr.splitlines() if line.strip()][-1]
    assert result.returncode == 1, output
    assert last.startswith("error: Kafka at ")
    assert f"refused the SCRAM-SHA-512 login of user '{USER}'" in last
    assert "Traceback" not in output
    assert WRONG not in output

"""The alternative a team would pick instead: Kafka Connect (standalone) with Debezium's JDBC
sink connector, upserting the same canonical updates into a PostgreSQL table.

The JDBC sink needs records with a schema, and the canonical update is nested JSON whose
``fields`` vary by source. So each canonical update of the load (made from its source event by
the service's own mapping) is written, before the clock starts, to a topic of its own as a
flat JSON-with-schema record (``JsonConverter`` with
``schemas.enable=true``): scalar columns, and ``identifiers`` / ``fields`` / ``origin`` as JSON
text. Connect upserts them on ``(source, record_id)``: one row per source record, the latest
version winning - the same keys the service keeps provenance on, without any of its rules.

The jars come from Maven Central through ``bench/connect/pom.xml`` (cached like the broker's).
The embedded PostgreSQL listens on a Unix socket only; the JDBC driver reaches it through
junixsocket's socket factory.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.parse
from pathlib import Path
from typing import Any

import asyncpg
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from bench.kafka_io import bulk_producer, consumer, partitions
from devstack import free_port
from sync.cloudevents import decode, with_masked_id
from sync.mapping import MappingContext
from sync.producers.kafka import client_options
from sync.settings import Settings
from sync.sources import map_event

__all__ = ["connect_benchmark", "connect_lib_dir"]

POM = Path(__file__).resolve().parent / "connect" / "pom.xml"
LOG4J = Path(__file__).resolve().parents[1] / "deploy" / "kafka" / "log4j2.properties"
PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.8.1"
TABLE = "connect_fiche_update"
LOADED = "bench-p-"  # the id prefix of the initial load's source events (bench.events)
FIELDS = (("update_id", "string"), ("source", "string"), ("record_id", "string"),
          ("source_version", "int64"), ("observed_at", "string"), ("kind", "string"),
          ("action", "string"), ("origin", "string"), ("identifiers", "string"),
          ("fields", "string"))
#: Made before the worker starts: with ``schema.evolution=basic`` every task would try to
#: create it at once, and all but one fail (a race inside PostgreSQL's catalog).
CREATE_TABLE = f"""
CREATE TABLE {TABLE} (
    update_id text, source text NOT NULL, record_id text NOT NULL,
    source_version bigint NOT NULL, observed_at text, kind text, action text, origin text,
    identifiers text, fields text,
    PRIMARY KEY (source, record_id)
)
"""
SCHEMA = {"type": "struct", "name": "sksync.FicheUpdate", "optional": False,
          "fields": [{"field": name, "type": kind, "optional": name not in
                      ("source", "record_id", "source_version")} for name, kind in FIELDS]}


def connect_lib_dir() -> Path:
    """The runtime classpath of ``bench/connect/pom.xml``, fetched once with Maven."""
    digest = hashlib.sha256(POM.read_bytes()).hexdigest()[:12]
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = (Path(xdg) if xdg else Path.home() / ".cache") / "sociale-kaart-sync"
    lib = base / f"connect-{digest}" / "lib"
    if any(lib.glob("connect-runtime-*.jar")):
        return lib
    mvn = shutil.which("mvn")
    if mvn is None:
        raise RuntimeError("mvn not found: Maven fetches the Kafka Connect jars")
    tmp = lib.with_name(f"lib.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    result = subprocess.run(  # noqa: S603 - fixed argv
        [mvn, "-q", "-B", "-Dstyle.color=never", "-f", str(POM), f"{PLUGIN}:copy-dependencies",
         "-DincludeScope=runtime", f"-DoutputDirectory={tmp}"],
        capture_output=True, text=True, timeout=900, check=False)
    if result.returncode != 0 or not any(tmp.glob("connect-runtime-*.jar")):
        shutil.rmtree(tmp, ignore_errors=True)
        raise RuntimeError("mvn could not fetch the Kafka Connect jars:\n"
                           + (result.stdout + result.stderr)[-2000:])
    shutil.rmtree(lib, ignore_errors=True)
    tmp.rename(lib)
    return lib


def jdbc_url(database_url: str) -> tuple[str, str]:
    """(JDBC URL, user) for an asyncpg URL; a socket folder as host goes through junixsocket."""
    parts = urllib.parse.urlsplit(database_url)
    query = urllib.parse.parse_qs(parts.query)
    database = parts.path.lstrip("/")
    user = parts.username or "postgres"
    host = query.get("host", [parts.hostname or "127.0.0.1"])[0]
    port = query.get("port", [str(parts.port or 5432)])[0]
    if host.startswith("/"):
        socket = f"{host}/.s.PGSQL.{port}"
        return (f"jdbc:postgresql://localhost/{database}?socketFactory="
                f"org.newsclub.net.unix.AFUNIXSocketFactory$FactoryArg"
                f"&socketFactoryArg={socket}&sslmode=disable", user)
    return f"jdbc:postgresql://{host}:{port}/{database}", user


def flat(update: dict[str, Any]) -> bytes:
    """One canonical update as a JSON-with-schema record of flat columns."""
    payload = {
        "update_id": update.get("updateId"), "source": update["source"],
        "record_id": update["recordId"], "source_version": update["sourceVersion"],
        "observed_at": update.get("observedAt"), "kind": update.get("kind"),
        "action": update.get("action", "upsert"),
        "origin": json.dumps(update.get("origin"), ensure_ascii=False),
        "identifiers": json.dumps(update.get("identifiers", []), ensure_ascii=False),
        "fields": json.dumps(update.get("fields", {}), ensure_ascii=False),
    }
    return json.dumps({"schema": SCHEMA, "payload": payload}, ensure_ascii=False).encode()


async def copy_updates(settings: Settings, topic: str, count: int, timeout: float = 600) -> int:
    """Copy, flattened, to ``topic`` the canonical updates of the initial load: the same
    ``count`` records the service loaded. In one hop nothing goes through ``sk.fiche.update``,
    so they are made here from the source events, with the service's own decoding and mapping
    (the same updates the map stage would publish there)."""
    source = settings.topics.name("cobrha_professional")
    secret = settings.ssin_secret.get_secret_value().encode()
    context = MappingContext(ssin_secret=secret)
    copied = 0
    async with consumer(settings, max_partition_fetch_bytes=8 * 1024 * 1024) as reader, \
            bulk_producer(settings) as producer:
        parts = await partitions(reader, source)
        admin = AIOKafkaAdminClient(**client_options(settings))
        await admin.start()
        try:  # as many partitions as the source topic: Connect runs one task per partition
            await admin.create_topics([NewTopic(topic, len(parts), 1)])
        finally:
            await admin.close()
        reader.assign(parts)
        await reader.seek_to_beginning(*parts)
        deadline = time.monotonic() + timeout
        idle = 0
        while copied < count and time.monotonic() < deadline and idle < 3:
            batches = await reader.getmany(timeout_ms=1000, max_records=5000)
            idle = 0 if batches else idle + 1
            futures = []
            for records in batches.values():
                for record in records:
                    event = with_masked_id(decode(record.value), secret)
                    # The load's own events: version 1 of each professional (the update phase
                    # publishes version 2 of some under the same prefix before Connect runs).
                    if not (event.id.startswith(LOADED) and event.id.endswith("-v1")):
                        continue
                    for update in map_event(event, context):
                        document = json.loads(update.model_dump_json(by_alias=True))
                        futures.append(await producer.send(topic, value=flat(document),
                                                           key=update.key.encode()))
            await asyncio.gather(*futures)
            copied += len(futures)
    return copied


def _spawn(command: list[str], log_path: Path) -> subprocess.Popen[bytes]:
    with log_path.open("wb") as handle:
        return subprocess.Popen(  # noqa: S603 - fixed argv
            command, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True)


def _properties(values: dict[str, str]) -> str:
    return "".join(f"{key}={value}\n" for key, value in values.items())


async def _rows(url: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        return int(await conn.fetchval(f"SELECT count(*) FROM {TABLE}") or 0)  # noqa: S608
    except asyncpg.UndefinedTableError:
        return 0
    finally:
        await conn.close()


def _peak_rss_mb(pid: int) -> float:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


async def connect_benchmark(settings: Settings, events: int, tasks: int = 3) -> dict[str, Any]:
    """Time Kafka Connect from worker start until all ``events`` records are in the table."""
    try:
        lib = await asyncio.to_thread(connect_lib_dir)
    except (RuntimeError, subprocess.TimeoutExpired) as error:
        return {"skipped": f"no Kafka Connect jars: {error}"[:300]}
    topic = settings.topics.prefix + "bench.connect.fiche-update"
    copied = await copy_updates(settings, topic, events)
    conn = await asyncpg.connect(settings.database_url)
    try:
        await conn.execute(CREATE_TABLE)
    finally:
        await conn.close()
    workdir = Path(tempfile.mkdtemp(prefix="sksync-connect-"))
    url, user = jdbc_url(settings.database_url)
    (workdir / "worker.properties").write_text(_properties({
        "bootstrap.servers": settings.kafka_bootstrap_servers,
        "key.converter": "org.apache.kafka.connect.storage.StringConverter",
        "value.converter": "org.apache.kafka.connect.json.JsonConverter",
        "value.converter.schemas.enable": "true",
        "offset.storage.file.filename": str(workdir / "offsets"),
        "offset.flush.interval.ms": "10000",
        "listeners": f"http://127.0.0.1:{free_port()}",
        "plugin.discovery": "service_load",
    }))
    (workdir / "sink.properties").write_text(_properties({
        "name": "bench-jdbc-sink",
        "connector.class": "io.debezium.connector.jdbc.JdbcSinkConnector",
        "tasks.max": str(tasks),
        "topics": topic,
        "connection.url": url,
        "connection.username": user,
        "connection.password": "",
        "insert.mode": "upsert",
        "delete.enabled": "false",
        "primary.key.mode": "record_value",
        "primary.key.fields": "source,record_id",
        "schema.evolution": "none",
        "collection.name.format": TABLE,
    }))
    command = ["java", "-Xms256m", "-Xmx1g", f"-Dlog4j2.configurationFile={LOG4J}",
               "-cp", f"{lib}/*", "org.apache.kafka.connect.cli.ConnectStandalone",
               str(workdir / "worker.properties"), str(workdir / "sink.properties")]
    log_path = workdir / "connect.log"
    started = time.time()
    process = _spawn(command, log_path)
    first = last = None
    peak = 0.0
    try:
        deadline = time.monotonic() + max(180.0, events / 100)
        progress = (0, time.monotonic())
        while time.monotonic() < deadline and process.poll() is None:
            rows = await _rows(settings.database_url)
            peak = max(peak, _peak_rss_mb(process.pid))
            if rows and first is None:
                first = time.time()
            if rows >= copied:
                last = time.time()
                break
            if rows != progress[0]:
                progress = (rows, time.monotonic())
            elif rows and time.monotonic() - progress[1] > 60:
                break  # stuck (a failed task): give up, say so below
            await asyncio.sleep(0.2)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.to_thread(process.wait, 30)
        except subprocess.TimeoutExpired:
            process.kill()
            await asyncio.to_thread(process.wait, 10)
    tail = log_path.read_text(errors="replace").splitlines()[-15:]
    shutil.rmtree(workdir, ignore_errors=True)
    if last is None or first is None:
        return {"skipped": "Kafka Connect did not upsert every record in time",
                "records": copied, "rows": await _rows(settings.database_url),
                "log_tail": tail}
    return {
        "records": copied, "seconds": last - started, "events_per_s": copied / (last - started),
        "first_row_after_s": first - started, "busy_rate": copied / max(1e-6, last - first),
        "peak_rss_mb": peak, "tasks": tasks, "table": TABLE,
        "versions": {"connect-runtime": "4.1.1", "debezium-connector-jdbc": "3.6.0.Final"},
    }

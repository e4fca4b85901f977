"""The Kafka jars of the local broker: ``$KAFKA_HOME/libs`` or Maven Central, cached per version."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from pathlib import Path

from devstack.maven import copy_dependencies, maven
from devstack.procs import (
    CACHE_NAME,
    StackError,
    cache_home,
    file_lock,
    repo_root,
    say,
    write_atomic,
)

__all__ = [
    "kafka_lib_dir",
    "kafka_version",
    "log4j_config",
]

def kafka_version(pom: Path) -> str:
    """The Kafka version ``pom`` resolves."""
    text = pom.read_text()
    match = re.search(r"<kafka\.version>\s*([^<\s]+)\s*</kafka\.version>", text) or re.search(
        r"<artifactId>kafka_[\d.]+</artifactId>\s*<version>\s*([^<\s$]+)\s*</version>", text
    )
    if match is None:
        raise StackError(f"cannot find the Kafka version in {pom}")
    return match.group(1)


def kafka_lib_dir(pom: Path | None = None, cache_root: Path | None = None) -> Path:
    """A folder of jars that runs a Kafka broker (``java -cp '<dir>/*' kafka.Kafka ...``).

    ``$KAFKA_HOME/libs`` when ``KAFKA_HOME`` is set. Otherwise the runtime dependencies of ``pom``
    (default ``<repo>/deploy/kafka/pom.xml``) copied by Maven into
    ``<cache_root>/kafka-<version>/lib`` (default cache root ``~/.cache/sociale-kaart-sync``).
    A marker file holding the POM's hash makes later calls skip Maven, and a changed POM refetch.
    """
    kafka_home = os.environ.get("KAFKA_HOME")
    if kafka_home:
        libs = Path(kafka_home).expanduser() / "libs"
        if not any(libs.glob("kafka_2.*.jar")):
            raise StackError(
                f"KAFKA_HOME={kafka_home} is not an unpacked Apache Kafka distribution "
                f"(no {libs}/kafka_2.*.jar)"
            )
        return libs

    pom = pom or repo_root() / "deploy" / "kafka" / "pom.xml"
    if not pom.is_file():
        raise StackError(f"{pom} not found: run from a checkout, or set KAFKA_HOME")
    version = kafka_version(pom)
    base = (cache_root or cache_home() / CACHE_NAME) / f"kafka-{version}"
    lib = base / "lib"
    marker = base / ".fetched"
    digest = hashlib.sha256(pom.read_bytes()).hexdigest()

    def fetched() -> bool:
        try:
            return marker.read_text().strip() == digest and any(lib.glob("kafka_2.*.jar"))
        except OSError:
            return False

    if fetched():
        return lib
    mvn = maven("the Kafka jars", "set KAFKA_HOME to an unpacked Apache Kafka distribution")
    with file_lock(base / ".lock"):
        if fetched():  # another process fetched while we waited for the lock
            return lib
        say(f"fetching Kafka {version} jars with Maven into {lib}")
        tmp = base / f"lib.tmp-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        copy_dependencies(mvn, pom, tmp, "the Kafka jars", ["-DincludeScope=runtime"],
                          expect=("kafka_2.*.jar",))
        shutil.rmtree(lib, ignore_errors=True)
        tmp.rename(lib)
        write_atomic(marker, digest + "\n")
    return lib


def log4j_config(data_dir: Path) -> Path:
    """The broker's log4j2 configuration: the repository's, else one written into ``data_dir``."""
    shipped = repo_root() / "deploy" / "kafka" / "log4j2.properties"
    if shipped.is_file():
        return shipped
    fallback = data_dir / "log4j2.properties"  # installed without a checkout
    fallback.write_text(
        "status = warn\n"
        "appender.console.type = Console\n"
        "appender.console.name = STDOUT\n"
        "appender.console.target = SYSTEM_OUT\n"
        "appender.console.layout.type = PatternLayout\n"
        "appender.console.layout.pattern = [%d] %p %m (%c)%n\n"
        "shutdownHook = disable\n"
        "rootLogger.level = WARN\n"
        "rootLogger.appenderRef.stdout.ref = STDOUT\n"
    )
    return fallback

"""The OpenSearch distribution of the local stack, fetched by Maven and cached per version.

The integ-test distribution zip of ``deploy/opensearch/pom.xml`` (Maven Central) is unpacked
once per version into ``~/.cache/sociale-kaart-sync/opensearch-<version>/home``, with the
``analysis-common`` module installed beside ``transport-netty4``. ``OPENSEARCH_HOME`` may point
at an unpacked distribution instead (it must hold ``modules/analysis-common``).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import zipfile
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

__all__ = ["MODULE", "opensearch_home"]

MODULE = "analysis-common"


def _pom() -> Path:
    return repo_root() / "deploy" / "opensearch" / "pom.xml"


def _version(pom: Path) -> str:
    found = re.search(r"<opensearch\.version>\s*([^<\s]+)\s*</opensearch\.version>",
                      pom.read_text())
    if found is None:
        raise StackError(f"cannot find the OpenSearch version in {pom}")
    return found.group(1)


def opensearch_home(pom: Path | None = None, cache_root: Path | None = None) -> Path:
    """An unpacked OpenSearch with the analysis-common module, fetched by Maven when missing.

    ``$OPENSEARCH_HOME`` when set. A marker holding the hash of the POM and of the module
    descriptor makes later calls skip Maven.
    """
    given = os.environ.get("OPENSEARCH_HOME")
    if given:
        home = Path(given).expanduser()
        if not (home / "modules" / MODULE).is_dir():
            raise StackError(f"OPENSEARCH_HOME={given} has no modules/{MODULE}")
        return home
    pom = pom or _pom()
    if not pom.is_file():
        raise StackError(f"{pom} not found: run from a checkout, or set OPENSEARCH_HOME")
    version = _version(pom)
    base = (cache_root or cache_home() / CACHE_NAME) / f"opensearch-{version}"
    home, marker = base / "home", base / ".fetched"
    # The descriptor is ours, not Maven's: a change to it must also refetch.
    digest = hashlib.sha256(pom.read_bytes() + _descriptor(version).encode()).hexdigest()

    def fetched() -> bool:
        try:
            return marker.read_text().strip() == digest and (home / "modules" / MODULE).is_dir()
        except OSError:
            return False

    if fetched():
        return home
    with file_lock(base / ".lock"):
        if not fetched():
            _fetch(pom, base, version)
            write_atomic(marker, digest + "\n")
    return home


def _fetch(pom: Path, base: Path, version: str) -> None:
    mvn = maven("OpenSearch", "set OPENSEARCH_HOME to an unpacked distribution")
    say(f"fetching OpenSearch {version} with Maven into {base}")
    download = base / f"download.tmp-{os.getpid()}"
    shutil.rmtree(download, ignore_errors=True)
    copy_dependencies(mvn, pom, download, "OpenSearch", ["-DexcludeTransitive=true"],
                      expect=("opensearch-*.zip", f"{MODULE}-*.jar"))
    archives = sorted(download.glob("opensearch-*.zip"))
    jars = sorted(download.glob(f"{MODULE}-*.jar"))
    _unpack(archives[0], jars[0], base, version)
    shutil.rmtree(download, ignore_errors=True)


def _unpack(archive: Path, module_jar: Path, base: Path, version: str) -> None:
    """Unpack the server into ``base/home`` and install the analysis module beside netty."""
    staging = base / f"home.tmp-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    with zipfile.ZipFile(archive) as zipped:
        zipped.extractall(staging)
    (top,) = list(staging.iterdir())
    for script in (top / "bin").iterdir():
        script.chmod(0o755)  # zipfile drops the executable bits
    module = top / "modules" / MODULE
    module.mkdir()
    shutil.copy2(module_jar, module / module_jar.name)
    (module / "plugin-descriptor.properties").write_text(_descriptor(version))
    home = base / "home"
    shutil.rmtree(home, ignore_errors=True)
    top.rename(home)
    shutil.rmtree(staging, ignore_errors=True)


def _descriptor(version: str) -> str:
    """The module's descriptor, as OpenSearch's build writes it (the jar carries none)."""
    return "\n".join((
        "description=Adds \"built in\" analyzers to OpenSearch.",
        f"version={version}",
        f"name={MODULE}",
        "classname=org.opensearch.analysis.common.CommonAnalysisPlugin",
        "java.version=11",
        f"opensearch.version={version}",
        "custom.foldername=",
        "extended.plugins=",
        "has.native.controller=false",
    )) + "\n"

"""Certificates for the local broker's TLS listener, made with the JDK's ``keytool``.

The local stack already needs Java, so ``keytool`` is there: a throw-away certificate
authority signs a broker certificate for ``127.0.0.1`` and ``localhost``. The broker reads its
key and chain from a PKCS#12 keystore; clients trust ``ca.pem``. Everything lives in one folder
of the broker's data dir and is made once.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

__all__ = ["TlsFiles", "make_tls_files"]

#: The keystores protect nothing but a local test broker's key; their password is no secret.
_STORE_PASSWORD = "sksync-local-tls"  # noqa: S105 - a local test broker's keystore, no secret
_VALIDITY_DAYS = "3650"


@dataclass(frozen=True)
class TlsFiles:
    """What the broker and its clients need."""

    ca_file: Path
    """PEM certificate of the authority that signed the broker's certificate."""
    keystore: Path
    """PKCS#12 keystore with the broker's key and certificate chain."""
    password: str = _STORE_PASSWORD

    def broker_properties(self) -> dict[str, str]:
        """The broker's ``ssl.*`` settings for its TLS listeners."""
        return {
            "ssl.keystore.type": "PKCS12",
            "ssl.keystore.location": str(self.keystore),
            "ssl.keystore.password": self.password,
            "ssl.key.password": self.password,
        }


def _keytool(java: str) -> str:
    beside = Path(java).parent / "keytool"
    found = str(beside) if beside.is_file() else shutil.which("keytool")
    if found is None:
        raise RuntimeError("keytool not found (it comes with the JDK next to java)")
    return found


def make_tls_files(folder: Path, java: str) -> TlsFiles:
    """The authority and broker certificate in ``folder``, made unless they exist."""
    files = TlsFiles(ca_file=folder / "ca.pem", keystore=folder / "broker.p12")
    if files.ca_file.is_file() and files.keystore.is_file():
        return files
    folder.mkdir(parents=True, exist_ok=True)
    keytool = _keytool(java)
    ca, csr, signed = folder / "ca.p12", folder / "broker.csr", folder / "broker.pem"
    for path in (ca, csr, signed, files.ca_file, files.keystore):
        path.unlink(missing_ok=True)
    store = ["-storepass", files.password, "-keypass", files.password, "-storetype", "PKCS12"]
    key = ["-keyalg", "RSA", "-keysize", "2048", "-validity", _VALIDITY_DAYS]
    steps = [
        ["-genkeypair", "-keystore", str(ca), "-alias", "ca", "-dname", "CN=sksync local CA",
         *key, "-ext", "bc:c", *store],
        ["-exportcert", "-rfc", "-keystore", str(ca), "-alias", "ca",
         "-file", str(files.ca_file), *store],
        ["-genkeypair", "-keystore", str(files.keystore), "-alias", "broker",
         "-dname", "CN=localhost", *key, *store],
        ["-certreq", "-keystore", str(files.keystore), "-alias", "broker", "-file", str(csr),
         *store],
        ["-gencert", "-keystore", str(ca), "-alias", "ca", "-infile", str(csr), "-rfc",
         "-outfile", str(signed), "-validity", _VALIDITY_DAYS,
         "-ext", "SAN=ip:127.0.0.1,dns:localhost", "-ext", "KU=digitalSignature,keyEncipherment",
         "-ext", "EKU=serverAuth", *store],
        ["-importcert", "-noprompt", "-keystore", str(files.keystore), "-alias", "ca",
         "-file", str(files.ca_file), *store],
        ["-importcert", "-noprompt", "-keystore", str(files.keystore), "-alias", "broker",
         "-file", str(signed), *store],
    ]
    for step in steps:
        result = subprocess.run(  # noqa: S603 - fixed argv, no shell
            [keytool, *step], capture_output=True, text=True, timeout=60, check=False)
        if result.returncode != 0:
            files.keystore.unlink(missing_ok=True)
            raise RuntimeError(f"keytool {step[0]} failed: "
                               f"{(result.stdout + result.stderr).strip()[-500:]}")
    return files

"""C2PA content credentials: a manifest signed with the operator's certificate, embedded in each MP4.

Enabled when the operator sets `SORABOX_C2PA_CERT` (a PEM chain: signing certificate first, then its
issuers) and `SORABOX_C2PA_KEY` (the PEM private key). The manifest says the clip was made by an AI
model (IPTC digital source type `trainedAlgorithmicMedia`) and carries the job id, backend and the
prompt's hash, like the MP4 metadata does. Uses c2pa-python (the `c2pa` extra).
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.extensions import JobExtension
from core.records import JobRecord
from core.settings import Settings, SettingsError

TRAINED_ALGORITHMIC_MEDIA = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
ASSERTION = "org.sorabox.clip"


@dataclass(frozen=True)
class C2paCredentials:
    chain_pem: bytes
    key_pem: bytes
    alg: str = "es256"  # the key's algorithm: es256 | es384 | es512 | ps256 | ed25519
    tsa_url: str | None = None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> C2paCredentials | None:
        """None unless both the certificate and the key are configured; raises SettingsError if unreadable."""
        cert, key = environ.get("SORABOX_C2PA_CERT"), environ.get("SORABOX_C2PA_KEY")
        if not cert and not key:
            return None
        if not cert or not key:
            raise SettingsError("set both SORABOX_C2PA_CERT and SORABOX_C2PA_KEY (PEM files) to sign clips")
        try:
            chain, private = Path(cert).read_bytes(), Path(key).read_bytes()
        except OSError as exc:
            raise SettingsError(f"cannot read the C2PA certificate or key: {exc}") from exc
        return cls(
            chain, private, environ.get("SORABOX_C2PA_ALG", "es256"), environ.get("SORABOX_C2PA_TSA_URL") or None
        )


def manifest(job: JobRecord, backend: str, service_name: str) -> dict[str, Any]:
    return {
        "claim_generator_info": [{"name": service_name, "version": "0.1.0"}],
        "title": f"{job.id}.mp4",
        "assertions": [
            {
                "label": "c2pa.actions",
                "data": {"actions": [{"action": "c2pa.created", "digitalSourceType": TRAINED_ALGORITHMIC_MEDIA}]},
            },
            {
                "label": ASSERTION,
                "data": {
                    "job": job.id,
                    "kind": job.kind,
                    "backend": backend,
                    "prompt_sha256": hashlib.sha256(job.prompt.encode()).hexdigest(),
                    "created": job.created_at,
                },
            },
        ],
    }


class C2paSigning(JobExtension):
    """Signs every encoded clip with the operator's credentials."""

    def __init__(self, credentials: C2paCredentials, backend: str = "", service_name: str = "sorabox") -> None:
        import c2pa  # the optional extra: imported only when signing is configured

        self._c2pa = c2pa
        self.credentials = credentials
        self.backend = backend
        self.service_name = service_name

    def sign(self, data: bytes, job: JobRecord) -> bytes:
        c2pa = self._c2pa
        creds = self.credentials
        info = c2pa.C2paSignerInfo(creds.alg.encode(), creds.chain_pem, creds.key_pem, creds.tsa_url)
        signer = c2pa.Signer.from_info(info)
        builder = c2pa.Builder(json.dumps(manifest(job, self.backend, self.service_name)))
        out = io.BytesIO()
        try:
            builder.sign(signer, "video/mp4", io.BytesIO(data), out)
        finally:
            builder.close()
            signer.close()
        return out.getvalue()


def provenance_extensions(settings: Settings, backend: str = "") -> list[JobExtension]:
    """The watermark always, then C2PA signing when configured: the watermark must be in the signed pixels."""
    from core.provenance.watermark import Watermark

    extensions: list[JobExtension] = [Watermark(settings.service_name)]
    credentials = C2paCredentials.from_environ(settings.environ)
    if credentials is not None:
        extensions.append(C2paSigning(credentials, backend, settings.service_name))
    return extensions

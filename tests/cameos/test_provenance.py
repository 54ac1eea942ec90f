"""Provenance: the moving watermark, the MP4's metadata, and a C2PA manifest signed by a test CA made here."""

from __future__ import annotations

import datetime
import hashlib
import io
import json
from pathlib import Path

import av
import numpy as np
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from core.events import JobDone
from core.provenance.watermark import WatermarkStyle, draw_watermark, watermark_text
from model.generator import CancelToken, Clip, no_progress
from model.media import decode_clip
from tests.cameos.helpers import GROUP, cameo_core, person
from tests.support import ToneGenerator, wait_for

ANA = person("ana")


def _bright_box(frame: np.ndarray, background: int) -> tuple[int, int, int, int]:
    """Bounding box (x0, y0, x1, y1) of the pixels the watermark changed on a flat frame."""
    ys, xs = np.nonzero(np.abs(frame.astype(int) - background).max(axis=2) > 40)
    return int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())


def _changed_box(frame: np.ndarray, reference: np.ndarray) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(np.abs(frame.astype(int) - reference.astype(int)).max(axis=2) > 60)
    return int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())


def test_the_watermark_names_service_and_creator_and_moves_across_the_frame() -> None:
    assert watermark_text("sorabox", "Ana Lima!") == "sorabox @Ana_Lima"
    frames = np.full((96, 360, 640, 3), 70, np.uint8)  # 4 s at 24 fps of a flat grey
    clip = Clip(frames, np.zeros((1, 4800), np.float32), 24.0, 48_000)
    marked = draw_watermark(clip, "sorabox @ana", WatermarkStyle())
    assert marked.metadata["watermark"] == "sorabox @ana"
    boxes = [_bright_box(marked.frames[t], 70) for t in (0, 36, 72)]
    for x0, y0, x1, y1 in boxes:
        # Readable: white letters, text-sized (about 5 % of the frame's height), inside the frame.
        assert 10 <= y1 - y0 <= 40 and 80 <= x1 - x0 <= 300
    assert len({(x0 // 20, y0 // 20) for x0, y0, _, _ in boxes}) == 3  # it moved
    assert int(marked.frames.max()) > 70 + 80 and np.array_equal(clip.frames, frames)  # the input is untouched


def _test_ca(tmp: Path) -> tuple[Path, Path, bytes]:
    """An ES256 root CA and a signing certificate it issued (digitalSignature, emailProtection)."""
    now = datetime.datetime.now(datetime.UTC)

    def name(cn: str) -> x509.Name:
        return x509.Name(
            [
                x509.NameAttribute(NameOID.COMMON_NAME, cn),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "sorabox tests"),
            ]
        )

    def usage(**on: bool) -> x509.KeyUsage:
        flags = dict.fromkeys(
            (
                "digital_signature",
                "content_commitment",
                "key_encipherment",
                "data_encipherment",
                "key_agreement",
                "key_cert_sign",
                "crl_sign",
                "encipher_only",
                "decipher_only",
            ),
            False,
        )
        return x509.KeyUsage(**{**flags, **on})

    root_key, leaf_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    root = (
        x509.CertificateBuilder()
        .subject_name(name("sorabox test root"))
        .issuer_name(name("sorabox test root"))
        .public_key(root_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(usage(key_cert_sign=True, crl_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()), critical=False)
        .sign(root_key, hashes.SHA256())
    )
    leaf = (
        x509.CertificateBuilder()
        .subject_name(name("sorabox test signer"))
        .issuer_name(root.subject)
        .public_key(leaf_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(usage(digital_signature=True), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()), critical=False)
        .sign(root_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    chain, key = tmp / "chain.pem", tmp / "key.pem"
    chain.write_bytes(leaf.public_bytes(pem) + root.public_bytes(pem))
    key.write_bytes(leaf_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return chain, key, root.public_bytes(pem)


async def test_a_clip_carries_its_metadata_and_a_c2pa_manifest_signed_by_the_operators_certificate(
    tmp_path: Path,
) -> None:
    import c2pa

    chain, key, root_pem = _test_ca(tmp_path)
    async with cameo_core(tmp_path / "data", c2pa_cert=chain, c2pa_key=key) as rig:
        subscription = rig.core.bus.subscribe()
        reply = await rig.core.handle_text(ANA, GROUP, "sora a red ball bounces --seconds 1 --size 320x180")
        done = await wait_for(subscription, lambda e: isinstance(e, JobDone) and e.job_id == reply.job_id)
        clip = await rig.core.clip(done.clip_id)  # type: ignore[attr-defined]
        data = rig.core.media_path(clip).read_bytes()

    # The MP4 metadata: job, backend, the prompt's hash, the time; the watermark is in the pixels.
    with av.open(io.BytesIO(data)) as container:
        comment = json.loads(container.metadata["comment"])
    assert comment["job"] == reply.job_id and comment["backend"] == "tone" and comment["model"] == "tone"
    assert comment["prompt_sha256"] == hashlib.sha256(b"a red ball bounces").hexdigest()
    # The watermark is in the pixels: against the generator's own frames, only a text-sized box changed.
    original = ToneGenerator().generate(rig.generator.calls[-1], no_progress, CancelToken()).frames
    decoded = decode_clip(data).frames
    assert decoded.shape == original.shape
    x0, y0, x1, y1 = _changed_box(decoded[0], original[0])
    assert 5 <= y1 - y0 <= 30 and 40 <= x1 - x0 <= 200

    # Signed, and trusted once the test root is a trust anchor.
    trust = c2pa.Context.from_dict({"verify": {"verify_trust": True}, "trust": {"trust_anchors": root_pem.decode()}})
    reader = c2pa.Reader("video/mp4", io.BytesIO(data), context=trust)
    assert reader.get_validation_state() == "Trusted"
    manifest = reader.get_active_manifest()
    assert manifest is not None
    assertions = {a["label"]: a["data"] for a in manifest["assertions"]}
    assert assertions["org.sorabox.clip"]["job"] == reply.job_id
    actions = next(v for k, v in assertions.items() if k.startswith("c2pa.actions"))["actions"]
    assert actions[0]["action"] == "c2pa.created"
    assert actions[0]["digitalSourceType"].endswith("trainedAlgorithmicMedia")

    # Without the anchor it is still a valid signature, just not from a known signer; a changed byte breaks it.
    assert c2pa.Reader("video/mp4", io.BytesIO(data)).get_validation_state() == "Valid"
    tampered = bytearray(data)
    tampered[len(tampered) // 2] ^= 0xFF
    assert c2pa.Reader("video/mp4", io.BytesIO(bytes(tampered)), context=trust).get_validation_state() == "Invalid"


def test_signing_needs_both_the_certificate_and_the_key() -> None:
    import pytest

    from core.provenance.c2pa import C2paCredentials
    from core.settings import SettingsError

    assert C2paCredentials.from_environ({}) is None
    with pytest.raises(SettingsError, match="SORABOX_C2PA_CERT and SORABOX_C2PA_KEY"):
        C2paCredentials.from_environ({"SORABOX_C2PA_CERT": "/nonexistent/chain.pem"})
    with pytest.raises(SettingsError, match="cannot read"):
        C2paCredentials.from_environ({"SORABOX_C2PA_CERT": "/nonexistent/a.pem", "SORABOX_C2PA_KEY": "/nonexistent/b"})

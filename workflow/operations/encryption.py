"""Backups encrypted at rest with a key the database does not hold.

The scheme is AES-256-GCM in chunks (the STREAM construction of Hoang, Reyhanitabar, Rogaway and
Vizár, as Tink's and age's streaming encryption use): a backup of several gigabytes is encrypted
and decrypted 1 MiB at a time, never held in memory, and pg_dump's output is encrypted as it
comes (no plaintext copy on the backup's disk). Fernet was not chosen because it authenticates a
whole message at once, so a large dump would have to sit in memory.

A file is a header (magic, a random 32-byte salt, the chunk size) and then the chunks. Each file
is encrypted under its own key, derived from the installation's key and the salt (HKDF-SHA256),
so a chunk counter is a safe nonce. Every chunk is authenticated together with the header, and
its nonce says whether it is the last: a file that was altered, cut short at any point (a chunk
boundary included), or read with another key fails to decrypt.
"""

from __future__ import annotations

import base64
import hashlib
import os
import struct
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from workflow.errors import InvalidInput
from workflow.i18n import N_
from workflow.keyfiles import write_once

SCHEME = "AES-256-GCM-STREAM/1"
MAGIC = b"CUSTBAK\x01"
SALT_BYTES = 32
KEY_BYTES = 32
TAG_BYTES = 16
CHUNK = 1 << 20
MAX_CHUNK = 1 << 26
_HEADER = struct.Struct(f">{len(MAGIC)}s{SALT_BYTES}sI")


def new_key() -> bytes:
    """A fresh installation key (256 random bits)."""
    return os.urandom(KEY_BYTES)


def key_from_text(text: str) -> bytes:
    """A key from its base64 text (as a key file or a secret store holds it)."""
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except ValueError:
        key = b""
    if len(key) != KEY_BYTES:
        raise InvalidInput(N_("The backup key is not 32 bytes in base64."))
    return key


def load_or_create_key(path: Path) -> bytes:
    """The key from its file (created, readable by its owner only, if missing). Processes
    starting together on a new installation end up with the same key: a new key is written aside
    and linked into place, which only the first one does."""
    path = Path(path)
    if not path.exists():
        write_once(path, base64.b64encode(new_key()) + b"\n")
    return key_from_text(path.read_text("ascii"))


def fingerprint(key: bytes) -> str:
    """A name for the key that does not reveal it: the start of a domain-separated SHA-256."""
    return hashlib.sha256(b"custody-backup-key-fingerprint:" + key).hexdigest()[:16]


def _file_cipher(key: bytes, salt: bytes) -> AESGCM:
    derived = HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=salt,
                   info=SCHEME.encode()).derive(key)
    return AESGCM(derived)


def _nonce(counter: int, last: bool) -> bytes:
    return counter.to_bytes(11, "big") + (b"\x01" if last else b"\x00")


def _read_full(source: BinaryIO, size: int) -> bytes:
    # A pipe returns what it has; a chunk is always full unless the input has ended.
    parts, wanted = [], size
    while wanted:
        part = source.read(wanted)
        if not part:
            break
        parts.append(part)
        wanted -= len(part)
    return b"".join(parts)


def _chunks(source: BinaryIO, size: int):
    """(chunk, is_last) pairs; an empty input is one empty last chunk."""
    current = _read_full(source, size)
    while True:
        following = _read_full(source, size) if len(current) == size else b""
        yield current, not following
        if not following:
            return
        current = following


def encrypt(source: BinaryIO, target: BinaryIO, key: bytes) -> str:
    """Encrypt all of `source` into `target`; returns the SHA-256 of what was written."""
    header = _HEADER.pack(MAGIC, os.urandom(SALT_BYTES), CHUNK)
    cipher = _file_cipher(key, header[len(MAGIC):len(MAGIC) + SALT_BYTES])
    digest = hashlib.sha256(header)
    target.write(header)
    for counter, (chunk, last) in enumerate(_chunks(source, CHUNK)):
        sealed = cipher.encrypt(_nonce(counter, last), chunk, header)
        digest.update(sealed)
        target.write(sealed)
    return digest.hexdigest()


def decrypt(source: BinaryIO, key: bytes, sink: Callable[[bytes], object] | None = None) -> str:
    """Authenticate every chunk of `source` (passing the plaintext to `sink`, if any); returns
    the SHA-256 of the ciphertext. Raises InvalidInput at the first chunk that fails."""
    header = _read_full(source, _HEADER.size)
    if len(header) < _HEADER.size or not header.startswith(MAGIC):
        raise InvalidInput(N_("This is not an encrypted backup of this application."))
    _, salt, size = _HEADER.unpack(header)
    if not 0 < size <= MAX_CHUNK:  # an altered header must not make us read gigabytes at once
        raise InvalidInput(N_("This is not an encrypted backup of this application."))
    cipher = _file_cipher(key, salt)
    digest = hashlib.sha256(header)
    for counter, (sealed, last) in enumerate(_chunks(source, size + TAG_BYTES)):
        digest.update(sealed)
        try:
            plain = cipher.decrypt(_nonce(counter, last), sealed, header)
        except (InvalidTag, ValueError) as error:
            raise InvalidInput(N_("Part %(part)s of the backup does not decrypt: the file was "
                                  "altered or cut short, or the key is not the one it was "
                                  "made with."), part=counter + 1) from error
        if sink is not None:
            sink(plain)
    return digest.hexdigest()

"""The backup cipher: what goes in comes out, in chunks of any size, and a file that was altered
anywhere, cut short anywhere (a chunk boundary included) or read with another key is refused."""

from __future__ import annotations

import io
import os
import stat

import pytest

from workflow.errors import InvalidInput
from workflow.operations import encryption


@pytest.fixture
def small_chunks(monkeypatch):
    """Chunks of 64 bytes, so that a few kilobytes make many chunks."""
    monkeypatch.setattr(encryption, "CHUNK", 64)


def _sealed(plain: bytes, key: bytes) -> tuple[bytes, str]:
    out = io.BytesIO()
    digest = encryption.encrypt(io.BytesIO(plain), out, key)
    return out.getvalue(), digest


def _opened(sealed: bytes, key: bytes) -> bytes:
    parts: list[bytes] = []
    encryption.decrypt(io.BytesIO(sealed), key, parts.append)
    return b"".join(parts)


class Trickle(io.RawIOBase):
    """A pipe that hands over a few bytes at a time, as pg_dump's output may."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        size = min(7, len(buffer))
        part, self.data = self.data[:size], self.data[size:]
        buffer[:len(part)] = part
        return len(part)


@pytest.mark.parametrize("size", [0, 1, 63, 64, 65, 128, 1000])
def test_a_round_trip_gives_back_every_byte(small_chunks, size):
    key, plain = encryption.new_key(), os.urandom(size)
    sealed, digest = _sealed(plain, key)
    assert _opened(sealed, key) == plain
    assert encryption.decrypt(io.BytesIO(sealed), key) == digest
    assert size < 8 or plain not in sealed


def test_input_read_a_few_bytes_at_a_time_is_chunked_the_same(small_chunks):
    key, plain = encryption.new_key(), os.urandom(500)
    out = io.BytesIO()
    encryption.encrypt(Trickle(plain), out, key)
    assert _opened(out.getvalue(), key) == plain
    assert len(out.getvalue()) == len(_sealed(plain, key)[0])


def test_two_encryptions_of_the_same_data_differ():
    key = encryption.new_key()
    assert _sealed(b"same", key)[0] != _sealed(b"same", key)[0]


def test_another_key_is_refused(small_chunks):
    sealed, _ = _sealed(os.urandom(300), encryption.new_key())
    with pytest.raises(InvalidInput, match="does not decrypt") as refused:
        _opened(sealed, encryption.new_key())
    assert refused.value.params == {"part": 1}


def test_any_flipped_byte_is_refused(small_chunks):
    key = encryption.new_key()
    sealed, _ = _sealed(os.urandom(300), key)
    for index in range(0, len(sealed), 5):
        altered = bytearray(sealed)
        altered[index] ^= 0x01
        with pytest.raises(InvalidInput):
            _opened(bytes(altered), key)


def test_a_file_cut_short_anywhere_is_refused(small_chunks):
    key = encryption.new_key()
    sealed, _ = _sealed(os.urandom(64 * 4), key)
    chunk = 64 + encryption.TAG_BYTES
    header = len(sealed) - 5 * chunk + 64  # four full chunks and an empty last one
    boundaries = [header + n * chunk for n in range(1, 5)]
    for length in [*boundaries, *range(0, len(sealed), 9), len(sealed) - 1]:
        with pytest.raises(InvalidInput):
            _opened(sealed[:length], key)


def test_chunks_in_another_order_or_appended_are_refused(small_chunks):
    key = encryption.new_key()
    sealed, _ = _sealed(os.urandom(64 * 3), key)
    chunk = 64 + encryption.TAG_BYTES
    start = len(sealed) - 3 * chunk - encryption.TAG_BYTES
    first, second = sealed[start:start + chunk], sealed[start + chunk:start + 2 * chunk]
    swapped = sealed[:start] + second + first + sealed[start + 2 * chunk:]
    for altered in (swapped, sealed + sealed[start:start + chunk]):
        with pytest.raises(InvalidInput):
            _opened(altered, key)


def test_what_is_not_a_backup_is_named_as_such():
    with pytest.raises(InvalidInput, match="not an encrypted backup"):
        _opened(b"SQLite format 3\x00" + bytes(100), encryption.new_key())


def test_the_key_file_is_made_once_readable_by_its_owner_only(tmp_path):
    path = tmp_path / "keys" / "backup-key"
    key = encryption.load_or_create_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert encryption.load_or_create_key(path) == key and len(key) == 32
    assert encryption.fingerprint(key) not in path.read_text()
    assert list(path.parent.iterdir()) == [path]


def test_a_key_that_is_not_32_bytes_of_base64_is_refused():
    for text in ("", "not base64!", "QUJD"):
        with pytest.raises(InvalidInput, match="32 bytes"):
            encryption.key_from_text(text)

"""Password hashing (argon2id) on a background lane of low CPU priority, so that a rush of
sign-ins waits for the processor rather than every page of those already at work."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

T = TypeVar("T")
# How much lower than the pages a password check runs (Linux nice levels, 0 to 19): at 10 the
# scheduler gives it about a tenth of the share of a page's thread when both want the CPU.
NICENESS = 10
# Checks at once per process; more wait their turn (each takes ~0.2 s of CPU, two cores here).
LANES = 2

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
# Verified against when a username is unknown, so both cases cost the same time. A fixed
# argon2id hash of a throwaway password with the hasher's parameters (checked by the tests), not
# computed at import: hashing takes 0.2 s of CPU that every command and worker would pay.
DUMMY_HASH = ("$argon2id$v=19$m=65536,t=3,p=4$"
              "c29tZS1maXhlZC1zYWx0IQ$zUR2bcTkJlSRThZMmLbvs88P5KN5exvtaggcglVw09U")
_lane: ThreadPoolExecutor | None = None
_lane_lock = threading.Lock()


def _forget_lane() -> None:
    # A lane made before a fork (gunicorn's workers) has no threads in the child.
    global _lane, _lane_lock
    _lane, _lane_lock = None, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_lane)


def _lower_priority() -> None:
    # On Linux a priority set with a thread's id is that thread's alone, and the threads
    # argon2 starts for its lanes inherit it.
    if hasattr(os, "setpriority"):
        with contextlib.suppress(OSError):  # a platform that refuses: normal priority
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), NICENESS)


def in_background(work: Callable[..., T], *args) -> T:
    """Run `work` on this process's low-priority lane and wait for its result."""
    global _lane
    with _lane_lock:
        if _lane is None:
            _lane = ThreadPoolExecutor(LANES, "password-hashing", initializer=_lower_priority)
        lane = _lane
    return lane.submit(work, *args).result()


def hash_password(password: str) -> str:
    """An argon2id hash of the password."""
    return in_background(_hasher.hash, password)


def verify(password_hash: str, password: str) -> bool:
    """Whether the password matches the hash (False for a malformed hash)."""
    try:
        return in_background(_hasher.verify, password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Whether the hash was made with other parameters than today's."""
    return _hasher.check_needs_rehash(password_hash)

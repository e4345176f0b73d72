"""Domain errors: each carries the HTTP status the web layer answers with."""

from __future__ import annotations


class DomainError(Exception):
    """A failure a user can cause; the message is shown to them (translated by the web layer)."""

    status = 400

    def __init__(self, message: str, **params: object) -> None:
        super().__init__(message)
        self.message = message
        self.params = params


class InvalidInput(DomainError):
    """The input breaks a rule of the domain."""

    status = 422


class NotFound(DomainError):
    """The object does not exist, or the user may not know that it does."""

    status = 404


class Forbidden(DomainError):
    """The user may know the object exists but may not do this to it."""

    status = 403


class Conflict(DomainError):
    """The object changed under the user; nothing was done."""

    status = 409


class Gone(DomainError):
    """The object existed for the user but can no longer be had (expired, used up, revoked)."""

    status = 410


class DocumentFailed(DomainError):
    """A document could not be produced; the transaction is undone."""

    status = 503

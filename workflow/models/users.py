"""Users, their organisation and their roles."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from workflow.db import Base, UTCDateTime, utcnow
from workflow.documents.enums import Authority
from workflow.enums import Role, Secrecy, enum_type
from workflow.models.organisations import Organisation

if TYPE_CHECKING:
    from workflow.models.requesters import RequesterVetting


class User(Base):
    """A person who signs in; belongs to exactly one organisation."""

    __tablename__ = "app_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(255))
    # Where mail about requests goes (set by administrators); none: the inbox only.
    email: Mapped[str | None] = mapped_column(String(254))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    # A system account (tài khoản hệ thống) is another body's software: it holds API tokens and
    # never signs in on the pages; a person's account never holds a token.
    system: Mapped[bool] = mapped_column(default=False)
    clearance: Mapped[Secrecy] = mapped_column(enum_type(Secrecy), default=Secrecy.NONE)
    # How they sign the documents their decisions issue (Decree 30/2020 Art. 13): their position
    # ('Phó Giám đốc') and authority (KT., TL., TUQ., TM., or as the head).
    position: Mapped[str | None] = mapped_column(String(120))
    signs_as: Mapped[Authority | None] = mapped_column(enum_type(Authority))
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("person.id", use_alter=True, name="fk_app_user_person_id_person")
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    password_changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Lockout: failed sign-ins counted within a window; a locked account waits for an admin.
    failed_logins: Mapped[int] = mapped_column(default=0)
    failed_since: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    locked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Second factor: the TOTP secret (encrypted), when it was enrolled, the last step accepted.
    totp_secret: Mapped[str | None] = mapped_column(Text)
    totp_enrolled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    totp_last_step: Mapped[int] = mapped_column(default=0)

    organisation: Mapped[Organisation] = relationship(lazy="joined")
    role_rows: Mapped[list[UserRole]] = relationship(
        cascade="all, delete-orphan", lazy="selectin"
    )
    # A requester outside the state: the bodies' vouching for them (loaded only when asked).
    vettings: Mapped[list[RequesterVetting]] = relationship(
        foreign_keys="RequesterVetting.user_id", viewonly=True, order_by="RequesterVetting.id"
    )

    @property
    def roles(self) -> frozenset[Role]:
        """The roles the user holds."""
        return frozenset(r.role for r in self.role_rows)

    # Flask-Login's user interface, written out so the domain does not import Flask.
    @property
    def is_active(self) -> bool:
        """Whether the account may sign in."""
        return self.active

    @property
    def is_authenticated(self) -> bool:
        """A loaded user is always signed in."""
        return True

    @property
    def is_anonymous(self) -> bool:
        """A loaded user is never anonymous."""
        return False

    def get_id(self) -> str:
        """Session token: the id and the password's age, so a password change ends old sessions."""
        return f"{self.id}:{int(self.password_changed_at.timestamp())}"

    def has_role(self, *roles: Role) -> bool:
        """Whether the user holds any of the roles."""
        return not self.roles.isdisjoint(roles)

    def __repr__(self) -> str:
        return f"<User {self.username}>"


class UserRole(Base):
    """One role held by one user."""

    __tablename__ = "user_role"

    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), primary_key=True)
    role: Mapped[Role] = mapped_column(enum_type(Role), primary_key=True)


class RecoveryCode(Base):
    """A single-use code that stands in for the authenticator (its SHA-256 only)."""

    __tablename__ = "recovery_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

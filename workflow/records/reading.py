"""The purpose of a direct read (Decree 121/2017 Arts. 3, 12 §3a): a body reads the records of
its own scope without a request, but every read says what it is for, and the audit entry of the
read carries it, as a filed request carries its own."""

from __future__ import annotations

from dataclasses import dataclass

from workflow.errors import DomainError, InvalidInput
from workflow.i18n import N_

# Why those who keep the records open one: the choices, each with its words for the pages and
# the text the audit entry stores, in the records' language.
READ_PURPOSES: dict[str, tuple[str, str]] = {
    "keeping": (N_("Keeping the record: entering, checking or correcting its data"),
                "Quản lý hồ sơ: nhập, kiểm tra, đính chính dữ liệu"),
    "custody": (N_("Carrying out the custody or detention: receiving, extracting, moving or "
                   "releasing the person, visits"),
                "Thực hiện tạm giữ, tạm giam: tiếp nhận, trích xuất, chuyển, trả tự do, thăm gặp"),
    "procedure": (N_("Serving the investigation, prosecution or trial of the case"),
                  "Phục vụ điều tra, truy tố, xét xử vụ án"),
    "answer": (N_("Answering a request, a complaint or a report of an error in the data"),
               "Giải quyết đề nghị, khiếu nại hoặc báo cáo sai sót dữ liệu"),
    "report": (N_("Preparing a report or statistics of the body"),
               "Lập báo cáo, thống kê của cơ quan, đơn vị"),
    "other": (N_("Another purpose, stated below"), "Mục đích khác"),
}
NOTE_MAX = 500


class PurposeRequired(DomainError):
    """A direct read of a record in scope was asked for without its purpose."""

    status = 428


@dataclass(frozen=True)
class ReadPurpose:
    """Why a record is read: a choice of `READ_PURPOSES` and, for 'other', the words."""

    code: str
    note: str | None = None

    @property
    def text(self) -> str:
        """What the audit entry of the read stores as its purpose."""
        stored = READ_PURPOSES[self.code][1]
        return f"{stored}: {self.note}" if self.note else stored


def read_purpose(code: str | None, note: str | None = None) -> ReadPurpose:
    """The purpose as stated, checked: a known choice; 'other' says what (10 characters)."""
    if code not in READ_PURPOSES:
        raise InvalidInput(N_("Choose the purpose of reading the record."))
    note = (note or "").strip() or None
    if code == "other" and (note is None or len(note) < 10):
        raise InvalidInput(N_("Say what the record is read for (at least 10 characters)."))
    if note is not None and len(note) > NOTE_MAX:
        raise InvalidInput(N_("The purpose is longer than %(n)s characters."), n=NOTE_MAX)
    return ReadPurpose(code, note)

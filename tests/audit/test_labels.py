"""Every action the system writes to the audit trail has words (in Vietnamese), found by reading
the source: a new `audit.record(…, "x.y")` without a label in `workflow/audit/labels.py` fails
here. And the trail's page shows words and "key: value" pairs, not codes and JSON."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from babel.messages.pofile import read_po
from sqlalchemy import select

from tests.helpers import last_audit, person_at
from workflow.audit.labels import ACTIONS, GROUPS
from workflow.figures import reports
from workflow.models import AuditEntry
from workflow.requests.enums import CalendarChange
from workflow.requests.machine import TRIGGERS

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = ROOT / "web/translations/vi/LC_MESSAGES/messages.po"
# Functions that write `request.<trigger>` for the trigger they are given: a literal trigger
# adds a code; a variable one is accepted only from `move`, which fires it on the machine first
# (no trigger outside machine.TRIGGERS gets that far), or when they pass their own on.
REQUEST_WRITERS = {"record_transition", "system_note", "move"}
FORWARDERS = {"move", "system_note"}


class Writes(ast.NodeVisitor):
    """The action codes one module writes, and the calls whose code it cannot tell."""

    def __init__(self, where: str) -> None:
        self.where, self.function = where, ""
        self.codes: set[str] = set()
        self.request_triggers: set[str] = set()
        self.unknown: list[str] = []

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        outer, self.function = self.function, node.name
        self.generic_visit(node)
        self.function = outer

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if name == "record" and isinstance(func, ast.Attribute) \
                and getattr(func.value, "id", "") == "audit":
            self.codes |= self._codes(_argument(node, 2, "action"), node)
        elif name in REQUEST_WRITERS:
            trigger = _argument(node, 3, "trigger")
            if isinstance(trigger, ast.Constant):
                self.request_triggers.add(trigger.value)
            elif name != "move" and self.function not in FORWARDERS:
                self.unknown.append(f"{self.where}:{node.lineno} {name}({ast.unparse(trigger)})")
        self.generic_visit(node)

    def _codes(self, arg: ast.expr | None, node: ast.Call) -> set[str]:
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            return {arg.value}
        if isinstance(arg, ast.IfExp):
            return self._codes(arg.body, node) | self._codes(arg.orelse, node)
        if isinstance(arg, ast.JoinedStr) and len(arg.values) == 2 \
                and isinstance(arg.values[0], ast.Constant):
            return {f"{arg.values[0].value}{{}}"}  # expanded below, by its prefix
        self.unknown.append(f"{self.where}:{node.lineno} {ast.unparse(node)[:80]}")
        return set()


def _argument(node: ast.Call, index: int, keyword: str) -> ast.expr | None:
    if len(node.args) > index:
        return node.args[index]
    return next((k.value for k in node.keywords if k.arg == keyword), None)


def written_codes() -> set[str]:
    """Every action code `workflow/` and `web/` write: literal, either of a choice, or a
    lifecycle's prefix with each trigger of that lifecycle."""
    codes: set[str] = set()
    request_triggers = set(TRIGGERS)
    unknown: list[str] = []
    for path in sorted([*ROOT.glob("workflow/**/*.py"), *ROOT.glob("web/**/*.py")]):
        writes = Writes(str(path.relative_to(ROOT)))
        writes.visit(ast.parse(path.read_text(), str(path)))
        codes |= writes.codes
        request_triggers |= writes.request_triggers
        unknown += writes.unknown
    assert unknown == [], "say in this test which codes these calls write"
    expansions = {"request.{}": request_triggers,
                  "report.{}": {row.trigger for row in reports.TABLE},
                  "calendar.{}": {change.value for change in CalendarChange}}
    patterns = {code for code in codes if code.endswith("{}")}
    assert patterns <= set(expansions), "say in this test which codes these prefixes take"
    return (codes - patterns) | {p.format(t) for p in patterns for t in expansions[p]}


def test_every_action_code_written_anywhere_has_a_label():
    codes = written_codes()
    assert len(codes) > 60  # the scan found the writers: more than sixty codes today
    assert sorted(codes - set(ACTIONS)) == []


def test_the_labels_name_no_code_that_nothing_writes_and_every_code_has_a_group():
    assert sorted(set(ACTIONS) - written_codes()) == []
    assert {code.partition(".")[0] for code in ACTIONS} <= set(GROUPS)


def test_every_action_has_a_vietnamese_label():
    with CATALOGUE.open("rb") as f:
        catalogue = {m.id: m.string for m in read_po(f) if m.id and not m.fuzzy}
    untranslated = {code: label for code, label in ACTIONS.items()
                    if not catalogue.get(label) or catalogue[label] == label}
    assert untranslated == {}
    assert not [g for g in GROUPS.values() if not catalogue.get(g)]


def test_every_action_in_the_demo_trail_has_a_label(db):
    written = set(db.scalars(select(AuditEntry.action).distinct()))
    assert written and sorted(written - set(ACTIONS)) == []


def _row(html: str, seq: int) -> str:
    match = re.search(rf'<tr class="outcome-\w+">\s*<td class="mono">{seq}</td>(.*?)</tr>',
                      html, re.S)
    assert match, f"entry {seq} is not on the page"
    return match.group(1)


def test_the_page_shows_an_entry_in_words_with_its_code_aside_and_no_json(client, auth, db):
    auth.login("clerk.hanoi")
    person = person_at(db, "TTG-HANOI")
    auth.purpose(person.id, "other", "Đối chiếu theo công văn 12/CV")
    client.get(f"/persons/{person.id}")
    auth.logout()
    viewed = last_audit(db, "record.view")
    assert viewed.details.startswith("{")  # stored as JSON, shown as pairs
    auth.login("inspector")
    row = _row(client.get("/audit/?actor=clerk.hanoi").data.decode(), viewed.seq)
    assert "Xem hồ sơ" in row and '<code class="code">record.view</code>' in row
    assert "Các lần tạm giữ, tạm giam được hiển thị:" in row
    assert "Tài liệu không hiển thị (độ mật):</span> 0" in row
    assert "Mục đích khác: Đối chiếu theo công văn 12/CV" in row  # the purpose of the read
    assert "Mục đích của việc xem:</span> Mục đích khác, nêu cụ thể dưới đây" in row
    assert "{" not in row and "}" not in row and "&#34;" not in row and '"episodes"' not in row


def test_a_correction_reads_field_before_and_after(client, auth, db):
    person = person_at(db, "TTG-HANOI")
    auth.login("clerk.hanoi")
    auth.purpose(person.id)
    client.post(f"/persons/{person.id}/correct", data={
        "full_name": person.full_name + " Em", "birth_date": person.birth_date.isoformat(),
        "sex": person.sex.value, "nationality": person.nationality, "version": "1",
        "reason": "Bổ sung tên đệm"})
    auth.logout()
    corrected = last_audit(db, "record.correct")
    auth.login("inspector")
    row = _row(client.get("/audit/?action=record.correct").data.decode(), corrected.seq)
    assert "Đính chính hồ sơ" in row and "Mục đích hoặc lý do:</span> Bổ sung tên đệm" in row
    assert f"Họ và tên: {person.full_name} → {person.full_name} Em" in row
    assert "{" not in row and "[" not in row

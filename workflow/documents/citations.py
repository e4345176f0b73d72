"""What an issued document cites: the law on executing custody in force on its date with the
provisions its rule set confirms (a provision pending text is left out, never taken from the
law before), the rule version its decision applied, and the point of Decree 121/2017 Art. 12 §3
its requester comes under."""

from __future__ import annotations

import datetime as dt
import re

from workflow.models import Organisation
from workflow.records.enums import DocumentCategory
from workflow.requests.routing import keeps_the_database
from workflow.requests.rules import RECORD_FILE, Rulebook, RuleSet

DECREE = "Nghị định số 121/2017/NĐ-CP"

# A record category's label starts with its point letter in Law 94 Art. 17 §1 ("a) Lệnh…"),
# and a provision citing a point starts with it ("điểm a khoản 1 Điều 17").
_LABEL_POINT = re.compile(r"^\(?[a-zđ]\)\s*")
_PROVISION_POINT = re.compile(r"^điểm ([a-zđ])\b")


def art12_point(requester_org: Organisation) -> str:
    """'điểm a khoản 3 Điều 12' for a body that keeps the database, else 'điểm b …' (§3(b):
    other state bodies, organisations and individuals)."""
    point = "a" if keeps_the_database(requester_org) else "b"
    return f"điểm {point} khoản 3 Điều 12"


def citation_values(rules: Rulebook, day: dt.date, rule_version: str | None,
                    requester_org: Organisation) -> dict[str, str]:
    """The values every document template cites from: `law_basis` (the law in force on the
    day, with the record-file provision where it is confirmed), `art12` and `rule_version`."""
    in_force = rules.on(day)
    return {"law_basis": in_force.cite(RECORD_FILE), "law": in_force.law_citation,
            "art12": f"{art12_point(requester_org)} {DECREE}",
            "rule_version": rule_version or in_force.version}


def category_title(label: str, category: DocumentCategory, in_force: RuleSet | None) -> str:
    """A record category's title in a document: the point letter of the provision listing it
    where the rule set in force confirms it, else none (Law 94's letter is not carried over)."""
    if in_force is None:
        return label
    provision = in_force.category_provision(category)
    title = _LABEL_POINT.sub("", label, count=1)
    point = _PROVISION_POINT.match(provision.text) if provision.printable else None
    return f"{point.group(1)}) {title}" if point else title

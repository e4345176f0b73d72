"""The sections of an extract: only the granted parts of the record, within the granted period,
up to the covered secrecy level; everything else becomes a "withheld" line with its reason."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace

from workflow.documents.citations import category_title
from workflow.documents.grants import Grant, grant_of
from workflow.documents.secrets import highest, secrets_law
from workflow.documents.wording import short_date, vi
from workflow.enums import Secrecy
from workflow.i18n import N_
from workflow.models import AccessRequest, CustodyEpisode, Person, RecordDocument
from workflow.records.enums import DocumentCategory
from workflow.requests.enums import RequestCategory
from workflow.requests.routing import DOCUMENT_CATEGORIES, cases_of, overlaps
from workflow.requests.rules import FULL, NO_DETAILS, WITHHELD, RuleSet


@dataclass
class Section:
    """A titled part of the extract: label/value facts, or a table."""

    title: str
    facts: list[tuple[str, str]] = field(default_factory=list)
    head: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    empty: str = ""
    number: int = 0
    # The request category it shows (a RequestCategory value): what the API names it by.
    category: str = ""
    continued: bool = False
    # The highest state-secret level among the documents it lists.
    secrecy: Secrecy = Secrecy.NONE

    @property
    def size(self) -> int:
        """Lines it takes, roughly: what the parts of a long extract are cut by."""
        return max(len(self.rows), len(self.facts), 1) + 2


def split_parts(sections: list[Section], budget: int) -> list[list[Section]]:
    """Cut the sections into parts of about `budget` lines, splitting long tables (the rest of
    a table goes on as "continued" with its header), so each part is rendered on its own and a
    long extract never holds all its pages' layout in memory at once."""
    parts: list[list[Section]] = [[]]
    left = budget
    for section in sections:
        rows = section.rows
        while rows and len(rows) + 2 > left:
            take = max(left - 2, 0)
            if take:
                parts[-1].append(replace(section, rows=rows[:take],
                                         continued=section.continued))
                section = replace(section, continued=True)
            rows = rows[take:]
            parts.append([])
            left = budget
        if rows or not section.rows:
            piece = replace(section, rows=rows)
            parts[-1].append(piece)
            left -= piece.size
    return [part for part in parts if part] or [[]]


def carried_over(sections: list[Section], last_page: list[str],
                 page_before: list[str]) -> list[Section]:
    """What a part's last page holds, as sections that start the next part instead, so that
    the parts flow without a page ending short; nothing when that page does not start cleanly
    with a section or a table row (the template's ids: `s3` a section's heading, `s3-h` a
    table's header, repeated on every page, `s3-r7` a row, `s3-f2` a line of facts).

    `last_page` and `page_before` are the ids on the part's last two pages, top to bottom."""
    first = next((unit for unit in last_page if not unit.endswith("-h")), None)
    if first is None or first in page_before or "-f" in first:
        return []  # a unit split across the pages, or a list of facts: left as it is
    number, _, row = first.removeprefix("s").partition("-r")
    index, start = int(number), int(row or 0)
    if index == 0 and start == 0:
        return []  # the whole part: nothing would be left of it
    section = sections[index]
    rest = replace(section, rows=section.rows[start:], facts=[] if start else section.facts,
                   continued=section.continued or start > 0)
    return [rest, *sections[index + 1:]]


def joined(carried: list[Section], part: list[Section]) -> list[Section]:
    """The sections carried from the previous part, then this part's; a table cut between the
    parts is one section again."""
    if carried and part and part[0].continued and part[0].number == carried[-1].number:
        merged = replace(carried[-1], rows=carried[-1].rows + part[0].rows)
        return [*carried[:-1], merged, *part[1:]]
    return [*carried, *part]


def _within(day: dt.date, start: dt.date | None, end: dt.date | None) -> bool:
    return (start is None or day >= start) and (end is None or day <= end)


def _identity(person: Person, today: dt.date, title: str) -> Section:
    section = Section(title, facts=[
        (vi("Full name"), person.full_name),
        (vi("Date of birth"), short_date(person.birth_date)),
        (vi("Sex"), vi(person.sex.label)),
        (vi("Nationality"), person.nationality),
        (vi("Place of origin"), person.place_of_origin or "—"),
    ])
    for ident in person.identifiers:
        if ident.valid_to is None or ident.valid_to > today:
            section.facts.append((vi(ident.kind.label), ident.value))
    return section


def _episodes(episodes: list[CustodyEpisode], with_case: bool) -> Section:
    """The episodes table; its case column only when the case part was granted."""
    head = [vi("Facility"), vi("Measure"), vi("From"), vi("To"), vi("Legal basis")]
    rows = [[e.facility.name, vi(e.measure.label), short_date(e.start_date),
             short_date(e.end_date) if e.end_date else vi("ongoing"), e.legal_basis]
            for e in episodes]
    if with_case:
        head.append(vi("Case"))
        for row, episode in zip(rows, episodes, strict=True):
            row.append(episode.case.number if episode.case else "—")
    return Section(vi(RequestCategory.EPISODES.label), head=head, rows=rows,
                   empty=vi("No custody episode in the period provided."))


def _events(episodes: list[CustodyEpisode], start, end, notes: bool = True) -> Section:
    """The events table; without their notes for the person's own request (`notes` False)."""
    rows = []
    for episode in episodes:
        for event in sorted(episode.events, key=lambda e: (e.occurred_on, e.id)):
            if _within(event.occurred_on, start, end):
                where = event.other_facility.name if event.other_facility else ""
                note = (event.note or "") if notes else ""
                rows.append([short_date(event.occurred_on), vi(event.kind.label),
                             event.document_number or "—",
                             " ".join(x for x in (where, note) if x) or "—"])
    return Section(vi(RequestCategory.EVENTS.label),
                   head=[vi("Date"), vi("Event"), vi("Document number"), vi("Details")],
                   rows=rows, empty=vi("No event in the period provided."))


def _case(episodes: list[CustodyEpisode]) -> Section:
    rows = []
    for case in cases_of(episodes):
        stages = "; ".join(
            f"{vi(s.stage.label)} từ {short_date(s.from_date)}"
            + (f" ({s.handling_org.name})" if s.handling_org else "") for s in case.stages)
        rows.append([case.number, case.title, case.charges, stages])
    return Section(vi(RequestCategory.CASE.label),
                   head=[vi("Case"), vi("Title"), vi("Charges"), vi("Stages")], rows=rows,
                   empty=vi("No case linked to the episodes in the period provided."))


def _title(category: RequestCategory, in_force: RuleSet | None) -> str:
    """A record category's section title, with the point of the provision in force, if any."""
    return category_title(vi(category.label), DocumentCategory(DOCUMENT_CATEGORIES[category]),
                          in_force)


def _documents(title: str, documents: list[RecordDocument], summaries: bool = True) -> Section:
    hidden = vi("(not shown)")
    return Section(title,
                   head=[vi("Document"), vi("Number"), vi("Issued on"), vi("Issued by"),
                         vi("Summary")],
                   rows=[[d.title + (f" ({vi(d.secrecy.label)})"
                                     if d.secrecy is not Secrecy.NONE else ""),
                          d.number or "—", short_date(d.issued_on), d.issuer,
                          (d.summary or "—") if summaries else hidden]
                         for d in documents],
                   empty=vi("No document of this category in the period provided."),
                   secrecy=highest(d.secrecy for d in documents))


def included_secrecy(sections: list[Section]) -> Secrecy:
    """The highest level of what the sections hold: the mark the document carries."""
    return highest(section.secrecy for section in sections)


def extract_sections(person: Person, grant: Grant, today: dt.date,
                     in_force: RuleSet | None = None, *, own: bool = False,
                     outside: bool = False) -> tuple[list[Section], list[str]]:
    """The sections of the granted parts, and the withheld lines (already in Vietnamese); the
    record categories titled as the rule set in force cites them. For the person's own request
    (`own`), what concerns others is withheld as the rule set's `own_view` says."""
    start, end = grant.period_from, grant.period_to
    episodes = sorted((e for e in person.episodes if overlaps(e, start, end)),
                      key=lambda e: (e.start_date, e.id))
    episode_ids = {e.id for e in episodes}
    # Category labels in the parameters are message ids too.
    withheld = [vi(w.message, **{k: vi(v) if k == "part" else v for k, v in w.params.items()})
                for w in grant.withheld]
    sections: list[Section] = []
    hidden = 0
    view = in_force.own_view if own and in_force is not None else {}
    notes = not own or (in_force is not None and in_force.own_view_event_notes)
    kept_back: dict[str, int] = {}  # redaction by audience: what, how many
    for value in RequestCategory:
        category = value.value
        if category not in grant.categories:
            continue
        before = len(sections)
        if value is RequestCategory.IDENTITY:
            sections.append(_identity(person, today, _title(value, in_force)))
        elif value is RequestCategory.EPISODES:
            sections.append(_episodes(episodes, RequestCategory.CASE.value
                                      in grant.categories))
        elif value is RequestCategory.EVENTS:
            sections.append(_events(episodes, start, end, notes))
            if not notes and any(e.note for ep in episodes for e in ep.events
                                 if _within(e.occurred_on, start, end)):
                kept_back["notes"] = 1
        elif value is RequestCategory.CASE:
            sections.append(_case(episodes))
        if value in DOCUMENT_CATEGORIES:
            wanted = [d for d in sorted(person.documents, key=lambda d: (d.issued_on, d.id))
                      if d.category.value == DOCUMENT_CATEGORIES[value]
                      and (d.episode_id in episode_ids if d.episode_id is not None
                           else _within(d.issued_on, start, end))]
            shown = [d for d in wanted if d.secrecy.rank <= grant.secrecy.rank]
            hidden += len(wanted) - len(shown)
            rule = view.get(DocumentCategory(DOCUMENT_CATEGORIES[value]), FULL) if own else FULL
            if rule == WITHHELD and shown:
                kept_back["documents"] = kept_back.get("documents", 0) + len(shown)
                shown = []
            elif rule == NO_DETAILS and any(d.summary for d in shown):
                kept_back["summaries"] = kept_back.get("summaries", 0) + sum(
                    1 for d in shown if d.summary)
            summaries = rule == FULL
            if value is RequestCategory.IDENTITY:
                # One section: the identity facts, then the documents of the category.
                listed = _documents(sections[-1].title, shown, summaries)
                sections[-1].head, sections[-1].rows = listed.head, listed.rows
                sections[-1].secrecy = listed.secrecy
            else:
                sections.append(_documents(_title(value, in_force), shown, summaries))
        for section in sections[before:]:
            section.category = category
    for number, section in enumerate(sections, 1):
        section.number = number
    if hidden:
        # Titles of classified documents are not printed either: their count is all there is.
        withheld.append(vi(N_("%(count)s classified document(s): state secrets are not "
                              "provided to organisations and persons outside the state "
                              "(%(law)s).") if outside else
                           N_("%(count)s classified document(s): the approval did not cover "
                              "their secrecy level (%(law)s)."), count=hidden,
                           law=secrets_law(today)))
    withheld += _kept_back(kept_back)
    return sections, withheld


def granted_contents(request: AccessRequest, today: dt.date, in_force: RuleSet | None,
                     cap: Secrecy | None = None) -> tuple[Grant, list[Section], list[str]]:
    """What a request's extract holds: its grant (up to the requester's clearance, and `cap`
    when given), the granted sections and the withheld lines (a person's own request redacted
    for them), for the PDF and the API alike."""
    grant = grant_of(request, request.requester.clearance)
    if cap is not None and cap.rank < grant.secrecy.rank:
        grant = replace(grant, secrecy=cap)
    person = request.subject_person
    sections, withheld = extract_sections(
        person, grant, today, in_force, own=request.on_behalf_of_id == person.id,
        outside=request.requester_org.kind.is_non_state)
    return grant, sections, withheld


def _kept_back(kept: dict[str, int]) -> list[str]:
    """The withheld lines of a person's own extract: what concerns others, not shown to them."""
    lines = []
    if kept.get("documents"):
        lines.append(vi(N_("%(count)s document(s) not shown: their category may concern other "
                           "persons (co-accused, informants, officers)."),
                        count=kept["documents"]))
    if kept.get("summaries"):
        lines.append(vi(N_("The summaries of %(count)s document(s) are not shown: they may "
                           "concern other persons (co-accused, informants, officers)."),
                        count=kept["summaries"]))
    if kept.get("notes"):
        lines.append(vi(N_("The notes of custody events are not shown: they may name other "
                           "persons (visitors, officers).")))
    return lines

"""Search, read, enter and correct records. Views validate, call a service, flash, redirect."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from werkzeug.datastructures import MultiDict
from wtforms.fields.choices import SelectChoice

from forms import EnumSelect, choices
from forms.records import (
    CaseForm,
    CorrectEpisodeForm,
    CorrectPersonForm,
    DocumentForm,
    EpisodeForm,
    EventForm,
    IdentifierForm,
    ImportForm,
    NewPersonForm,
    ReadPurposeForm,
    SearchForm,
    StageForm,
)
from web import db
from web.forms_support import attempt, status_for
from web.i18n import label, translated, vn_date
from web.records import purposes, searches
from web.requests.labels import job_reason
from web.security import actor, requires
from workflow.enums import Labelled
from workflow.errors import NotFound
from workflow.i18n import N_
from workflow.models import CustodyEpisode, Organisation, Person
from workflow.organisations.enums import OrgKind
from workflow.organisations.scope import facilities_in_scope
from workflow.records import (
    bulk_import,
    cases,
    checks,
    corrections,
    episodes,
    persons,
    policy,
    reading,
    search,
)
from workflow.records import import_template as blank_template
from workflow.records.checks import HANDLING_KINDS
from workflow.records.reading import PurposeRequired
from workflow.security.permissions import Permission

bp = Blueprint("records", __name__)
NONE = (0, _l("— none —"))


def _facility_choices() -> list[SelectChoice]:
    scope = checks.user_scope(db.session(), actor())
    return choices((f.id, f.name) for f in facilities_in_scope(db.session(), scope))


def _all_facility_choices() -> list[SelectChoice]:
    facilities = db.session().execute(
        select(Organisation.id, Organisation.name)
        .where(Organisation.kind.in_([OrgKind.DETENTION_CAMP, OrgKind.CUSTODY_HOUSE,
                                      OrgKind.BORDER_CUSTODY_ROOM]))
        .order_by(Organisation.name)).all()
    return choices([NONE, *facilities])


def _handler_choices() -> list[SelectChoice]:
    rows = db.session().execute(
        select(Organisation).where(Organisation.kind.in_(list(HANDLING_KINDS.values())))
        .order_by(Organisation.name)).scalars()
    return choices([NONE], str(_l("— none —"))) + [
        SelectChoice(org.id, org.name, optgroup=_(org.kind.label)) for org in rows]


def _form_page(form, act, *, done: Callable[[object], str], back: Callable[[object], str],
               title: str, view=None, template: str = "records/simple_form.html"):
    """A page that adds to or corrects a record: on a valid form the operation, then a flash
    and back to the record; otherwise the form again with its errors (422)."""
    if form.validate_on_submit():
        result = attempt(form, act)
        if result:
            flash(done(result), "success")
            return redirect(back(result))
    return render_template(template, form=form, view=view, title=title), status_for(form)


def _shown(value: object) -> str:
    """A field's value as the page prints it."""
    if value is None or value == "":
        return "—"
    if isinstance(value, Labelled):
        return label(value)
    if isinstance(value, dt.date):
        return vn_date(value)
    return str(value)


def _correction(form, record_type: str, record_id: int, changes: Callable[[], dict], *,
                person_id: int, view, title: str, record):
    """A correction: a new version with its reason, on the version the form was made on. When
    someone saved another version meanwhile, the page shows the record as it is now beside what
    was typed, and the form (typed values kept) moves onto the new version: sending it again
    applies the correction on top of theirs, knowingly."""
    if form.validate_on_submit():
        saved = attempt(form, lambda: corrections.correct(
            db.session(), actor(), record_type, record_id, changes(), reason=form.reason.data,
            expected_version=form.base_version()))
        if saved:
            flash(_("The correction has been saved as version %(n)s.", n=saved.version),
                  "success")
            return redirect(url_for(".person", person_id=person_id))
    meanwhile = None
    if form.is_submitted() and form.base_version() != record.version:
        meanwhile = {"version": record.version, "rows": [
            (f.label.text, _shown(getattr(record, f.name)),
             _shown(f.member if isinstance(f, EnumSelect) else f.data))
            for f in form if f.name in type(record).corrigible]}
        form.version.data = str(record.version)
    return render_template("records/correct.html", form=form, view=view, title=title,
                           meanwhile=meanwhile), status_for(form)


def _read(person_id: int) -> persons.PersonView:
    """The person's record, read for the purpose stated for it in this session; without one
    (or once it has lapsed), the purpose page first, which comes back here."""
    try:
        return persons.view_person(db.session(), actor(), person_id,
                                   purposes.recall(person_id))
    except PurposeRequired:
        abort(redirect(url_for(".read_purpose", person_id=person_id,
                               next=request.script_root + request.path), 303))


def _back_to(target: str | None, person_id: int) -> str:
    """Where the purpose page returns: the record's page it was asked from, or the record."""
    own_pages = re.escape(request.script_root) + r"/(persons|episodes)/\d+(/[a-z/]+)?"
    if target and re.fullmatch(own_pages, target):
        return target
    return url_for(".person", person_id=person_id)


@bp.route("/persons/<int:person_id>/purpose", methods=["GET", "POST"])
@requires(Permission.READ_RECORDS)
def read_purpose(person_id: int):
    """One step before a record of one's own scope is shown: what it is opened for (Art. 12
    §3a); remembered for this person while the record is worked on."""
    person = db.session().get(Person, person_id)
    if not policy.can_read_person(db.session(), current_user, person, actor().today):
        raise NotFound("No such record.")
    form = ReadPurposeForm()
    if not form.is_submitted():
        form.next.data = request.args.get("next", "")
    if form.validate_on_submit():
        purpose = attempt(form, lambda: reading.read_purpose(form.purpose.data, form.note.data))
        if purpose:
            purposes.remember(person_id, purpose)
            return redirect(_back_to(form.next.data, person_id), 303)
    return render_template("records/purpose.html", form=form, person=person), status_for(form)


def _episode(episode_id: int) -> CustodyEpisode:
    episode = db.session().get(CustodyEpisode, episode_id)
    if episode is None:
        raise NotFound("No such record.")
    return episode


@bp.route("/search", methods=["GET", "POST"])
@requires(Permission.SEARCH_RECORDS)
def search_persons():
    """Search by name or identity number within one's scope: the form posts, and the results
    are a page of their own (`?s=`) that Back, reload and the language switch return to."""
    if request.method == "POST":
        form = SearchForm()
        if form.validate_on_submit():
            terms = {"q": form.q.data, "birth_date": form.birth_date.raw_data[0]
                     if form.birth_date.data else ""}
            return redirect(url_for(".search_persons", s=searches.remember(terms)), 303)
        return render_template("records/search.html", form=form, result=None), 422
    search_id = request.args.get("s")
    terms = searches.recall(search_id)
    if search_id and terms is None:
        flash(_("That search is no longer kept (they last until you sign out). Search again."),
              "info")
    # The form shown again with the terms; its CSRF token is the page's own (csrf_token()).
    form = SearchForm(formdata=MultiDict(terms) if terms else None, meta={"csrf": False})
    result = None
    if terms is not None and form.validate():
        result = attempt(form, lambda: search.search_persons(
            db.session(), actor(), form.q.data, form.birth_date.data))
    return render_template("records/search.html", form=form, result=result), (
        422 if form.form_errors else 200)


@bp.route("/persons/<int:person_id>")
@requires(Permission.READ_RECORDS)
def person(person_id: int):
    """A person's record: identifiers, episodes with events, documents, cases and history."""
    view = _read(person_id)
    return render_template("records/person.html", view=view)


@bp.route("/persons/new", methods=["GET", "POST"])
@requires(Permission.WRITE_RECORDS)
def new_person():
    """Register a person received at one's facility."""
    form = NewPersonForm()
    form.facility_id.choices = _facility_choices()
    if form.validate_on_submit():
        created = attempt(form, lambda: persons.create_person(
            db.session(), actor(), form.person_input(), form.episode_input(),
            form.identifier_input()))
        if created:
            flash(_("%(name)s has been registered.", name=created.full_name), "success")
            # Who registers a person goes on keeping the record: that is what they read it for.
            purposes.remember(created.id, reading.ReadPurpose("keeping"))
            return redirect(url_for(".person", person_id=created.id))
    return render_template("records/person_new.html", form=form), status_for(form)


@bp.route("/persons/import", methods=["GET", "POST"])
@requires(Permission.WRITE_RECORDS)
def import_persons():
    """Send a facility's file of records: checked at once, then imported by a job whose page
    follows it."""
    form = ImportForm()
    form.facility_id.choices = _facility_choices()
    if form.validate_on_submit():
        upload = form.file.data
        job = attempt(form, lambda: bulk_import.queue_import(
            db.session(), actor(), form.facility_id.data, upload.read(), upload.filename or ""))
        if job is not None:
            return redirect(url_for(".import_job", job_id=job.id))
    return render_template("records/import.html", form=form,
                           columns=bulk_import.describe(_)), status_for(form)


@bp.route("/persons/import/<int:job_id>")
@requires(Permission.WRITE_RECORDS)
def import_job(job_id: int):
    """How far the import of one's file is (the page looks again by itself), then its report:
    all rows registered, or none and why."""
    job, upload = bulk_import.import_job(db.session(), actor(), job_id)
    # The report is committed with the rows: it is what happened, whatever became of the job.
    result = (bulk_import.ImportResult.from_json(upload.report_json)
              if upload.report_json else None)
    rejected = [(r.row, r.column, translated(r.message, r.params))
                for r in (result.rejected if result else [])]
    return render_template("records/import_job.html", job=job, upload=upload, result=result,
                           rejected=rejected,
                           reason=job_reason(job, N_("a fault while importing the file")))


TEMPLATES = {
    "csv": ("text/csv; charset=utf-8", lambda: blank_template.template_csv()),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
             lambda: blank_template.template_xlsx(_)),
}


@bp.route("/persons/import/template.<any(csv, xlsx):fmt>")
@requires(Permission.WRITE_RECORDS)
def import_template(fmt: str):
    """The file to fill for the import: Vietnamese headings and an example row (XLSX: a second
    sheet says what each column takes)."""
    mimetype, write = TEMPLATES[fmt]
    return Response(write(), mimetype=mimetype, headers={
        "Content-Disposition": f'attachment; filename="mau-nhap-ho-so.{fmt}"'})


@bp.route("/persons/<int:person_id>/correct", methods=["GET", "POST"])
@requires(Permission.WRITE_RECORDS)
def correct_person(person_id: int):
    """Correct a person's fields; the old version stays in the history."""
    view = _read(person_id)
    if not view.can_write:
        raise NotFound("No such record.")
    form = CorrectPersonForm(obj=view.person)
    if not form.is_submitted():
        form.version.data = str(view.person.version)
        form.sex.data = view.person.sex.value

    def changes() -> dict:
        data = form.person_input()
        return {k: getattr(data, k) for k in ("full_name", "birth_date", "sex", "nationality",
                                               "place_of_origin")}

    return _correction(form, "person", person_id, changes, person_id=person_id, view=view,
                       title=_("Correct the person's details"), record=view.person)


@bp.route("/persons/<int:person_id>/identifiers/new", methods=["GET", "POST"])
@requires(Permission.WRITE_RECORDS)
def new_identifier(person_id: int):
    """Add an identity document."""
    view = _read(person_id)
    form = IdentifierForm()
    return _form_page(form, lambda: persons.add_identifier(
        db.session(), actor(), person_id, persons.IdentifierInput(
            form.kind.member, form.value.data, form.issued_on.data, form.issuing_country.data)),
        done=lambda _r: _("The identity document has been added."),
        back=lambda _r: url_for(".person", person_id=person_id), view=view,
        title=_("Add an identity document"))


@bp.route("/persons/<int:person_id>/episodes/new", methods=["GET", "POST"])
@requires(Permission.WRITE_RECORDS)
def new_episode(person_id: int):
    """Open a new episode for a person already on record."""
    view = _read(person_id)
    form = EpisodeForm()
    form.facility_id.choices = _facility_choices()
    return _form_page(form, lambda: episodes.add_episode(
        db.session(), actor(), person_id, form.episode_input()),
        done=lambda _r: _("The episode has been opened."),
        back=lambda _r: url_for(".person", person_id=person_id), view=view,
        title=_("Open a custody episode"))


@bp.route("/episodes/<int:episode_id>/correct", methods=["GET", "POST"])
@requires(Permission.WRITE_RECORDS)
def correct_episode(episode_id: int):
    """Correct an episode; the old version stays in the history."""
    episode = _episode(episode_id)
    view = _read(episode.person_id)
    if episode not in view.episodes or not view.can_write:
        raise NotFound("No such record.")
    form = CorrectEpisodeForm(obj=episode)
    if not form.is_submitted():
        form.version.data = str(episode.version)
        form.measure.data = episode.measure.value
    return _correction(
        form, "episode", episode_id, lambda: {
            "measure": form.measure.member, "start_date": form.start_date.data,
            "end_date": form.end_date.data, "legal_basis": form.legal_basis.data},
        person_id=episode.person_id, view=view, record=episode,
        title=_("Correct the episode from %(date)s", date=vn_date(episode.start_date)))


@bp.route("/episodes/<int:episode_id>/events/new", methods=["GET", "POST"])
@requires(Permission.WRITE_RECORDS)
def new_event(episode_id: int):
    """Record an event of an episode."""
    episode = _episode(episode_id)
    view = _read(episode.person_id)
    form = EventForm()
    form.other_facility_id.choices = _all_facility_choices()
    return _form_page(form, lambda: episodes.add_event(
        db.session(), actor(), episode_id, kind=form.kind.member,
        occurred_on=form.occurred_on.data, note=form.note.data,
        document_number=form.document_number.data,
        other_facility_id=form.other_facility_id.data or None),
        done=lambda _r: _("The event has been recorded."),
        back=lambda _r: url_for(".person", person_id=episode.person_id), view=view,
        title=_("Record an event"))


@bp.route("/persons/<int:person_id>/documents/new", methods=["GET", "POST"])
@requires(Permission.WRITE_RECORDS)
def new_document(person_id: int):
    """File a document of the record."""
    view = _read(person_id)
    form = DocumentForm()
    form.episode_id.choices = choices([NONE] + [
        (e.id, f"{e.facility.name} ({vn_date(e.start_date)})") for e in view.episodes])
    return _form_page(form, lambda: persons.add_document(
        db.session(), actor(), person_id, category=form.category.member,
        title=form.title.data, number=form.number.data, issued_on=form.issued_on.data,
        issuer=form.issuer.data, secrecy=form.secrecy.member, summary=form.summary.data,
        episode_id=form.episode_id.data or None),
        done=lambda _r: _("The document has been filed."),
        back=lambda _r: url_for(".person", person_id=person_id), view=view,
        title=_("File a document"))


@bp.route("/cases/new", methods=["GET", "POST"])
@requires(Permission.WRITE_RECORDS)
def new_case():
    """Register a case with its first stage."""
    form = CaseForm()
    form.handling_org_id.choices = _handler_choices()
    return _form_page(form, lambda: cases.create_case(
        db.session(), actor(), number=form.number.data, title=form.title.data,
        charges=form.charges.data, opened_on=form.opened_on.data, stage=form.stage.member,
        handling_org_id=form.handling_org_id.data or None),
        done=lambda case: _("Case %(number)s has been registered.", number=case.number),
        back=lambda case: url_for(".case", case_id=case.id), title=_("Register a case"))


@bp.route("/cases/<int:case_id>", methods=["GET", "POST"])
@requires(Permission.READ_RECORDS)
def case(case_id: int):
    """A case with its dated stage history; clerks record stage changes here."""
    found = cases.get_case(db.session(), actor(), case_id)
    form = StageForm()
    form.handling_org_id.choices = _handler_choices()
    if form.validate_on_submit():
        done = attempt(form, lambda: cases.change_case_stage(
            db.session(), actor(), case_id, stage=form.stage.member,
            handling_org_id=form.handling_org_id.data or None, from_date=form.from_date.data,
            note=form.note.data))
        if done:
            flash(_("The stage has been recorded."), "success")
            return redirect(url_for(".case", case_id=case_id))
    me = actor()
    may_change = policy.can_change_case_stage(db.session(), me.user, found, me.today)
    return render_template("records/case.html", case=found, form=form,
                           may_change_stage=may_change), status_for(form)

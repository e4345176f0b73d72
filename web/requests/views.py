"""Access requests: file with a route preview, follow, decide, consent, release; queues, inbox."""

from __future__ import annotations

import datetime as dt

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from forms import choices
from forms.documents import PrepareForm, ReleaseForm, RevokeForm
from forms.requests import (
    ApproveForm,
    ConsentForm,
    ExtendForm,
    ListFilterForm,
    ReasonForm,
    RefuseForm,
    RequestForm,
)
from web import db
from web.diagram import state_diagram
from web.documents.views import settings
from web.extensions import filing_limit, pin_limit
from web.forms_support import attempt, posted_fields, status_for
from web.requests.labels import ACTION_LABELS, context
from web.requests.uploads import store_scan
from web.security import actor
from web.sessions import fresh_sign_in_required
from workflow.audit import chain as audit
from workflow.documents import extracts, issuing, tokens
from workflow.documents.enums import IssuedKind, IssuedState
from workflow.errors import Forbidden, NotFound
from workflow.i18n import N_
from workflow.jobs import runs as jobs
from workflow.models import Job, Organisation
from workflow.organisations.scope import MANAGEMENT_KINDS
from workflow.records import error_reports
from workflow.requests import clock, deadlines, decisions, filing, kernel, queries, requesters
from workflow.requests import inbox as requests_inbox
from workflow.requests import policy as request_policy
from workflow.requests.enums import Channel, RequestState, SubjectKind, Urgency
from workflow.requests.routing import keeps_the_database

bp = Blueprint("requests", __name__, url_prefix="/requests")
bp.context_processor(context)


def _flow() -> kernel.Workflow:
    return current_app.extensions["custody_workflow"]


@bp.route("/new", methods=["GET", "POST"])
@login_required
@filing_limit()
def new():
    """File a request; "preview" shows the route first without saving anything. With `for`, a
    clerk enters the signed written form of a requester outside the state their body vouched
    for, in that requester's name."""
    outsider = _outsider_filed_for()
    if outsider is None and not request_policy.can_file(current_user):
        if requesters.is_outside_requester(current_user):
            raise Forbidden(requesters.NOT_VOUCHED)
        abort(403)
    form = RequestForm()
    client = _client_named()
    if client is not None and not form.is_submitted():
        form.mandate_id.data, form.subject_kind.data = client.id, SubjectKind.PERSON.value
    form.statistics_org_id.choices = _statistics_scopes(own=outsider is None)
    if not form.is_submitted() and keeps_the_database(current_user.organisation) \
            and outsider is None:
        form.statistics_org_id.data = current_user.organisation_id
    if outsider is not None and not form.is_submitted():
        form.channel.data = Channel.WRITTEN.value
    route = None
    if form.validate_on_submit():
        if request.form.get("action") == "preview":
            route = attempt(form, lambda: filing.preview_written_request(
                db.session(), _flow(), actor(), outsider.user_id, form.request_input("preview"))
                if outsider is not None else filing.preview_route(
                db.session(), _flow(), actor(), form.request_input("preview")))
        else:
            def file_and_submit():
                data = form.request_input(store_scan(form.scan.data))
                if outsider is not None:
                    return filing.enter_written_request(db.session(), _flow(), actor(),
                                                        outsider.user_id, data)
                filed = filing.file_request(db.session(), actor(), data)
                return filing.submit(db.session(), _flow(), actor(), filed.id)

            filed = attempt(form, file_and_submit)
            if filed and outsider is not None:
                flash(_("Request %(number)s of %(name)s has been entered and submitted; they "
                        "follow it in their account.", number=filed.number,
                        name=outsider.user.full_name), "success")
                return redirect(url_for("requesters.show", user_id=outsider.user_id))
            if filed:
                flash(_("Request %(number)s has been submitted.", number=filed.number),
                      "success")
                return redirect(url_for(".show", request_id=filed.id))
    return render_template("requests/new.html", form=form, route=route, outsider=outsider,
                           client=client), status_for(form)


def _client_named():
    """The mandate by which a requester outside the state names the person they ask about
    (`?mandate=`, then the form's hidden field); None without one, 404 for any other."""
    wanted = request.values.get("mandate") or request.form.get("mandate_id")
    if not wanted:
        return None
    mandate = requesters.own_mandate(db.session(), current_user, wanted, actor().today)
    if mandate is None:
        raise NotFound(N_("No such mandate."))
    return mandate


def _outsider_filed_for():
    """The registration of the requester outside the state named by `for` (None without it);
    404 unless the clerk's body (or one under it) vouched for them."""
    wanted = request.args.get("for", type=int)
    if request.args.get("for") is None:
        return None
    if wanted is None or not requesters.can_vouch(current_user):
        raise NotFound(N_("No such requester."))
    vetting = requesters.vetting_of(db.session(), actor(), wanted)
    if vetting.withdrawn_at is not None:  # nothing more is filed for them
        raise NotFound(N_("No such requester."))
    return vetting


def _statistics_scopes(own: bool = True) -> list:
    """What a statistical question may be about: the whole database, the user's own body
    (whose scope needs no approval, Art. 12 §3a; not when the question is another's) and the
    management bodies."""
    mine_too = own
    own = current_user.organisation
    bodies = db.session().scalars(select(Organisation).where(
        Organisation.kind.in_(list(MANAGEMENT_KINDS)), Organisation.id != own.id)
        .order_by(Organisation.name))
    mine = ([(own.id, _("%(body)s — your own body's scope", body=own.name))]
            if keeps_the_database(own) and mine_too else [])
    return choices([(0, _("The whole database")), *mine,
                    *((org.id, org.name) for org in bodies)])


def _categories_form(form_class, prefix: str, req):
    form = form_class(prefix=prefix)
    form.categories.choices = [c for c in form.categories.choices if c.value in req.categories]
    form.categories.data = form.categories.data or req.categories
    return form


def _forms(req, documents, prepared):
    """The action forms of what the current user may do to this request now (the domain's
    `allowed_actions`); `documents` as `_documents` gives them, `prepared` the extract awaiting
    release."""
    allowed = request_policy.allowed_actions(db.session(), actor(), req)
    makers = {
        "approve": lambda: _categories_form(ApproveForm, "approve", req),
        "refuse": lambda: RefuseForm(prefix="refuse"),
        "extend": lambda: ExtendForm(prefix="extend"),
        "grant_consent": lambda: _categories_form(ConsentForm, "consent", req),
        "refuse_consent": lambda: RefuseForm(prefix="refuse_consent"),
        "return_for_supplement": lambda: ReasonForm(prefix="return"),
        "withdraw": lambda: ReasonForm(prefix="withdraw"),
        "resubmit": lambda: ReasonForm(prefix="resubmit"),
        "close": lambda: ReasonForm(prefix="close"),
        "prepare": lambda: PrepareForm(prefix="prepare"),
    }
    forms = {name: make() for name, make in makers.items() if name in allowed}
    if "release" in allowed:
        if req.subject_kind is not SubjectKind.PERSON:
            forms["release"] = ReasonForm(prefix="release")
        elif prepared is not None:
            forms["release"] = ReleaseForm(
                prefix="release", document_id=str(prepared.id), sha256=prepared.sha256,
                valid_days=settings().valid_days,
                download_limit=prepared.contents.get("copies") or settings().download_limit)
    revocable = [d for d in documents if d.state is IssuedState.RELEASED and d.may_revoke]
    if revocable:
        forms["revoke"] = RevokeForm(prefix="revoke", document_id=str(revocable[-1].id))
    return forms


def _documents(req, issued: list) -> list:
    """The documents of the request this user may see, each marked with what the user may do."""
    user, sess, day = current_user, db.session(), actor().today
    shown = []
    for document in issued:
        access = request_policy.document_access(sess, user, document, day)
        if access is None:
            continue
        document.may_revoke = request_policy.can_revoke(sess, user, req, document, day)
        document.may_report = request_policy.can_report_error(user, document)
        document.link = (url_for(f"documents.{access}", document_id=document.id)
                         if access != "listed" else None)
        shown.append(document)
    return shown


# Decisions that cannot be undone are checked on a page of their own before they are made.
CHECKED = frozenset({"refuse", "refuse_consent", "release", "revoke"})
# Decisions that issue a document signed by the one who decides: with a signing token of
# their own, they type its PIN on the check page (a consent written on paper issues none).
SIGNED = frozenset({"refuse", "refuse_consent", "grant_consent", "return_for_supplement",
                    "release"})


def _signs_personally(action: str, form) -> bool:
    """Whether this action signs with the user's own token, so the check page asks its PIN."""
    # A consent written on paper (its number or its scan) issues no letter: it goes straight to
    # the operation, with the scan it carries (a check page could not carry a file).
    if action not in SIGNED or (action == "grant_consent" and (
            (form.letter_ref.data or "").strip() or form.letter_scan.data)):
        return False
    if action == "release" and not isinstance(form, ReleaseForm):
        return False
    return tokens.personal_credential(db.session(), current_user) is not None


def _job(req, forms, documents) -> Job | None:
    """The job producing the request's extract, shown to who may prepare or release it (and to
    who asked for it): running, or failed after the latest document."""
    job = jobs.latest(db.session(), req.id)
    if job is None or not (job.user_id == current_user.id or {"prepare", "release"} & set(forms)):
        return None
    if job.state == "failed" and (req.state is not RequestState.APPROVED or any(
            (d.released_at or d.created_at) >= job.finished_at for d in documents)):
        return None  # something happened since: the failure is no longer the news
    return job if job.active or job.state == "failed" else None


def _page(req, forms, documents, preparation, failed=None, status=200):
    explained = clock.explain(req, kernel.calendar_of(db.session(), _flow()))
    return render_template("requests/show.html", req=req, forms=forms, failed=failed,
                           job=_job(req, forms, documents),
                           explained=explained,
                           diagram=state_diagram(req.state), documents=documents,
                           preparation=preparation, today=actor().today,
                           error_reports=error_reports.reports_by(db.session(), current_user,
                                                                  req.id)), status


@bp.route("/<int:request_id>", methods=["GET", "POST"])
@login_required
@fresh_sign_in_required
@pin_limit()
def show(request_id: int):
    """The request with its route, deadline, steps, timeline, diagram and the user's actions;
    a refusal, a release or a revocation is shown for checking before it is made."""
    req = queries.get_request(db.session(), actor(), request_id)
    issued = extracts.documents_of(db.session(), req.id)
    documents = _documents(req, issued)
    preparation = extracts.preparation_among(issued)
    forms = _forms(req, documents, preparation)
    if request.method != "POST":
        return _page(req, forms, documents, preparation)
    action = request.form.get("action") or ""
    form = forms.get(action)
    # Someone may have acted since this request read the request and its steps (the action
    # may be gone, or offered on what is now old): read the version again. A form without
    # the version it was made on is a stale page too, never a pass.
    db.session().refresh(req, ["version"])
    if request.form.get("version", "") != str(req.version):
        flash(_("The request changed while you were looking at it; nothing was done. Here "
                "it is as it is now."), "info")
        return redirect(url_for(".show", request_id=request_id))
    if form is None:
        abort(403)
    if not form.validate_on_submit():
        return _page(req, forms, documents, preparation, failed=action, status=422)
    if request.form.get("change"):
        return _page(req, forms, documents, preparation, failed=action)
    personal = _signs_personally(action, form)
    checked = personal or _checked(action, form, documents, preparation)
    if checked and request.form.get("confirmed") != "yes":
        return _check_page(req, action, form, preparation, documents, personal)
    pin = request.form.get("pin", "")[:64] if personal else None
    if done := attempt(form, lambda: _act(action, form, request_id, req.version, pin)):
        if isinstance(done, Job):  # a long extract: produced off the request path
            flash(_("The extract is long: it is produced apart from this page, which shows "
                    "how far it is and its preview when it is ready."), "info")
            return redirect(url_for(".show", request_id=request_id))
        if action == "prepare":  # what comes next (preview, release) is on the request's page
            flash(_("Done: %(action)s.", action=_(ACTION_LABELS[action])), "success")
            return redirect(url_for(".show", request_id=request_id))
        return redirect(url_for(".done", request_id=request_id, action=action))
    if personal:  # a wrong PIN is typed again where it was typed, the decision as it was
        g.pin_refused = isinstance(g.get("refused"), tokens.PinRefused)
        return _check_page(req, action, form, preparation, documents, personal, status=422)
    return _page(req, forms, documents, preparation, failed=action, status=422)


def _check_page(req, action: str, form, preparation, documents, personal: bool,
                status: int = 200):
    """The check-your-answers page of a decision, with the PIN of the user's token when the
    decision is signed with it (the PIN is never sent back)."""
    until = (actor().today + dt.timedelta(days=form.valid_days.data)
             if isinstance(form, ReleaseForm) else None)
    carried = posted_fields(lambda name: name in ("confirmed", "change"))
    pin_error = None
    if isinstance(g.get("refused"), tokens.PinRefused):  # told at the field, linked from the top
        pin_error = form.form_errors.pop()
    return render_template("requests/check.html", req=req, action=action, form=form,
                           preparation=preparation, documents=documents, carried=carried,
                           until=until, personal=personal, pin_error=pin_error), status


def _checked(action: str, form, documents: list, preparation) -> bool:
    """Whether the action gets a check-your-answers page first: refusals, releases, revocations
    and preparing again (which supersedes the extract awaiting release and uses another
    register number). A form naming a document the page does not offer goes straight to the
    operation, which refuses it."""
    match action:
        case "refuse" | "refuse_consent":
            return True
        case "release":
            return not isinstance(form, ReleaseForm) or (
                preparation is not None and form.document_id.data == str(preparation.id)
                and form.sha256.data == preparation.sha256
                and extracts.previewed_by(db.session(), actor(), preparation))
        case "revoke":
            return any(str(d.id) == form.document_id.data and d.may_revoke for d in documents)
        case "prepare":
            return preparation is not None
    return False


@bp.route("/<int:request_id>/done/<action>")
@login_required
def done(request_id: int, action: str):
    """What the user has just done: to whom, until when, the notice's number."""
    if action not in ACTION_LABELS:
        abort(404)
    req = queries.get_request(db.session(), actor(), request_id)
    documents = _documents(req, extracts.documents_of(db.session(), req.id))
    mine = [t for t in req.transitions if t.actor_id == current_user.id]
    last = mine[-1] if mine else None
    issued = [d for d in documents if last is not None and d.created_at >= last.at
              and d.kind is not IssuedKind.EXTRACT]
    extract = next((d for d in reversed(documents) if d.kind is IssuedKind.EXTRACT), None)
    if last is None and action != "revoke":
        return redirect(url_for(".show", request_id=request_id))
    return render_template("requests/done.html", req=req, action=action, last=last,
                           issued=issued, extract=extract)


def _act(action: str, form, request_id: int, version: int, pin: str | None = None):
    """The operation of the action, on the version of the request the user saw, signed with the
    user's token when `pin` opens it; the operation issues its own notices and audit entries."""
    sess, who, flow, seen = db.session(), actor(pin), _flow(), {"expected_version": version}
    match action:
        case "approve":
            return decisions.approve(sess, who, request_id, categories=form.categories.data,
                                  period_from=form.period_from.data,
                                  period_to=form.period_to.data, note=form.note.data, **seen)
        case "refuse":
            return decisions.refuse(sess, flow, who, request_id, reason_code=form.reason_code.data,
                                 text=form.text.data, **seen)
        case "grant_consent":
            return decisions.grant_consent(sess, flow, who, request_id,
                                        letter_ref=form.letter_ref.data,
                                        categories=form.categories.data,
                                        expires_on=form.expires_on.data, note=form.note.data,
                                        letter_scan=store_scan(form.letter_scan.data), **seen)
        case "refuse_consent":
            return decisions.refuse_consent(sess, flow, who, request_id,
                                         reason_code=form.reason_code.data, text=form.text.data,
                                         **seen)
        case "return_for_supplement":
            return decisions.return_for_supplement(sess, flow, who, request_id,
                                                reason=form.reason.data, **seen)
        case "withdraw":
            return decisions.withdraw(sess, who, request_id, reason=form.reason.data, **seen)
        case "resubmit":
            return filing.submit(sess, flow, who, request_id, **seen)
        case "close":
            return decisions.close(sess, who, request_id, **seen)
        case "prepare":
            return extracts.prepare_extract(sess, settings(), who, request_id, **seen)
        case "release" if isinstance(form, ReleaseForm):
            return extracts.release_extract(
                sess, flow, settings(), who, request_id, document_id=int(form.document_id.data),
                sha256=form.sha256.data, valid_days=form.valid_days.data,
                download_limit=form.download_limit.data, named=form.usernames(), **seen)
        case "release":
            return decisions.release(sess, flow, who, request_id, **seen)
        case "revoke":
            return extracts.revoke(sess, who, request_id, int(form.document_id.data),
                                   reason=form.reason.data, **seen)
        case "extend":
            return deadlines.extend_deadline(sess, flow, who, request_id, reason=form.reason.data,
                                             working_days=form.working_days.data, **seen)
    abort(400)


@bp.route("/")
@login_required
def index():
    """Dashboards: my requests, awaiting my decision, awaiting my consent, overdue."""
    views = request_policy.lists_of(current_user)
    if not views:
        abort(403)
    view = request.args.get("view", views[0])
    if view not in views:
        abort(404)
    form = ListFilterForm(request.args)
    form.state.choices = choices([("", "—")] + [(s.value, _(s.label)) for s in RequestState])
    form.urgency.choices = choices([("", "—")] + [(u.value, _(u.label)) for u in Urgency])
    state = RequestState(form.state.data) if form.state.data else None
    urgency = Urgency(form.urgency.data) if form.urgency.data else None
    rows = queries.list_requests(db.session(), actor(), view, state=state, urgency=urgency)
    from web.requests.queue import queue_page  # the queue's routes join this blueprint

    return render_template("requests/index.html", rows=rows, view=view, views=views, form=form,
                           today=actor().today, may_file=request_policy.can_file(current_user),
                           **queue_page(view, rows))


@bp.route("/form.pdf")
@login_required
def form_pdf():
    """The blank request form (phiếu đề nghị cung cấp thông tin) to print and fill in by hand."""
    from web.requests.labels import category_label
    from workflow.requests.enums import RequestCategory

    pdf = issuing.renderer().render("request_form.html", {
        "issuer_parent": "", "issuer": "", "place": "..................",
        "addressee": "Cơ quan quản lý cơ sở dữ liệu về thi hành tạm giữ, tạm giam",
        "categories": [category_label(c.value) for c in RequestCategory],
        "printed_on": actor().today})
    audit.record(db.session(), actor(), "document.blank_form")
    return Response(pdf, mimetype="application/pdf", headers={
        "Content-Disposition": 'inline; filename="phieu-de-nghi-cung-cap-thong-tin.pdf"'})


@bp.route("/inbox", methods=["GET", "POST"])
@login_required
def inbox():
    """The user's notifications; POST marks them all read."""
    if request.method == "POST":
        requests_inbox.mark_read(db.session(), actor())
        return redirect(url_for(".inbox"))
    items = requests_inbox.inbox(db.session(), actor())
    return render_template("requests/inbox.html", items=items)

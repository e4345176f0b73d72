"""Access requests: file with a route preview, follow, decide, consent, release; queues, inbox."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required

from forms.documents import PrepareForm, ReleaseForm, RevokeForm
from forms.requests import (
    ApproveForm,
    ConsentForm,
    ListFilterForm,
    ReasonForm,
    RefuseForm,
    RequestForm,
)
from web import db
from web.diagram import state_diagram
from web.documents.views import settings
from web.forms_support import attempt, status_for
from web.requests.labels import ACTION_LABELS, context
from web.requests.uploads import store_scan
from web.security import actor
from web.sessions import fresh_sign_in_required
from workflow import access, audit, extracts
from workflow.enums import (
    IssuedKind,
    IssuedState,
    RequestState,
    Role,
    StepKind,
    SubjectKind,
    Urgency,
)
from workflow.machine import allowed_triggers

bp = Blueprint("requests", __name__, url_prefix="/requests")
bp.context_processor(context)
FILERS = (Role.REQUESTER, Role.CLERK, Role.DETAINEE)


def _flow() -> access.Workflow:
    return current_app.extensions["custody_workflow"]


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    """File a request; "preview" shows the route first without saving anything."""
    if not current_user.has_role(*FILERS):
        abort(403)
    form = RequestForm()
    route = None
    if form.validate_on_submit():
        if request.form.get("action") == "preview":
            route = attempt(form, lambda: access.preview_route(
                db.session(), _flow(), actor(), form.request_input("preview")))
        else:
            def file_and_submit():
                filed = access.file_request(db.session(), actor(),
                                            form.request_input(store_scan(form.scan.data)))
                return access.submit(db.session(), _flow(), actor(), filed.id)

            filed = attempt(form, file_and_submit)
            if filed:
                flash(_("Request %(number)s has been submitted.", number=filed.number),
                      "success")
                return redirect(url_for(".show", request_id=filed.id))
    return render_template("requests/new.html", form=form, route=route), status_for(form)


def _forms(req, documents, prepared):
    """The action forms the current user may use on this request (`documents` as `_documents`
    gives them, `prepared` the extract awaiting release)."""
    user, day, sess = current_user, actor().today, db.session()
    approver = bool(access.decider_steps(sess, user, req, StepKind.APPROVAL, day))
    consenter = bool(access.decider_steps(sess, user, req, StepKind.CONSENT, day))
    triggers = allowed_triggers(req)
    forms = {}
    if approver and "approve" in triggers:
        approve = ApproveForm(prefix="approve")
        approve.categories.choices = [c for c in approve.categories.choices
                                      if c[0] in req.categories]
        approve.categories.data = approve.categories.data or req.categories
        forms["approve"], forms["refuse"] = approve, RefuseForm(prefix="refuse")
        if not req.extended:
            forms["extend"] = ReasonForm(prefix="extend")
    if consenter and "grant_consent" in triggers:
        consent = ConsentForm(prefix="consent")
        consent.categories.choices = [c for c in consent.categories.choices
                                      if c[0] in req.categories]
        consent.categories.data = consent.categories.data or req.categories
        forms["grant_consent"] = consent
        forms["refuse_consent"] = RefuseForm(prefix="refuse_consent")
    if (approver or consenter) and "return_for_supplement" in triggers:
        forms["return_for_supplement"] = ReasonForm(prefix="return")
    if access.is_requester(user, req):
        for trigger in ("withdraw", "resubmit", "close"):
            if trigger in triggers:
                forms[trigger] = ReasonForm(prefix=trigger)
    if "release" in triggers and access.may_fire(sess, actor(), req, "release"):
        if req.subject_kind is SubjectKind.PERSON:
            forms["prepare"] = PrepareForm(prefix="prepare")
            if prepared is not None:
                forms["release"] = ReleaseForm(
                    prefix="release", document_id=str(prepared.id), sha256=prepared.sha256,
                    valid_days=settings().valid_days, download_limit=settings().download_limit)
        else:
            forms["release"] = ReasonForm(prefix="release")
    revocable = [d for d in documents if d.kind is IssuedKind.EXTRACT
                 and d.state is IssuedState.RELEASED and d.may_revoke]
    if revocable:
        forms["revoke"] = RevokeForm(prefix="revoke", document_id=str(revocable[-1].id))
    return forms


def _documents(issued: list) -> list:
    """The documents of the request this user may see, each marked with what the user may do."""
    user, sess, day = current_user, db.session(), actor().today
    shown = []
    for document in issued:
        releaser = extracts.may_manage(sess, user, document, day)
        document.may_revoke = releaser and user.has_role(Role.APPROVER)
        if document.kind is not IssuedKind.EXTRACT:
            document.link = url_for("documents.letter", document_id=document.id)
        elif releaser:
            document.link = url_for("documents.preview", document_id=document.id)
        elif extracts.may_download(user, document) and document.state in (
                IssuedState.RELEASED, IssuedState.REVOKED):
            document.link = url_for("documents.download", document_id=document.id)
        else:
            continue
        shown.append(document)
    return shown


@bp.route("/<int:request_id>", methods=["GET", "POST"])
@login_required
@fresh_sign_in_required
def show(request_id: int):
    """The request with its route, deadline, steps, timeline, diagram and the user's actions."""
    req = access.get_request(db.session(), actor(), request_id)
    issued = extracts.documents_of(db.session(), req.id)
    documents = _documents(issued)
    preparation = extracts.preparation_among(issued)
    forms = _forms(req, documents, preparation)
    action = request.form.get("action")
    if request.method == "POST":
        posted = request.form.get("version")
        form = forms.get(action or "")
        if posted:
            # Someone may have acted since this request read the request and its steps (the
            # action may be gone, or offered on what is now old): read the version again.
            db.session().refresh(req, ["version"])
        if posted and posted != str(req.version):
            # Someone else acted first (another approver, the requester): show what is now.
            flash(_("The request changed while you were looking at it; nothing was done. Here "
                    "it is as it is now."), "info")
            return redirect(url_for(".show", request_id=request_id))
        if form is None:
            abort(403)
        done = form.validate_on_submit() and attempt(
            form, lambda: _perform(action, form, request_id))
        if done:
            flash(_("Done: %(action)s.", action=_(ACTION_LABELS[action])), "success")
            return redirect(url_for(".show", request_id=request_id))
        return render_template("requests/show.html", req=req, forms=forms, failed=action,
                               diagram=state_diagram(req.state), documents=documents,
                               preparation=preparation, today=actor().today), 422
    return render_template("requests/show.html", req=req, forms=forms, failed=None,
                           diagram=state_diagram(req.state), documents=documents,
                           preparation=preparation, today=actor().today)


def _perform(action: str, form, request_id: int):
    done = _act(action, form, request_id)
    if action in LETTER_ACTIONS:
        # The written notice of the decision is issued in the same transaction.
        extracts.issue_letters(db.session(), settings(), actor(), request_id)
    return done


LETTER_ACTIONS = frozenset({"refuse", "refuse_consent", "grant_consent",
                            "return_for_supplement"})


def _act(action: str, form, request_id: int):
    sess, who, flow = db.session(), actor(), _flow()
    match action:
        case "approve":
            return access.approve(sess, who, request_id, categories=form.categories.data,
                                  period_from=form.period_from.data,
                                  period_to=form.period_to.data, note=form.note.data)
        case "refuse":
            return access.refuse(sess, who, request_id, reason_code=form.reason_code.data,
                                 text=form.text.data)
        case "grant_consent":
            return access.grant_consent(sess, who, request_id, letter_ref=form.letter_ref.data,
                                        categories=form.categories.data,
                                        expires_on=form.expires_on.data, note=form.note.data,
                                        letter_scan=store_scan(form.letter_scan.data))
        case "refuse_consent":
            return access.refuse_consent(sess, who, request_id,
                                         reason_code=form.reason_code.data, text=form.text.data)
        case "return_for_supplement":
            return access.return_for_supplement(sess, flow, who, request_id,
                                                reason=form.reason.data)
        case "withdraw":
            return access.withdraw(sess, who, request_id, reason=form.reason.data)
        case "resubmit":
            return access.submit(sess, flow, who, request_id)
        case "close":
            return access.close(sess, who, request_id)
        case "prepare":
            return extracts.prepare_extract(sess, settings(), who, request_id)
        case "release" if isinstance(form, ReleaseForm):
            return extracts.release_extract(
                sess, flow, settings(), who, request_id, document_id=int(form.document_id.data),
                sha256=form.sha256.data, valid_days=form.valid_days.data,
                download_limit=form.download_limit.data, named=form.usernames())
        case "release":
            return access.release(sess, flow, who, request_id)
        case "revoke":
            return extracts.revoke(sess, who, int(form.document_id.data),
                                   reason=form.reason.data)
        case "extend":
            return access.extend_deadline(sess, flow, who, request_id, reason=form.reason.data)
    abort(400)


@bp.route("/")
@login_required
def index():
    """Dashboards: my requests, awaiting my decision, awaiting my consent, overdue."""
    views = [v for v in access.VIEWS if _may_list(v)]
    if not views:
        abort(403)
    view = request.args.get("view", views[0])
    if view not in views:
        abort(404)
    form = ListFilterForm(request.args)
    form.state.choices = [("", "—")] + [(s.value, _(s.label)) for s in RequestState]
    form.urgency.choices = [("", "—")] + [(u.value, _(u.label)) for u in Urgency]
    state = RequestState(form.state.data) if form.state.data else None
    urgency = Urgency(form.urgency.data) if form.urgency.data else None
    rows = access.list_requests(db.session(), actor(), view, state=state, urgency=urgency)
    return render_template("requests/index.html", rows=rows, view=view, views=views, form=form,
                           today=actor().today)


def _may_list(view: str) -> bool:
    user = current_user
    return {"mine": user.has_role(*FILERS), "approval": user.has_role(Role.APPROVER),
            "consent": user.has_role(Role.CONSENT_OFFICER),
            "overdue": user.has_role(Role.APPROVER, Role.REQUESTER)}[view]


@bp.route("/form.pdf")
@login_required
def form_pdf():
    """The blank request form (phiếu đề nghị cung cấp thông tin) to print and fill in by hand."""
    from web.requests.labels import category_label
    from workflow.enums import RequestCategory

    pdf = extracts.renderer().render("request_form.html", {
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
        access.mark_read(db.session(), actor())
        return redirect(url_for(".inbox"))
    items = access.inbox(db.session(), current_user)
    return render_template("requests/inbox.html", items=items)

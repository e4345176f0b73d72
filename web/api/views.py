"""The JSON API for system-to-system use: the same services, policies and audit as the pages,
with bearer tokens of system accounts instead of sessions (so no cookie, no CSRF). Decisions
need a person's fresh two-factor sign-in: they are taken on the pages, never with a token (the
releaser's acts on an extract: web/api/extracts.py)."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import current_app, g, request
from flask.views import MethodView
from flask_smorest import Blueprint, Page, abort
from sqlalchemy import select
from werkzeug.exceptions import HTTPException

from web import db
from web.api.schemas import (
    ApproveIn,
    ConsentIn,
    DocumentOut,
    ExtendIn,
    ListArgs,
    ReasonIn,
    RefuseIn,
    RequestIn,
    RequestOut,
    RouteOut,
    TransitionOut,
    VerificationOut,
)
from web.documents.views import pdf_response
from web.errors import audit_refusal
from web.extensions import filing_limit, limiter
from web.i18n import domain_message
from workflow.context import Actor
from workflow.db import utcnow
from workflow.documents import extracts, letters, verification
from workflow.errors import DomainError, NotFound
from workflow.i18n import N_
from workflow.models import Organisation
from workflow.requests import deadlines, decisions, filing, kernel, queries
from workflow.requests import policy as request_policy
from workflow.requests.enums import Channel, ProvisionForm, RequestState, SubjectKind, Urgency
from workflow.requests.filing import RequestInput
from workflow.security import tokens


class ApiBlueprint(Blueprint):
    """flask-smorest's blueprint whose paginated lists also link their neighbouring pages
    (RFC 8288 `Link`: first, prev, next, last) beside its `X-Pagination` header."""

    DEFAULT_PAGINATION_PARAMETERS = {"page": 1, "page_size": 50, "max_page_size": 100}

    def _set_pagination_metadata(self, page_params, result, headers):
        result, headers = super()._set_pagination_metadata(page_params, result, headers)
        meta = self._make_pagination_metadata(page_params.page, page_params.page_size,
                                              page_params.item_count)
        links = [f'<{_page_url(meta[key], page_params.page_size)}>; rel="{rel}"'
                 for key, rel in (("first_page", "first"), ("previous_page", "prev"),
                                  ("next_page", "next"), ("last_page", "last")) if key in meta]
        if links:
            headers["Link"] = ", ".join(links)
        return result, headers

    def _document_pagination_metadata(self, spec, resp_doc):
        super()._document_pagination_metadata(spec, resp_doc)
        resp_doc["headers"]["Link"] = {
            "description": "The first, prev, next and last pages (RFC 8288), where they exist.",
            "schema": {"type": "string"}}


def _page_url(page: int, size: int) -> str:
    """This list's address at another page, its other parameters kept."""
    args = request.args.to_dict(flat=False) | {"page": [str(page)], "page_size": [str(size)]}
    return f"{request.base_url}?{urlencode(args, doseq=True)}"


bp = ApiBlueprint("api", __name__, url_prefix="/api/v1",
                  description="Access requests under Decree 121/2017, Art. 12")


@bp.before_request
def authenticate() -> None:
    """A bearer token of a system account, live (not expired, not revoked, the account active
    and unlocked); nothing else is accepted."""
    header = request.headers.get("Authorization", "")
    token = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else ""
    now = utcnow()
    # Set before any refusal: a call without a token is audited too (audit_token_use).
    g.api_token = tokens.check(db.session(), token, now)
    row, refused = g.api_token
    if refused is not None:
        abort(401, message="A valid bearer token is required.")
    g.api_actor = Actor(row.user, request.remote_addr, now)


@bp.after_request
def audit_token_use(response):
    """One audit entry per call: the token's use, naming it, or why no token acts (none, unknown,
    revoked, expired, its account disabled or locked). A refused act was recorded instead, with
    the token, by `_refused`."""
    if "api_token" in g:
        row, refused = g.pop("api_token")
        tokens.record_use(db.session(), g.get("api_actor") or Actor(None, request.remote_addr),
                          row, refused, {"method": request.method, "path": request.path[:200],
                                         "status": response.status_code})
    return response


def _actor() -> Actor:
    return g.api_actor


def _flow() -> kernel.Workflow:
    return current_app.extensions["custody_workflow"]


def _refused(status: int, reason: str) -> None:
    """The one audit entry of a refused act: the refusal, naming the token that asked (so its
    use is not recorded a second time)."""
    row, _ = g.pop("api_token", (None, None))
    actor = g.get("api_actor")
    audit_refusal(status, reason, actor, None if row is None else {
        "token": row.id, "token_name": row.name})
    if row is not None and actor is not None:
        row.last_used_at = actor.now


@bp.errorhandler(DomainError)
def domain_error(error: DomainError):
    """Domain errors answer with their status and message, and whatever the view added for
    the caller in `error.answer` (a refused package's signed receipt); the refusal is
    audited."""
    _refused(error.status, error.message)
    return {"status": error.status, "error": domain_message(error),
            **getattr(error, "answer", {})}, error.status


@bp.errorhandler(HTTPException)
def http_error(error: HTTPException):
    """HTTP errors of the API in JSON (validation messages included); 403s are audited."""
    status = error.code or 500
    if status == 403:
        _refused(status, "permission")
    payload = {"status": status, "error": error.description}
    messages = getattr(error, "data", {}).get("messages")
    if messages:
        payload["messages"] = messages
    elif getattr(error, "data", {}).get("message"):
        payload["error"] = error.data["message"]
    return payload, status


def _seen(data: dict) -> dict:
    """A decision's fields, with the version it was made on as the operation expects it."""
    fields = dict(data)
    fields["expected_version"] = fields.pop("version")
    return fields


def _input(data: dict) -> RequestInput:
    return RequestInput(
        channel=Channel(data["channel"]), subject_kind=SubjectKind(data["subject_kind"]),
        purpose=data["purpose"], legal_basis=data["legal_basis"],
        provision=ProvisionForm(data["provision"]), categories=data["categories"],
        urgency=Urgency(data["urgency"]), identity_number=data.get("identity_number"),
        subject_name=data.get("subject_name"), subject_birth_date=data.get("subject_birth_date"),
        statistical_question=data.get("statistical_question"),
        statistics_org_id=_organisation_id(data.get("statistics_organisation")),
        period_from=data.get("period_from"), period_to=data.get("period_to"),
        requester_reference=data.get("requester_reference"))


def _organisation_id(code: str | None) -> int | None:
    """The id of the organisation a code names (0, which the filing refuses, if none does)."""
    if not code:
        return None
    return db.session().scalar(select(Organisation.id).where(Organisation.code == code)) or 0


@bp.route("/requests")
class Requests(MethodView):
    """Requests of the service account."""

    @bp.arguments(ListArgs, location="query")
    @bp.response(200, RequestOut(many=True))
    @bp.paginate()
    def get(self, args, pagination_parameters):
        """List, a page at a time: mine, awaiting my approval or consent, overdue (optionally
        only those with my own `requester_reference`)."""
        state = RequestState(args["state"]) if args.get("state") else None
        view = args.get("view") or next(iter(request_policy.lists_of(_actor().user)), "mine")
        rows, pagination_parameters.item_count = queries.page_of_requests(
            db.session(), _actor(), view, page=pagination_parameters.page,
            size=pagination_parameters.page_size, state=state,
            reference=args.get("requester_reference"))
        return rows

    @bp.arguments(RequestIn)
    @bp.response(201, RequestOut)
    @filing_limit()
    def post(self, data):
        """File a request (and submit it at once when `submit` is true)."""
        filed = filing.file_request(db.session(), _actor(), _input(data))
        if data["submit"]:
            filed = filing.submit(db.session(), _flow(), _actor(), filed.id)
        return filed


@bp.route("/requests/preview", methods=["POST"])
@bp.arguments(RequestIn)
@bp.response(200, RouteOut)
@filing_limit()
def preview(data):
    """Which approvals and consents a request would need, and by when."""
    route = filing.preview_route(db.session(), _flow(), _actor(), _input(data))
    body = route.as_json()
    body["due"] = route.due.due if route.due else None
    return body


@bp.route("/requests/<int:request_id>", methods=["GET"])
@bp.response(200, RequestOut)
def get_request(request_id: int):
    """One request, if the service account may see it."""
    return queries.get_request(db.session(), _actor(), request_id)


@bp.route("/requests/<int:request_id>/timeline", methods=["GET"])
@bp.response(200, TransitionOut(many=True))
@bp.paginate(Page, page_size=100)
def timeline(request_id: int):
    """Every transition of the request, oldest first."""
    return queries.get_request(db.session(), _actor(), request_id).transitions


@bp.route("/requests/<int:request_id>/submit", methods=["POST"])
@bp.response(200, RequestOut)
def submit(request_id: int):
    """Submit a draft or resubmit a returned request."""
    return filing.submit(db.session(), _flow(), _actor(), request_id)


@bp.route("/requests/<int:request_id>/approve", methods=["POST"])
@bp.arguments(ApproveIn)
@bp.response(200, RequestOut)
def approve(data, request_id: int):
    """Approve (the categories and period granted may be narrower than asked)."""
    return decisions.approve(db.session(), _actor(), request_id, **_seen(data))


@bp.route("/requests/<int:request_id>/refuse", methods=["POST"])
@bp.arguments(RefuseIn)
@bp.response(200, RequestOut)
def refuse(data, request_id: int):
    """Refuse with a reason from the catalogue."""
    return decisions.refuse(db.session(), _flow(), _actor(), request_id, **_seen(data))


@bp.route("/requests/<int:request_id>/consent", methods=["POST"])
@bp.arguments(ConsentIn)
@bp.response(200, RequestOut)
def grant_consent(data, request_id: int):
    """Grant the written consent of the body handling the case."""
    return decisions.grant_consent(db.session(), _flow(), _actor(), request_id, **_seen(data))


@bp.route("/requests/<int:request_id>/refuse-consent", methods=["POST"])
@bp.arguments(RefuseIn)
@bp.response(200, RequestOut)
def refuse_consent(data, request_id: int):
    """Refuse consent; the request is refused."""
    return decisions.refuse_consent(db.session(), _flow(), _actor(), request_id, **_seen(data))


@bp.route("/requests/<int:request_id>/withdraw", methods=["POST"])
@bp.arguments(ReasonIn)
@bp.response(200, RequestOut)
def withdraw(data, request_id: int):
    """Withdraw one's own request."""
    return decisions.withdraw(db.session(), _actor(), request_id, reason=data.get("reason"),
                           expected_version=data["version"])


@bp.route("/requests/<int:request_id>/return", methods=["POST"])
@bp.arguments(ReasonIn)
@bp.response(200, RequestOut)
def return_for_supplement(data, request_id: int):
    """Return the request to the requester for supplement (its clock pauses)."""
    return decisions.return_for_supplement(db.session(), _flow(), _actor(), request_id,
                                        reason=data.get("reason", ""),
                                        expected_version=data["version"])


@bp.route("/requests/<int:request_id>/extend", methods=["POST"])
@bp.arguments(ExtendIn)
@bp.response(200, RequestOut)
def extend(data, request_id: int):
    """Extend the deadline with a reason (the same gate as the page: an approver deciding on
    the request, its clock running, extension left)."""
    return deadlines.extend_deadline(db.session(), _flow(), _actor(), request_id,
                                     reason=data["reason"],
                                     working_days=data.get("working_days"),
                                     expected_version=data["version"])


# --- documents: what the pages offer a requester, with the same gates and audit -------------

PDF = {"200": {"description": "The PDF, as issued and signed.",
               "content": {"application/pdf": {"schema": {"type": "string",
                                                          "format": "binary"}}}}}


@bp.route("/requests/<int:request_id>/documents", methods=["GET"])
@bp.response(200, DocumentOut(many=True))
@bp.paginate(Page, page_size=100)
def documents(request_id: int):
    """The documents of a request the caller may see, and what it may do with each."""
    return extracts.visible_documents(db.session(), _actor(), request_id)


@bp.route("/documents/<int:document_id>/download", methods=["GET"])
@bp.doc(responses=PDF)
def download(document_id: int):
    """A released extract, for its recipients only, within its window and download limit (each
    download counted and audited)."""
    return pdf_response(extracts.download(db.session(), _actor(), document_id),
                        attachment=True)


@bp.route("/documents/<int:document_id>/letter", methods=["GET"])
@bp.doc(responses=PDF)
def letter(document_id: int):
    """A notice or letter of a request the caller may see."""
    return pdf_response(letters.letter(db.session(), _actor(), document_id),
                        attachment=True)


@bp.route("/verify/<code>", methods=["GET"])
@bp.response(200, VerificationOut)
@limiter.limit(lambda: current_app.config["RATELIMIT_VERIFY"])  # as the public page
def verify(code: str):
    """What a verification code says, as the public page does: 404 for a code of no issued
    document (or text that cannot be one)."""
    status = verification.public_status(db.session(), _actor(), code[:200])
    if not status.genuine:
        raise NotFound(N_("No such document."))
    return status

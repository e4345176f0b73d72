"""Marshmallow schemas of the JSON API (they also make the OpenAPI document)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from workflow.exchange.wire import ASK_LIMIT
from workflow.requests.decisions import REFUSAL_REASONS
from workflow.requests.enums import (
    Channel,
    ProvisionForm,
    RequestCategory,
    RequestState,
    SubjectKind,
    Urgency,
)
from workflow.requests.policy import VIEWS

CATEGORY = fields.String(validate=validate.OneOf([c.value for c in RequestCategory]))


class RequestIn(Schema):
    """A request to file."""

    channel = fields.String(load_default=Channel.NETWORK.value,
                            validate=validate.OneOf([c.value for c in Channel]))
    subject_kind = fields.String(load_default=SubjectKind.PERSON.value,
                                 validate=validate.OneOf([s.value for s in SubjectKind]))
    identity_number = fields.String(validate=validate.Length(max=32))
    subject_name = fields.String(validate=validate.Length(max=160))
    subject_birth_date = fields.Date()
    statistical_question = fields.String(validate=validate.Length(max=2000))
    statistics_organisation = fields.String(validate=validate.Length(max=32), metadata={
        "description": "A statistical question: the code of the body whose scope the figures "
                       "are about (omitted: the whole database). About one's own body or one "
                       "under it, no approval is needed (Decree 121/2017 Art. 12 §3a)."})
    categories = fields.List(CATEGORY, load_default=list)
    period_from = fields.Date()
    period_to = fields.Date()
    purpose = fields.String(required=True, validate=validate.Length(max=2000))
    legal_basis = fields.String(required=True, validate=validate.Length(max=255))
    provision = fields.String(load_default=ProvisionForm.PDF.value,
                              validate=validate.OneOf([p.value for p in ProvisionForm]))
    urgency = fields.String(load_default=Urgency.NORMAL.value,
                            validate=validate.OneOf([u.value for u in Urgency]))
    requester_reference = fields.String(validate=validate.Length(max=64), metadata={
        "description": "Your own tracking number for the request (a crosswalk to your system): "
                       "unique among your body's unfinished requests, reusable once the one "
                       "carrying it is refused, withdrawn, released, closed or expired."})
    submit = fields.Boolean(load_default=False, metadata={"description": "Submit at once."})


class StepOut(Schema):
    """A decision on the route."""

    kind = fields.Function(lambda s: s.kind.value)
    organisation = fields.Function(lambda s: s.org.name)
    case_number = fields.Function(lambda s: s.case.number if s.case and not
                                  s.request.cases_hidden else None)
    due_on = fields.Date()
    outcome = fields.Function(lambda s: s.outcome.value)
    decided_at = fields.DateTime()
    reason_code = fields.String()
    reason_text = fields.String()
    granted = fields.List(fields.String())
    letter_ref = fields.String()
    rule_version = fields.String()


class RequestOut(Schema):
    """A request as the API shows it."""

    id = fields.Integer()
    number = fields.String()
    state = fields.Function(lambda r: r.state.value,
                            metadata={"enum": [s.value for s in RequestState]})
    requester = fields.Function(lambda r: r.requester.username)
    requester_organisation = fields.Function(lambda r: r.requester_org.name)
    requester_reference = fields.String(allow_none=True, metadata={
        "description": "The requester's own tracking number, if it gave one."})
    subject_person_id = fields.Integer()
    categories = fields.List(fields.String())
    period_from = fields.Date()
    period_to = fields.Date()
    purpose = fields.String()
    legal_basis = fields.String()
    provision = fields.Function(lambda r: r.provision.value)
    urgency = fields.Function(lambda r: r.urgency.value)
    rule_version = fields.String()
    due_on = fields.Date()
    route = fields.Dict(attribute="shown_route")
    deadline = fields.Dict(metadata={"description": "How the due date is reckoned: `start`, "
                                     "`working_days`, the days `skipped` (kind: weekend, "
                                     "holiday, day_off, paused), `pauses` of the clock, "
                                     "`extensions` (each with its reason), `extension_cap`."})
    clock_stopped = fields.Function(lambda r: r.paused_at is not None, metadata={
        "description": "The clock is stopped (returned for supplement, or waiting for a "
                       "consent the law sets no time for): the request is not overdue."})
    steps = fields.List(fields.Nested(StepOut))
    version = fields.Integer(metadata={"description": "Send it back with a decision: a decision "
                                       "on a request that changed since answers 409."})


class RouteOut(Schema):
    """A route preview."""

    rule_version = fields.String()
    direct = fields.Boolean()
    secrecy = fields.String()
    steps = fields.List(fields.Dict())
    reasons = fields.List(fields.Dict())
    due = fields.Date(allow_none=True)


class TransitionOut(Schema):
    """One line of the timeline."""

    trigger = fields.String()
    from_state = fields.Function(lambda t: t.from_state.value)
    to_state = fields.Function(lambda t: t.to_state.value)
    actor = fields.Function(lambda t: t.actor.username if t.actor else None)
    at = fields.DateTime()
    reason = fields.String()
    rule_version = fields.String()


class ListArgs(Schema):
    """Which list."""

    view = fields.String(validate=validate.OneOf(list(VIEWS)),
                         metadata={"description": "Default: the first list the account has."})
    state = fields.String(validate=validate.OneOf([s.value for s in RequestState]))
    requester_reference = fields.String(validate=validate.Length(min=1, max=64), metadata={
        "description": "Only the requests carrying this reference of the requester's own."})


class DecisionIn(Schema):
    """A decision names the version of the request it was made on."""

    version = fields.Integer(required=True, strict=True, validate=validate.Range(min=0),
                             metadata={"description": "The request's `version` as last read."})


class ApproveIn(DecisionIn):
    """Approve, possibly narrower than asked."""

    categories = fields.List(CATEGORY)
    period_from = fields.Date()
    period_to = fields.Date()
    note = fields.String(validate=validate.Length(max=2000))


class RefuseIn(DecisionIn):
    """Refuse with a catalogued reason."""

    reason_code = fields.String(required=True, validate=validate.OneOf(list(REFUSAL_REASONS)))
    text = fields.String(validate=validate.Length(max=2000))


class ConsentIn(DecisionIn):
    """Grant the written consent."""

    # Only for a consent signed on paper: given here, the system issues the letter.
    letter_ref = fields.String(validate=validate.Length(max=255))
    categories = fields.List(CATEGORY)
    expires_on = fields.Date()
    note = fields.String(validate=validate.Length(max=2000))


class ReasonIn(DecisionIn):
    """A reason."""

    reason = fields.String(validate=validate.Length(max=2000))


class ExtendIn(DecisionIn):
    """Extend the deadline, with the reason."""

    reason = fields.String(required=True, validate=validate.Length(max=2000))
    working_days = fields.Integer(strict=True, validate=validate.Range(min=1), metadata={
        "description": "Working days to add; default: all the extension the rules still "
                       "allow. Extensions stack until that allowance is used."})


class ErrorOut(Schema):
    """An error."""

    status = fields.Integer()
    error = fields.String()


class ExportIn(Schema):
    """Which managing body's scope to send."""

    source = fields.String(required=True, validate=validate.Length(min=1, max=40))
    again = fields.Integer(strict=True, validate=validate.Range(min=1),
                           metadata={"description": "Make this package again (same content and "
                                                    "number, signed with today's key)."})


class PackageSchema(Schema):
    """A signed exchange package (format custody-exchange/1)."""

    format = fields.String(required=True, validate=validate.Length(max=40))
    source = fields.String(required=True, validate=validate.Length(min=1, max=40))
    sequence = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    created_at = fields.String(required=True, validate=validate.Length(max=40))
    marks = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    records = fields.List(fields.Dict(), required=True)
    stages = fields.List(fields.Dict(), required=True)
    signature = fields.Dict(keys=fields.String(), values=fields.String(), required=True)


class ImportReportOut(Schema):
    """What importing a package did."""

    source = fields.String()
    sequence = fields.Integer()
    created = fields.Integer()
    updated = fields.Integer()
    unchanged = fields.Integer()
    linked = fields.Integer(metadata={"description": "Records linked to ones already here (a "
                                                    "person known by an identity document)."})
    near_matches = fields.Integer(metadata={"description": "Persons received who may be ones "
                                                          "already here, left to confirm."})
    conflicts = fields.List(fields.Dict())
    already_imported = fields.Boolean()
    receipt = fields.Dict(metadata={"description": "The signed receipt (custody-receipt/1) to "
                                                   "give back to the sender."})


class ReceiptSchema(Schema):
    """A receiver's signed receipt for a package (format custody-receipt/1)."""

    format = fields.String(required=True, validate=validate.Length(max=40))
    receiver = fields.String(required=True, validate=validate.Length(min=1, max=40))
    source = fields.String(required=True, validate=validate.Length(min=1, max=40))
    sequence = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    sha256 = fields.String(required=True, validate=validate.Length(equal=64))
    outcome = fields.String(required=True, validate=validate.Length(max=16))
    created = fields.Integer()
    updated = fields.Integer()
    conflicts = fields.List(fields.Dict(), required=True)
    reason = fields.String(allow_none=True)
    signed_at = fields.String(required=True, validate=validate.Length(max=40))
    signature = fields.Dict(keys=fields.String(), values=fields.String(), required=True)


class AskSchema(Schema):
    """A receiver's signed request for records again (format custody-ask/1)."""

    format = fields.String(required=True, validate=validate.Length(max=40))
    receiver = fields.String(required=True, validate=validate.Length(min=1, max=40))
    source = fields.String(required=True, validate=validate.Length(min=1, max=40))
    records = fields.List(fields.Dict(), required=True,
                          validate=validate.Length(min=1, max=ASK_LIMIT))
    signed_at = fields.String(required=True, validate=validate.Length(max=40))
    signature = fields.Dict(keys=fields.String(), values=fields.String(), required=True)


class AskedOut(Schema):
    """How many records a request newly asked for (the next package carries them)."""

    records = fields.Integer()


class SourceArgs(Schema):
    """Which managing body's packages."""

    source = fields.String(required=True, validate=validate.Length(min=1, max=40))


class ReceiptOut(Schema):
    """What a receiver said of a package."""

    receiver = fields.String()
    outcome = fields.String()
    same_content = fields.Boolean()
    conflicts = fields.Integer()
    signed_at = fields.String()


class SentPackageOut(Schema):
    """A package sent and the receipts recorded for it."""

    sequence = fields.Integer()
    sha256 = fields.String()
    at = fields.String()
    records = fields.Integer()
    acknowledged = fields.Boolean()
    receipts = fields.List(fields.Nested(ReceiptOut))


class FeedOut(Schema):
    """A signed feed under an agreement (format custody-feed/1)."""

    format = fields.String()
    agreement = fields.Integer()
    partner = fields.String()
    approval_ref = fields.String()
    fields_ = fields.List(fields.String(), data_key="fields")
    run = fields.Integer()
    created_at = fields.String()
    persons = fields.List(fields.Dict())
    signature = fields.Dict()


class DocumentOut(Schema):
    """A document of a request as its page lists it: what it is, where it stands, and what the
    caller may do with it (`letter`: open it; `download`: a released extract's recipient). Its
    code and hash come with the file (the PDF and its X-Document-SHA256 header)."""

    id = fields.Integer()
    kind = fields.Function(lambda d: d.kind.value)
    number = fields.String()
    issued_at = fields.DateTime(attribute="created_at")
    state = fields.Function(lambda d: d.state.value)
    valid_until = fields.Date()
    downloads = fields.Integer()
    download_limit = fields.Integer()
    access = fields.String()


class DraftOut(DocumentOut):
    """An extract prepared for its releaser: an unnumbered, unsigned draft (its number, code and
    signature come at release), with the hash the release must name."""

    sha256 = fields.String()
    pages = fields.Integer()


class ReleaseIn(DecisionIn):
    """Release the previewed draft, bound to its hash."""

    sha256 = fields.String(required=True, validate=validate.Regexp(r"^[0-9A-Fa-f]{64}$"),
                           metadata={"description": "The SHA-256 of the draft as previewed."})
    valid_days = fields.Integer(strict=True, metadata={
        "description": "Days it can be downloaded (default and maximum: the installation's)."})
    download_limit = fields.Integer(strict=True, metadata={
        "description": "Downloads allowed (a secret extract: the copies printed on it)."})
    named = fields.List(fields.String(validate=validate.Length(max=64)),
                        validate=validate.Length(max=20),
                        metadata={"description": "Usernames who may download it too."})


class RevokeIn(DecisionIn):
    """Revoke an extract, saying why."""

    reason = fields.String(required=True, validate=validate.Length(max=2000))


class VerificationOut(Schema):
    """What the public verification page says of a code (no content of the record)."""

    genuine = fields.Boolean()
    kind = fields.Function(lambda v: v.kind.value if v.kind else None)
    number = fields.String()
    issuer = fields.String()
    issued_at = fields.DateTime()
    recipient_name = fields.String()
    recipient_org = fields.String()
    state = fields.Function(lambda v: v.state.value if v.state else None)
    valid_until = fields.Date()
    revoked_at = fields.DateTime()
    sha256 = fields.String()


class FactOut(Schema):
    """A label and its value, as the extract prints them."""

    label = fields.String()
    value = fields.String()


class SectionOut(Schema):
    """A granted part of the record, titled and laid out as on the extract."""

    category = fields.String(metadata={"description": "The request category it shows."})
    title = fields.String()
    facts = fields.List(fields.Nested(FactOut))
    columns = fields.List(fields.String())
    rows = fields.List(fields.List(fields.String()))
    empty = fields.String(allow_none=True, metadata={
        "description": "What the extract says when the part holds nothing."})


class ExtractDocumentOut(Schema):
    """The released document the data belongs to (its PDF has this hash)."""

    id = fields.Integer()
    number = fields.String()
    sha256 = fields.String()
    released_at = fields.DateTime()
    valid_until = fields.Date()
    downloads = fields.Integer(metadata={"description": "Counting this read."})
    download_limit = fields.Integer()


class ExtractRequestOut(Schema):
    """The request it answers."""

    id = fields.Integer()
    number = fields.String()
    requester_reference = fields.String(allow_none=True)


class ExtractSubjectOut(Schema):
    """Whom it is about, as the extract names them."""

    full_name = fields.String()
    birth_date = fields.Date()


class PeriodOut(Schema):
    """The period granted (open at an end: null)."""

    from_ = fields.Date(data_key="from", attribute="from", allow_none=True)
    to = fields.Date(allow_none=True)


class ExtractDataOut(Schema):
    """What a released extract holds, as data: the same grant, sections and withheld lines as
    its PDF (in the extract's language), the record read as it stands within that grant."""

    document = fields.Nested(ExtractDocumentOut)
    request = fields.Nested(ExtractRequestOut)
    subject = fields.Nested(ExtractSubjectOut)
    period = fields.Nested(PeriodOut)
    granted = fields.List(fields.String())
    purpose = fields.String()
    basis = fields.List(fields.String())
    sections = fields.List(fields.Nested(SectionOut))
    withheld = fields.List(fields.String())
    read_at = fields.DateTime()


class WebhookIn(Schema):
    """An address of your system to tell of your requests' state changes."""

    url = fields.String(required=True, validate=validate.Length(min=1, max=500),
                        metadata={"description": "HTTPS, on a public address."})
    secret = fields.String(validate=validate.Length(min=32, max=128), metadata={
        "description": "The HMAC key deliveries are signed with; generated when not given."})


class WebhookOut(Schema):
    """A webhook of your body (its secret is shown once, when it is registered)."""

    id = fields.Integer()
    url = fields.String()
    created_at = fields.DateTime()
    disabled_at = fields.DateTime(allow_none=True)
    active = fields.Function(lambda h: h.disabled_at is None, metadata={"type": "boolean"})


class WebhookCreatedOut(WebhookOut):
    """A webhook just registered, with its secret (never shown again)."""

    secret = fields.String()


class AttemptOut(Schema):
    """One try at delivering a change."""

    attempted_at = fields.DateTime()
    status = fields.Integer(allow_none=True, metadata={
        "description": "The receiver's HTTP status; null when it was not reached."})
    error = fields.String(allow_none=True)


class DeliveryOut(Schema):
    """A state change owed to a webhook, and every attempt to deliver it."""

    id = fields.Integer(metadata={"description": "Sent as X-Custody-Delivery and `id`."})
    request_id = fields.Integer()
    from_state = fields.Function(lambda d: d.from_state.value)
    to_state = fields.Function(lambda d: d.to_state.value)
    occurred_at = fields.DateTime()
    delivered_at = fields.DateTime(allow_none=True)
    next_attempt_at = fields.DateTime()
    attempts = fields.List(fields.Nested(AttemptOut), attribute="tries")

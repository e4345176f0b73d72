"""All mapped classes, imported here so the metadata is complete."""

from workflow.models.audit import AuditCheckpoint, AuditEntry, AuditHead
from workflow.models.calendar import CalendarDay
from workflow.models.error_reports import DataErrorReport
from workflow.models.exchange import (
    ChangeLogEntry,
    ExchangeAgreement,
    ExchangeAsk,
    ExchangeConflict,
    ExchangeLink,
    ExchangePackage,
    ExchangePartner,
    ExchangeReceipt,
    ExchangeRetiredKey,
    FeedRun,
    PersonMatch,
)
from workflow.models.extracts import (
    DocumentRegister,
    DocumentTemplate,
    IssuedDocument,
    SecretRegisterEntry,
    SigningCredential,
)
from workflow.models.imports import RecordImport
from workflow.models.jobs import Job
from workflow.models.kiosk import KioskDevice, KioskPin
from workflow.models.mail import MailAttempt, MailOutbox, MailPreference
from workflow.models.organisations import Organisation, OrganisationLink, OrganisationName
from workflow.models.records import (
    Case,
    CaseStageEntry,
    CustodyEpisode,
    CustodyEvent,
    Person,
    PersonIdentifier,
    ReadDisclosure,
    RecordDocument,
    RecordVersion,
)
from workflow.models.reports import FacilityReport
from workflow.models.requesters import Mandate, RequesterVetting
from workflow.models.requests import (
    AccessRequest,
    Notification,
    RequestAssignment,
    RequestStep,
    RequestTransition,
)
from workflow.models.restriction import RestrictionEpisode, RestrictionEvent, RestrictionFlag
from workflow.models.schedule import ScheduledRun
from workflow.models.sessions import UserSession
from workflow.models.statistics import StatisticsSnapshot
from workflow.models.tokens import ApiToken
from workflow.models.users import RecoveryCode, User, UserRole
from workflow.models.webhooks import Webhook, WebhookAttempt, WebhookOutbox

__all__ = [
    "AuditCheckpoint",
    "CalendarDay",
    "ChangeLogEntry",
    "DataErrorReport",
    "ExchangeAgreement",
    "ExchangeAsk",
    "ExchangeConflict",
    "ExchangeLink",
    "ExchangePackage",
    "ExchangePartner",
    "ExchangeReceipt",
    "ExchangeRetiredKey",
    "FeedRun",
    "DocumentRegister",
    "DocumentTemplate",
    "IssuedDocument",
    "SecretRegisterEntry",
    "KioskDevice",
    "KioskPin",
    "MailAttempt",
    "MailOutbox",
    "MailPreference",
    "SigningCredential",
    "ApiToken",
    "AccessRequest",
    "Notification",
    "RequestAssignment",
    "RequestStep",
    "RequestTransition",
    "AuditEntry",
    "AuditHead",
    "Case",
    "CaseStageEntry",
    "CustodyEpisode",
    "CustodyEvent",
    "Organisation",
    "OrganisationLink",
    "OrganisationName",
    "Person",
    "PersonIdentifier",
    "PersonMatch",
    "ReadDisclosure",
    "RecordDocument",
    "RecordVersion",
    "RecoveryCode",
    "User",
    "UserRole",
    "UserSession",
    "StatisticsSnapshot",
    "FacilityReport",
    "RestrictionEpisode",
    "RestrictionEvent",
    "RestrictionFlag",
    "Mandate",
    "RequesterVetting",
    "ScheduledRun",
    "Job",
    "RecordImport",
    "Webhook",
    "WebhookAttempt",
    "WebhookOutbox",
]

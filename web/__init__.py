"""Flask application factory: configuration, extensions, blueprints and error pages."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING

from flask import Flask, current_app, has_app_context, has_request_context, request
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

if TYPE_CHECKING:
    from workflow.documents.tokens import TokenSettings
    from workflow.requests.rules import RuleSet

# The application's modules are imported by `create_app`, not here: `custody --help` and the
# commands that build no application import this package without paying for them.

ROOT = Path(__file__).resolve().parent.parent
# The page templates: beside the packages in a work tree, inside `web` once installed from a
# wheel (setup.py puts them there).
TEMPLATES = (Path(__file__).resolve().parent / "templates"
             if (Path(__file__).resolve().parent / "templates").is_dir() else ROOT / "templates")


def _secret_key(instance: Path) -> str:
    # A key generated once per installation and kept beside the database, unless configured.
    path = instance / "secret_key"
    if not path.exists():
        instance.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def _rule_set(version: str | None) -> RuleSet | None:
    """The rule set of a version, for the pages that cite it (None when there is none)."""
    from workflow.requests.rules import NoRuleSet

    try:
        return current_app.extensions["custody_workflow"].rules.version(version or "")
    except NoRuleSet:
        return None


def _current_user():
    from flask_login import current_user

    return current_user._get_current_object()


def _unread() -> int:
    from flask_login import current_user

    from web import db
    from workflow.requests.inbox import unread_count

    if not current_user.is_authenticated:
        return 0
    return unread_count(db.session(), current_user)


def _serving_url() -> str | None:
    """Where the application is being reached, for documents when CUSTODY_PUBLIC_BASE_URL is
    not set: in a request, the address the request came to (its root URL); outside one, the
    address `custody serve` binds (or `custody demo` was told it will)."""
    if has_request_context():
        return request.url_root
    return current_app.config.get("SERVING_BASE_URL") if has_app_context() else None


class IdConverter(IntegerConverter):
    """`<int:…>` limited to positive 32-bit values."""

    def __init__(self, url_map, *args, **kwargs) -> None:
        kwargs.setdefault("min", 1)
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(url_map, *args, **kwargs)


def _signing_tokens(config, instance: Path) -> TokenSettings:
    """Where officials' own keys are reached: the configured PKCS#11 module, else SoftHSM2's
    (pointed at this installation's token directory) where it is installed."""
    from workflow.documents import tokens as signing_tokens

    module = config["SIGNING_PKCS11_MODULE"] or signing_tokens.default_module()
    if module == signing_tokens.SOFTHSM_MODULE:
        signing_tokens.use_token_directory(instance / "softhsm")
    return signing_tokens.TokenSettings(module=module,
                                        required=bool(config["SIGNING_PERSONAL_REQUIRED"]))


def create_app(test_config: dict | None = None) -> Flask:
    """Build the application; `test_config` overrides everything else."""
    from flask_smorest import Api

    from web import db, errors, headers, i18n, jobs, ops, sessions
    from web.extensions import csrf, limiter, login_manager
    from web.kiosk import device as kiosk_device
    from web.security import refuse_nul_characters
    from workflow.audit import tracker as read_gates
    from workflow.documents import letters
    from workflow.documents.issuing import ExtractSettings
    from workflow.figures import disclosure
    from workflow.records.versions import FIELD_LABELS, OUTCOME_LABELS, RECORD_LABELS
    from workflow.requests import policy as request_policy
    from workflow.requests import requesters as requester_gates
    from workflow.requests.kernel import Workflow
    from workflow.requests.rules import Rulebook
    from workflow.security import kiosk as kiosk_gates
    from workflow.security import mfa, tokens
    from workflow.security.permissions import Permission, can

    app = Flask(__name__, template_folder=str(TEMPLATES),
                instance_path=str(ROOT / "instance"))
    # Identifiers in URLs fit the database's integer columns; a larger number is simply 404.
    app.url_map.converters["int"] = IdConverter
    instance = Path(app.instance_path)
    app.config.from_mapping(
        DATABASE_URL=os.environ.get("DATABASE_URL", f"sqlite:///{instance / 'custody.db'}"),
        SESSION_COOKIE_HTTPONLY=True,
        # Behind HTTPS set CUSTODY_SESSION_COOKIE_SECURE=true (the demo serves plain HTTP).
        MAX_CONTENT_LENGTH=12 * 1024 * 1024,  # scans are capped at 10 MB; nothing bigger comes in
        SESSION_COOKIE_SAMESITE="Lax",
        BABEL_DEFAULT_LOCALE="vi",
        BABEL_DEFAULT_TIMEZONE="Asia/Ho_Chi_Minh",
        LANGUAGES=("vi", "en"),
        WTF_CSRF_TIME_LIMIT=None,
        AUDIT_PAGE_SIZE=50,
        API_TITLE="Custody records database — access requests",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
        # Extracts: where the QR code points, how long files are kept, release defaults.
        # Unset, documents point to where the application is reached (`_serving_url`).
        PUBLIC_BASE_URL=None,
        SERVING_BASE_URL=None,  # set by `custody serve` and `custody demo` from --host, --port
        SIGNING_KEY_PASSPHRASE=None,  # defaults to the secret key
        SIGNING_DEV_CA=True,  # issue development certificates when none were imported
        SIGNING_TSA_URL=None,  # an RFC 3161 time-stamping authority (else the development one)
        # Officials' own keys: the PKCS#11 module that reaches their tokens (default SoftHSM2
        # where installed, its tokens under instance/softhsm unless SOFTHSM2_CONF says where),
        # and whether a decision whose signer has no token is refused (else sealed alone).
        SIGNING_PKCS11_MODULE=None,
        SIGNING_PERSONAL_REQUIRED=False,
        EXTRACT_RETENTION_DAYS=365,
        EXTRACT_VALID_DAYS=30,
        EXTRACT_DOWNLOAD_LIMIT=3,
        SECRET_DOWNLOAD_LIMIT=2,  # the numbered copies of an extract holding state secrets
        # Rate limits per client address (Flask-Limiter); Redis when configured, e.g.
        # CUSTODY_RATELIMIT_STORAGE_URI=redis://127.0.0.1:6379/0, so all workers share them.
        RATELIMIT_STORAGE_URI="memory://",
        RATELIMIT_HEADERS_ENABLED=True,
        RATELIMIT_SIGN_IN="30 per minute;300 per hour",
        RATELIMIT_KIOSK_FAILURES="10 per hour;20 per day",
        RATELIMIT_VERIFY="30 per minute;500 per hour",
        RATELIMIT_CODE="10 per minute;100 per hour",
        # Filing (and its uploads, and previews) per account: a person files a few a day.
        RATELIMIT_FILING="30 per hour;200 per day",
        RATELIMIT_PIN="5 per 15 minutes;20 per day",  # wrong PINs of a signing token
        MFA_KEY=None,
        # Signed audit checkpoints: the Ed25519 key's file (default instance/), and how often.
        AUDIT_SIGNING_KEY=None,
        AUDIT_CHECKPOINT_ENTRIES=1000,
        AUDIT_CHECKPOINT_MINUTES=10,
        # Statistics leaving the circle of those who read the records are perturbed by the
        # cell-key method: counts from 1 to this minus one never show as they are; the records'
        # keys come from STATISTICS_KEY (a secret outside the database; default: the secret key).
        STATISTICS_MIN_COUNT=5,
        STATISTICS_KEY=None,
        # Counted figures are kept this long (a nationwide count over a million records takes
        # seconds); `custody sweep` recounts the default views before they expire.
        STATISTICS_MAX_AGE_MINUTES=10,
        # Exchange packages and feeds are signed with this Ed25519 key (default instance/).
        EXCHANGE_SIGNING_KEY=None,
        # API tokens of system accounts live this many days unless `--days` says otherwise.
        API_TOKEN_DAYS=tokens.DEFAULT_DAYS,
        # Mail about requests (`custody mail send`, `custody mail digest`): the SMTP server, and
        # the sender's address; the links in mail point to PUBLIC_BASE_URL.
        MAIL_SMTP_HOST=None,
        MAIL_SMTP_PORT=25,
        MAIL_SMTP_USER=None,
        MAIL_SMTP_PASSWORD=None,
        MAIL_SMTP_STARTTLS=False,
        MAIL_SMTP_TIMEOUT=30,
        MAIL_SENDER=None,
        # A purpose stated for reading a person's record holds this long after its last read.
        READ_PURPOSE_MINUTES=60,
        # Whether a request's clock stops while it waits only for the case-handling body's
        # consent, for which the law sets no time (each request keeps the setting it was
        # routed under).
        CONSENT_STOPS_CLOCK=False,
        # Webhooks go over HTTPS; plain HTTP only to these hosts (a test receiver on the
        # loopback), e.g. CUSTODY_WEBHOOKS_HTTP_HOSTS='["127.0.0.1"]'.
        WEBHOOKS_HTTP_HOSTS=(),
        # Backups (`custody backup`, `restore-drill`): encrypted with BACKUP_KEY (base64, e.g.
        # CUSTODY_BACKUP_KEY from a secret store) or else the key file BACKUP_KEY_FILE names
        # (default instance/backup-key, made by the first backup); `--rotate` keeps the newest
        # of this many days, weeks and months; the drill reads BACKUP_DIR unless given a folder
        # and fails when the latest backup is older than BACKUP_DRILL_MAX_AGE_HOURS (if set).
        BACKUP_KEY=None,
        BACKUP_KEY_FILE=None,
        BACKUP_DIR=None,
        BACKUP_KEEP_DAILY=7,
        BACKUP_KEEP_WEEKLY=4,
        BACKUP_KEEP_MONTHLY=12,
        BACKUP_DRILL_MAX_AGE_HOURS=None,
        # Logs: `json` (one object a line) or `text`; unset, `custody serve` logs JSON and the
        # development server leaves logging as it is.
        LOG_FORMAT=None,
        # Who may read /metrics (addresses or networks); others get 404.
        METRICS_ALLOWED=("127.0.0.1", "::1"),
        READINESS_TIMEOUT_SECONDS=2.0,  # /readyz fails when the database takes longer
        # Long work (an extract of more than EXTRACT_QUEUE_OVER_PAGES pages) goes to this Redis
        # queue, e.g. CUSTODY_QUEUE_URL=redis://127.0.0.1:6379/1, for `custody worker`; unset,
        # it runs in the server as soon as it is asked for (the quick start on SQLite).
        QUEUE_URL=None,
        EXTRACT_QUEUE_OVER_PAGES=4,
        # How many reverse proxies stand in front (README, "Deployment"): the client's address
        # is then the one the last of them appended to X-Forwarded-For. 0: the peer's address,
        # and any X-Forwarded-For is a client's claim, not believed.
        PROXIES=0,
    )
    if os.environ.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = os.environ["SECRET_KEY"]
    app.config.from_prefixed_env("CUSTODY")
    if test_config:
        app.config.update(test_config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _secret_key(instance)

    if app.config["PROXIES"]:
        # Rate limits, the audit trail's addresses and the sessions then see each client, not
        # the proxy (which would otherwise put every client under one sign-in limit).
        hops = int(app.config["PROXIES"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)
    ops.init_app(app)  # first: its request id and timing wrap every other hook
    db.init_app(app)
    headers.init_app(app)
    app.before_request(refuse_nul_characters)
    sessions.init_app(app)
    kiosk_device.init_app(app)  # after the session check, which marks a kiosk session
    app.extensions["custody_mfa"] = mfa.cipher(app.config["MFA_KEY"] or app.config["SECRET_KEY"])
    app.extensions["custody_statistics"] = disclosure.cell_key_control(
        app.config["STATISTICS_KEY"] or app.config["SECRET_KEY"],
        app.config["STATISTICS_MIN_COUNT"])
    rulebook = Rulebook.from_overrides(app.config.get("RULE_OVERRIDES"))
    app.extensions["custody_documents"] = ExtractSettings(
        passphrase=app.config["SIGNING_KEY_PASSPHRASE"] or app.config["SECRET_KEY"],
        base_url=app.config["PUBLIC_BASE_URL"] or None, serving_url=_serving_url,
        issue_dev_certificates=bool(app.config["SIGNING_DEV_CA"]),
        tsa_url=app.config["SIGNING_TSA_URL"] or None,
        retention_days=app.config["EXTRACT_RETENTION_DAYS"],
        valid_days=app.config["EXTRACT_VALID_DAYS"],
        download_limit=app.config["EXTRACT_DOWNLOAD_LIMIT"],
        secret_download_limit=app.config["SECRET_DOWNLOAD_LIMIT"], rules=rulebook,
        queue_over_pages=app.config["EXTRACT_QUEUE_OVER_PAGES"],
        signing_tokens=_signing_tokens(app.config, instance))
    app.extensions["custody_workflow"] = Workflow(
        rulebook, notices=letters.notices(app.extensions["custody_documents"]),
        consent_stops_clock=bool(app.config["CONSENT_STOPS_CLOCK"]))
    jobs.init_app(app)
    i18n.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    app.context_processor(lambda: {"can": can, "perms": Permission, "gates": request_policy,
                                   "kiosk_gates": kiosk_gates, "read_gates": read_gates,
                                   "requester_gates": requester_gates,
                                   # The user itself rather than Flask-Login's proxy, which
                                   # finds them again at each of a page's many uses.
                                   "current_user": _current_user(),
                                   "unread": _unread(),
                                   "record_labels": RECORD_LABELS, "rule_set": _rule_set,
                                   "field_labels": FIELD_LABELS,
                                   "outcome_labels": OUTCOME_LABELS})

    import web.requests.queue  # noqa: F401 - the work queue's routes join the requests' pages
    from web.account.views import bp as account_bp
    from web.admin.views import bp as admin_bp
    from web.audit_trail.views import bp as audit_bp
    from web.auth.views import bp as auth_bp
    from web.conflicts.views import bp as conflicts_bp
    from web.documents.views import bp as documents_bp
    from web.error_reports.views import bp as error_reports_bp
    from web.kiosk.views import bp as kiosk_bp
    from web.main.views import bp as main_bp
    from web.records.reads import bp as reads_bp
    from web.records.views import bp as records_bp
    from web.reports.views import bp as reports_bp
    from web.requesters.views import bp as requesters_bp
    from web.requests.views import bp as requests_bp
    from web.statistics.views import bp as statistics_bp

    for blueprint in (auth_bp, main_bp, records_bp, requests_bp, audit_bp, admin_bp,
                      documents_bp, statistics_bp, reports_bp, kiosk_bp, error_reports_bp,
                      reads_bp, account_bp, requesters_bp, conflicts_bp):
        app.register_blueprint(blueprint)

    import web.api.exchange  # noqa: F401 - its routes join the API blueprint
    import web.api.extracts  # noqa: F401 - so do these
    import web.api.integration  # noqa: F401 - and these
    from web.api.views import bp as api_bp

    api = Api(app, spec_kwargs={"components": {"securitySchemes": {
        "bearer": {"type": "http", "scheme": "bearer"}}}, "security": [{"bearer": []}]})
    csrf.exempt(api_bp)  # bearer tokens only: no cookie is accepted, so no CSRF
    api.register_blueprint(api_bp)
    # After the Api, whose app-wide handlers would otherwise answer the pages' errors in JSON.
    errors.init_app(app)

    from web.cli import register

    register(app)
    return app

"""Extensions created here and bound to the app in the factory."""

from flask import Flask, g
from flask_babel import Babel, lazy_gettext
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, current_user
from flask_wtf import CSRFProtect

csrf = CSRFProtect()
babel = Babel()
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = lazy_gettext("Please sign in to open this page.")
login_manager.login_message_category = "info"
login_manager.session_protection = "strong"

# Limits per client address; storage from RATELIMIT_STORAGE_URI (memory unless Redis is set).
limiter = Limiter(key_func=get_remote_address, default_limits=[])


def limits_shared(app: Flask) -> bool:
    """Whether the rate limits are counted in a store every worker shares (not in memory):
    `custody serve` runs several workers only then, and /readyz checks that it answers."""
    return not str(app.config["RATELIMIT_STORAGE_URI"]).startswith("memory://")


def user_or_address() -> str:
    """The rate-limit key of what a person does once signed in: their account (pages or API),
    so that limits follow the user across addresses; the address before sign-in."""
    api = g.get("api_actor")
    if api is not None and api.user is not None:
        return f"user:{api.user.id}"
    if current_user.is_authenticated:
        return f"user:{current_user.id}"
    return get_remote_address()


def filing_limit():
    """One limit for every filing and route preview of an account, on the pages and the API
    together (RATELIMIT_FILING): a preview reads records, so it counts like a filing."""
    from flask import current_app

    return limiter.shared_limit(lambda: current_app.config["RATELIMIT_FILING"], scope="filing",
                                key_func=user_or_address, methods=["POST"])


def pin_limit():
    """Wrong PINs of an account's signing token (RATELIMIT_PIN): a token locks itself after a
    few, SoftHSM2 never does, so the pages stop guessing here. Only a refused PIN counts."""
    from flask import current_app, g, request

    return limiter.shared_limit(lambda: current_app.config["RATELIMIT_PIN"], scope="pin",
                                key_func=user_or_address, methods=["POST"],
                                exempt_when=lambda: not request.form.get("pin"),
                                deduct_when=lambda response: bool(g.get("pin_refused")))

"""Extensions created here and bound to the app in the factory."""

from flask_babel import Babel, lazy_gettext
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
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

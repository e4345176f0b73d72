"""Home page per role."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import login_required

from forms.records import SearchForm
from web import db
from web.security import actor
from workflow.organisations.scope import facilities_in_scope
from workflow.records.checks import user_scope

bp = Blueprint("main", __name__)


@bp.route("/")
@login_required
def home():
    """What the user can do, with their scope at a glance."""
    scope = user_scope(db.session(), actor())
    facilities = [] if scope.nationwide else facilities_in_scope(db.session(), scope)
    return render_template("main/home.html", scope=scope, facilities=facilities,
                           search_form=SearchForm())


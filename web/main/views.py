"""Home page per role, and a detainee's own record."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user, login_required

from forms.records import SearchForm
from web import db
from web.security import actor, requires
from workflow.organisations.scope import facilities_in_scope
from workflow.records.checks import user_scope
from workflow.records.persons import view_person
from workflow.security.permissions import Permission, can

bp = Blueprint("main", __name__)


@bp.route("/")
@login_required
def home():
    """What the user can do, with their scope at a glance."""
    if can(current_user, Permission.READ_OWN_RECORD) and len(current_user.roles) == 1:
        return redirect(url_for("main.my_record"))
    scope = user_scope(db.session(), actor())
    facilities = [] if scope.nationwide else facilities_in_scope(db.session(), scope)
    return render_template("main/home.html", scope=scope, facilities=facilities,
                           search_form=SearchForm())


@bp.route("/me")
@requires(Permission.READ_OWN_RECORD)
def my_record():
    """A detained person's own record, in plain words (kiosk)."""
    view = view_person(db.session(), actor(), current_user.person_id)
    return render_template("main/my_record.html", view=view)

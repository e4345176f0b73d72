"""The user's own account page and their mail preferences."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from forms.account import MailPreferencesForm
from web import db
from web.forms_support import status_for
from web.security import actor
from workflow.errors import Forbidden
from workflow.i18n import N_
from workflow.notifications import outbox

bp = Blueprint("account", __name__, url_prefix="/account")


@bp.route("")
@login_required
def show():
    """Who the account is, where its mail goes, and links to its settings."""
    return render_template("account/show.html", may_choose=outbox.can_choose_mail(current_user))


@bp.route("/notifications", methods=["GET", "POST"])
@login_required
def notifications():
    """How mail about requests reaches the user: at once, in a daily digest, or not at all."""
    if not outbox.can_choose_mail(current_user):
        raise Forbidden(N_("This account receives no mail."))
    form = MailPreferencesForm()
    if form.validate_on_submit():
        outbox.set_preferences(db.session(), actor(), form.choices)
        flash(_("Your mail preferences have been saved."), "success")
        return redirect(url_for(".notifications"))
    if not form.is_submitted():
        for topic, delivery in outbox.preferences(db.session(), current_user).items():
            form[topic.value].data = delivery.value
    return render_template("account/notifications.html", form=form), status_for(form)

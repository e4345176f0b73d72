"""Account administration: list, create, read, change roles and status, revoke tokens."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from forms.admin import RevokeTokenForm, UnlockForm, UserEditForm, UserForm
from web import db
from web.forms_support import attempt, status_for
from web.security import actor, requires
from workflow.audit import chain as audit
from workflow.models import Organisation, User
from workflow.security import accounts, mfa, sessions, tokens
from workflow.security.permissions import Permission

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.route("/users")
@requires(Permission.MANAGE_USERS)
def users():
    """All accounts with their organisation and roles."""
    rows = db.session().execute(select(User).order_by(User.username)).scalars().all()
    audit.record(db.session(), actor(), "admin.user_list", details={"count": len(rows)})
    return render_template("admin/users.html", users=rows)


@bp.route("/users/new", methods=["GET", "POST"])
@requires(Permission.MANAGE_USERS)
def new_user():
    """Create an account."""
    form = UserForm()
    # No organisation chosen in advance; grouped by province so one is found by eye.
    orgs = db.session().execute(select(Organisation).order_by(
        Organisation.province, Organisation.name)).scalars()
    form.organisation_id.choices = [SelectChoice("", _("— Choose the organisation —"))] + [
        SelectChoice(o.id, o.name, optgroup=o.province or _("Central bodies")) for o in orgs]
    if form.validate_on_submit():
        user = attempt(form, lambda: accounts.create_user(
            db.session(), actor(), username=form.username.data, full_name=form.full_name.data,
            organisation_id=form.organisation_id.data, roles=form.roles.roles,
            password=form.password.data, clearance=form.clearance.member,
            person_id=form.person_id.data, system=form.system.data, email=form.email.data))
        if user:
            flash(_("The account %(name)s has been created.", name=user.username), "success")
            return redirect(url_for(".users"))
    return render_template("admin/user_form.html", form=form, user=None,
                           title=_("New account")), status_for(form)


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@requires(Permission.MANAGE_USERS)
def edit_user(user_id: int):
    """Read an account (audited) and change its roles, clearance, or whether it may sign in
    (never one's own)."""
    form = UserEditForm()
    if form.validate_on_submit():
        user = attempt(form, lambda: accounts.update_user(
            db.session(), actor(), user_id, roles=form.roles.roles, active=form.active.data,
            clearance=form.clearance.member,
            signing=(form.position.data, form.signs_as.member), email=form.email.data or ""))
        if user:
            flash(_("The account %(name)s has been updated.", name=user.username), "success")
            return redirect(url_for(".users"))
    user = accounts.view_user(db.session(), actor(), user_id)
    if not form.is_submitted():
        form.process(obj=user)
        form.roles.data = sorted(r.value for r in user.roles)
        form.clearance.data = user.clearance.value
        form.signs_as.data = user.signs_as.value if user.signs_as else ""
    return render_template("admin/user_form.html", form=form, user=user, unlock=UnlockForm(),
                           revoke=RevokeTokenForm(), tokens=tokens.tokens_of(db.session(), user.id),
                           may_manage=accounts.can_manage_account(actor().user, user),
                           title=_("Account %(name)s", name=user.username)), status_for(form)


@bp.route("/users/<int:user_id>/unlock", methods=["POST"])
@requires(Permission.MANAGE_USERS)
def unlock_user(user_id: int):
    """Let an account locked after failed sign-ins sign in again (audited)."""
    form = UnlockForm()
    if not form.validate_on_submit():
        abort(400)
    user = accounts.unlock(db.session(), actor(), user_id)
    flash(_("The account %(name)s has been unlocked.", name=user.username), "success")
    return redirect(url_for(".edit_user", user_id=user_id))


@bp.route("/users/<int:user_id>/reset-mfa", methods=["POST"])
@requires(Permission.MANAGE_USERS)
def reset_mfa(user_id: int):
    """Remove a lost second factor: the user sets up a new one at the next sign-in (audited);
    the account's sessions end."""
    form = UnlockForm()
    if not form.validate_on_submit():
        abort(400)
    if request.form.get("confirmed") != "yes":
        # Checked first: the person is signed out everywhere and cannot sign in until they
        # set up a new authenticator.
        user = accounts.view_user(db.session(), actor(), user_id)
        if not accounts.can_manage_account(actor().user, user):
            abort(403)
        return render_template("admin/reset_mfa.html", user=user, form=form)
    user = mfa.reset(db.session(), actor(), user_id)
    sessions.end_all(db.session(), actor(), user.id, "mfa_reset")
    flash(_("The second factor of %(name)s has been reset.", name=user.username), "success")
    return redirect(url_for(".edit_user", user_id=user_id))


@bp.route("/users/<int:user_id>/tokens/<int:token_id>/revoke", methods=["POST"])
@requires(Permission.MANAGE_USERS)
def revoke_token(user_id: int, token_id: int):
    """Revoke one of a system account's API tokens at once (confirmed; audited)."""
    form = RevokeTokenForm()
    if not form.validate_on_submit():
        flash(_("Tick the box to confirm: the systems that use this token stop working at "
                "once."), "error")
        return redirect(url_for(".edit_user", user_id=user_id))
    row = tokens.revoke(db.session(), actor(), token_id, user_id)
    flash(_("The token %(name)s has been revoked.", name=row.name), "success")
    return redirect(url_for(".edit_user", user_id=user_id))

"""The user's own account settings: how mail about requests reaches them."""

from flask_babel import lazy_gettext as _l
from wtforms import RadioField
from wtforms.validators import InputRequired

from forms import Form, enum_choices
from workflow.notifications.enums import MailDelivery, MailTopic


def _topic(topic: MailTopic) -> RadioField:
    return RadioField(_l(topic.label), choices=enum_choices(MailDelivery),
                      validators=[InputRequired()])


class MailPreferencesForm(Form):
    """One choice of delivery per topic (a field named after each topic's value)."""

    tasks = _topic(MailTopic.TASKS)
    deadlines = _topic(MailTopic.DEADLINES)
    decisions = _topic(MailTopic.DECISIONS)
    extracts = _topic(MailTopic.EXTRACTS)

    @property
    def choices(self) -> dict[MailTopic, MailDelivery]:
        """The chosen delivery of each topic."""
        return {t: MailDelivery(self[t.value].data) for t in MailTopic}

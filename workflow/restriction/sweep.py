"""The sweep's part for residence restriction: it flags, once each, a report-in not made by its
due day, a monthly assessment not recorded on the month's last working day and a handover not
completed in time, for the commune that was to do it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from workflow.audit import chain as audit
from workflow.context import Actor
from workflow.models import RestrictionEpisode, RestrictionFlag
from workflow.requests.kernel import Workflow, calendar_of
from workflow.restriction import deadlines
from workflow.restriction.enums import FlagKind, RestrictionEventKind, RestrictionState


@dataclass
class RestrictionSweep:
    """What one sweep flagged: (episode id, due day) by kind."""

    report_in: list[tuple[int, dt.date]] = field(default_factory=list)
    assessment: list[tuple[int, dt.date]] = field(default_factory=list)
    handover: list[tuple[int, dt.date]] = field(default_factory=list)


def _missing(calendar, episode: RestrictionEpisode, today: dt.date) -> list[tuple[FlagKind,
                                                                                   dt.date]]:
    """What the episode lacks today, with each due day."""
    missing = []
    # The report-in is late once its due day has passed.
    if episode.reported_in_on is None and today > episode.report_in_due:
        missing.append((FlagKind.REPORT_IN, episode.report_in_due))
    # An assessment is flagged on its due day if not recorded by then: the commune can still
    # make it that day.
    assessed = {e.period for e in episode.events if e.kind is RestrictionEventKind.ASSESSMENT}
    for month, due in deadlines.assessment_months(calendar, episode.report_in_due, today):
        if month not in assessed:
            missing.append((FlagKind.ASSESSMENT, due))
    if episode.state is RestrictionState.HANDING_OVER and today > episode.handover_due:
        missing.append((FlagKind.HANDOVER, episode.handover_due))
    return missing


def sweep(session: Session, flow: Workflow, actor: Actor) -> RestrictionSweep:
    """Flag what is missing on the open episodes; each fact once, so running it every few
    minutes is safe; episodes another sweep (or a clerk) holds are skipped this time."""
    report = RestrictionSweep()
    today = actor.today
    calendar = calendar_of(session, flow)
    episodes = session.execute(
        select(RestrictionEpisode)
        .where(RestrictionEpisode.state != RestrictionState.ENDED)
        .order_by(RestrictionEpisode.id)
        .options(selectinload(RestrictionEpisode.events))
        .with_for_update(skip_locked=True, key_share=True, of=RestrictionEpisode)).scalars()
    for episode in episodes:
        flagged = set(session.execute(select(RestrictionFlag.kind, RestrictionFlag.due_on).where(
            RestrictionFlag.episode_id == episode.id)).all())
        for kind, due in _missing(calendar, episode, today):
            if (kind, due) in flagged:
                continue
            session.add(RestrictionFlag(episode_id=episode.id, kind=kind, due_on=due,
                                        commune_id=episode.commune_id, flagged_at=actor.now))
            getattr(report, kind.value).append((episode.id, due))
            audit.record(session, actor, "restriction.flag", object_type="restriction",
                         object_id=episode.id, person_id=episode.person_id,
                         details={"flag": kind.value, "due": due})
    session.flush()
    return report

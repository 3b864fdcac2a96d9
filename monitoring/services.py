"""Writes for sessions. Each state change is one compare-and-set, one event, one publish."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from monitoring import selectors, texts
from monitoring.models import (
    SESSION_TRANSITIONS,
    Direction,
    EventKind,
    Message,
    Monitoring,
    MonitoringStatus,
    Outcome,
    PersonalDataAccess,
    PlanDraft,
    Session,
    SessionEvent,
    SessionStatus,
)
from nors.lib import crypto, phones, realtime, roles
from nors.lib.jsonapi import Conflict
from nors.lib.states import status_move
from telephony import outbox
from telephony.models import Purpose

MAX_REPLY_LENGTH = 1600


class SessionConflict(Conflict):
    """The session moved on before this action landed (another operator got there first)."""


def _event(
    session: Session,
    kind: str,
    *,
    at: datetime,
    actor: Any = None,
    old: str = "",
    new: str = "",
    data: dict[str, Any] | None = None,
) -> SessionEvent:
    return SessionEvent.objects.create(
        session=session,
        kind=kind,
        old_status=old,
        new_status=new,
        actor=actor,
        at=at,
        data=data or {},
    )


def _publish_session(
    session: Session, monitoring: selectors.MonitoringNow | None = None, *, moved: bool = False
) -> None:
    """Every dashboard shows the queue, so a waiting session, and one that just changed status
    or hands, goes to all of them. Otherwise only its operator's dashboards list it (and any
    dashboard with it open): with thousands of sessions monitored, each check-in would
    otherwise reach every dashboard on the line."""
    summary = selectors.session_summary(session, monitoring)
    operator_id = session.operator_id
    everyone = moved or session.status == SessionStatus.WAITING or operator_id is None
    group = (
        realtime.user_group(operator_id)
        if not everyone and operator_id
        else realtime.DASHBOARD_GROUP
    )
    realtime.publish(group, {"type": "session", "session": summary})
    realtime.publish(realtime.session_group(session.pk), {"type": "session", "session": summary})


def _publish_message(message: Message) -> None:
    realtime.publish(
        realtime.session_group(message.session_id),
        {
            "type": "message",
            "session_id": message.session_id,
            "message": selectors.message_dict(message),
        },
    )


def _transition(
    session: Session,
    new: str,
    *,
    actor: Any,
    kind: str,
    at: datetime,
    data: dict[str, Any] | None = None,
    **changes: Any,
) -> Session:
    """Moves the session only if nobody moved it since we read it."""
    old = session.status
    if new not in SESSION_TRANSITIONS[old]:
        raise SessionConflict(_("This session can no longer be changed that way."))
    moved = status_move(
        Session.objects.filter(pk=session.pk, operator_id=session.operator_id),
        SESSION_TRANSITIONS,
        old=old,
        new=new,
        **changes,
    )
    if moved != 1:
        raise SessionConflict(_("Someone else changed this session first."))
    session.refresh_from_db()
    _event(session, kind, at=at, actor=actor, old=old, new=new, data=data)
    _publish_session(session, moved=True)
    return session


# -- inbound texts -------------------------------------------------------------------------


def _open_session(*, phone: str, index: str, now: datetime) -> tuple[Session, bool]:
    open_sessions = Session.objects.exclude(status=SessionStatus.ENDED)
    # Locked before anything is written, as everywhere: a client's answer and the end of its
    # grace period then happen one after the other, never half of each.
    existing = (
        open_sessions.filter(client_phone_index=index)
        .select_for_update(of=("self",))
        .select_related("operator", "client", "plan_version")
        .first()
    )
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            session = Session.objects.create(
                language=settings.LANGUAGE_CODE,
                client_phone=phone,
                client_phone_index=index,
                opened_at=now,
                waiting_since=now,
                last_message_at=now,
            )
    except IntegrityError:
        # Two first texts at once: the other request opened it.
        return open_sessions.get(client_phone_index=index), False
    _event(session, EventKind.OPENED, at=now, new=SessionStatus.WAITING, data={"channel": "sms"})
    return session, True


def _queue_to_client(
    session: Session,
    body: str,
    *,
    at: datetime,
    purpose: Purpose,
    author: Any = None,
    automatic: bool = False,
    queue_task: bool = True,
) -> Message:
    outbound = outbox.sms_queue(
        to=session.client_phone,
        body=body,
        purpose=purpose,
        session_id=session.pk,
        queue_task=queue_task,
    )
    return Message.objects.create(
        session=session,
        direction=Direction.OUTBOUND,
        body=body,
        created_at=at,
        author=author,
        automatic=automatic,
        outbound=outbound,
    )


def session_open_for(*, phone: str, now: datetime) -> tuple[Session, bool]:
    """The open session for this sender, locked, or a new one. True if it was opened now."""
    return _open_session(phone=phone, index=crypto.blind_index(phone), now=now)


def message_publish(message: Message) -> None:
    _publish_message(message)


def session_first_reply(session: Session, *, at: datetime) -> None:
    """The line's first answer, in both languages: nobody knows theirs yet. A short code or a
    sender name cannot be texted back; the session opens all the same."""
    if phones.can_receive_texts(session.client_phone):
        reply = texts.render_bilingual(texts.FIRST_REPLY, settings.LANGUAGE_CODE)
        auto = _queue_to_client(
            session, reply, at=at, purpose=Purpose.CLIENT_AUTOMATIC, automatic=True
        )
        _publish_message(auto)


# -- operator actions ----------------------------------------------------------------------


def _require_operator(user: Any) -> None:
    if not roles.is_operator(user):
        raise PermissionDenied(_("Only operators can do this."))


def _require_owner(session: Session, user: Any) -> None:
    _require_operator(user)
    if session.operator_id != user.pk and not roles.is_supervisor(user):
        raise PermissionDenied(_("This session belongs to another operator."))


def session_lock(session_id: int) -> None:
    """Takes the session's row lock. Everything that changes a session and its check-ins or
    alarms takes this first, so two such changes never wait on each other in a circle."""
    list(Session.objects.select_for_update().filter(pk=session_id).values_list("pk"))


def session_locked(session_id: int) -> Session:
    """`session_lock`, and the session with what its dashboard summary shows, in one query."""
    return (
        Session.objects.select_for_update(of=("self",))
        .select_related("operator", "client", "plan_version")
        .get(pk=session_id)
    )


ACTIVE_ONLY = (SessionStatus.ACTIVE,)
OPEN = (SessionStatus.WAITING, SessionStatus.ACTIVE)
HELD = (SessionStatus.ACTIVE, SessionStatus.ENDED)
_NOT_NOW = {
    SessionStatus.WAITING: _lazy("Claim this session first."),
    SessionStatus.ACTIVE: _lazy("Another operator has already claimed this session."),
    SessionStatus.ENDED: _lazy("This session has ended."),
}


def session_for_action(
    *,
    session_id: int,
    user: Any,
    lock: bool = False,
    allow: tuple[str, ...] = ACTIVE_ONLY,
) -> Session:
    """The one way an action fetches its session. The user must be an operator; once someone
    holds the session, its own operator or a supervisor; and the session must be in a status
    the action allows."""
    _require_operator(user)
    sessions = Session.objects.select_related("operator")
    # FOR UPDATE cannot reach across the outer join to a session's (missing) operator.
    session = (sessions.select_for_update(of=("self",)) if lock else sessions).get(pk=session_id)
    if session.status not in allow:
        raise SessionConflict(str(_NOT_NOW[SessionStatus(session.status)]))
    if session.status != SessionStatus.WAITING:
        _require_owner(session, user)
    return session


def session_require_textable(session: Session) -> None:
    if not phones.can_receive_texts(session.client_phone):
        raise SessionConflict(
            _(
                "This person texted from a short code or a sender name, which cannot receive "
                "texts. Ask them to text from their own phone number."
            )
        )


def session_language_set(*, session: Session, language: str) -> None:
    """Every text the client receives from now on is in this language."""
    if session.language != language:
        Session.objects.filter(pk=session.pk).update(language=language)
        session.language = language


def session_publish(session: Session, monitoring: selectors.MonitoringNow | None = None) -> None:
    _publish_session(session, monitoring)


def session_send_automatic(
    session: Session,
    body: str,
    *,
    at: datetime,
    purpose: Purpose = Purpose.CLIENT_AUTOMATIC,
    queue_task: bool = True,
) -> Message:
    """A text the line sends by itself (check-in prompts, confirmations), shown in the log.
    With `queue_task=False` the caller sends it once committed (see `outbox.sms_queue`)."""
    message = _queue_to_client(
        session, body, at=at, purpose=purpose, automatic=True, queue_task=queue_task
    )
    Session.objects.filter(pk=session.pk).update(last_message_at=at)
    session.last_message_at = at
    _publish_message(message)
    return message


def session_event(
    session: Session, kind: str, *, at: datetime, actor: Any = None, **data: Any
) -> None:
    _event(session, kind, at=at, actor=actor, data=data)


def session_claim(*, session_id: int, user: Any) -> Session:
    taken = SessionConflict(_("Another operator has already claimed this session."))
    with transaction.atomic():
        session = session_for_action(
            session_id=session_id, user=user, allow=(SessionStatus.WAITING,)
        )
        now = timezone.now()
        try:
            return _transition(
                session,
                SessionStatus.ACTIVE,
                actor=user,
                kind=EventKind.CLAIMED,
                at=now,
                operator=user,
                claimed_at=now,
                waiting_since=None,
            )
        except SessionConflict as exc:
            raise taken from exc


@transaction.atomic
def session_release(*, session_id: int, user: Any) -> Session:
    session = session_for_action(session_id=session_id, user=user, lock=True)
    if Monitoring.objects.filter(session=session, status=MonitoringStatus.ACTIVE).exists():
        # Someone must hold a monitored session: alarms go to its operator.
        raise SessionConflict(_("End check-ins or transfer the session before releasing it."))
    now = timezone.now()
    return _transition(
        session,
        SessionStatus.WAITING,
        actor=user,
        kind=EventKind.RELEASED,
        at=now,
        operator=None,
        waiting_since=now,
    )


@transaction.atomic
def session_transfer(*, session_id: int, user: Any, to_user: Any) -> Session:
    session = session_for_action(session_id=session_id, user=user, lock=True)
    if not roles.is_operator(to_user):
        raise PermissionDenied(_("Sessions can only be transferred to an operator."))
    if to_user.pk == session.operator_id:
        raise SessionConflict(_("This session already belongs to that operator."))
    now = timezone.now()
    data = {"from_operator": session.operator_id, "to_operator": to_user.pk}
    return _transition(
        session,
        SessionStatus.ACTIVE,
        actor=user,
        kind=EventKind.TRANSFERRED,
        at=now,
        data=data,
        operator=to_user,
        claimed_at=now,
    )


def session_take_over(*, session: Session, user: Any, at: datetime, reason: str) -> Session:
    """An operator answering someone else's alarm becomes the session's operator: whoever
    acknowledges an alarm must be able to act on it."""
    return _transition(
        session,
        SessionStatus.ACTIVE,
        actor=user,
        kind=EventKind.TAKEN_OVER,
        at=at,
        data={"from_operator": session.operator_id, "reason": reason},
        operator=user,
        claimed_at=at,
    )


@transaction.atomic
def session_end(*, session_id: int, user: Any, outcome: str) -> Session:
    session = session_for_action(session_id=session_id, user=user, lock=True, allow=OPEN)
    if outcome not in Outcome.values:
        raise ValueError(_("Choose an outcome from the list."))
    now = timezone.now()
    if Monitoring.objects.filter(session=session, status=MonitoringStatus.ACTIVE).exists():
        # `checkins.session_end` ends them first; never leave check-ins running alone.
        raise SessionConflict(_("End check-ins before ending the session."))
    # Typed-but-unsaved plan details are not kept once the conversation is over.
    PlanDraft.objects.filter(session=session).delete()
    return _transition(
        session,
        SessionStatus.ENDED,
        actor=user,
        kind=EventKind.ENDED,
        at=now,
        data={"outcome": outcome},
        outcome=outcome,
        ended_at=now,
    )


@transaction.atomic
def session_reply(*, session_id: int, user: Any, body: str) -> Message:
    session = session_for_action(session_id=session_id, user=user)
    body = body.strip()
    if not body:
        raise ValueError(_("Write a message first."))
    session_require_textable(session)
    if len(body) > MAX_REPLY_LENGTH:
        limit = formats.number_format(MAX_REPLY_LENGTH, force_grouping=True)
        raise ValueError(_("Messages can be at most %(max)s characters.") % {"max": limit})
    now = timezone.now()
    message = _queue_to_client(session, body, at=now, purpose=Purpose.CLIENT_REPLY, author=user)
    Session.objects.filter(pk=session.pk).update(last_message_at=now)
    session.last_message_at = now
    _publish_message(message)
    _publish_session(session)
    return message


@transaction.atomic
def session_phone_reveal(*, session_id: int, user: Any, reason: str = "") -> str:
    """Shows the full number, and writes down that this person saw it, and why."""
    session = session_for_action(session_id=session_id, user=user, allow=HELD)
    reason = reason.strip()[:200]
    if not reason:
        raise ValueError(_("Say why you need the full number: the reason is recorded."))
    now = timezone.now()
    access = PersonalDataAccess.objects.create(
        user=user, session=session, field="client_phone", reason=reason, at=now
    )
    # The reason stays in the encrypted access row; the event only points to it.
    _event(session, EventKind.PHONE_REVEALED, at=now, actor=user, data={"access": access.pk})
    return session.client_phone

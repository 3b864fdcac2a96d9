"""Check-ins and the escalation ladder, every path, with time under control.

The sweeper drives every step here (countdown tasks queue to a broker no worker reads), so
each test also shows that the sweeper alone is enough when every countdown task is lost. After
each sweep the texts it queued leave for the in-process Twilio sandbox, as a worker would send
them; `sweep_at(..., send=False)` leaves them in the outbox, as an overloaded worker would.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client as HttpClient
from django.utils import timezone

from clients.models import Region
from clients.plans import Contact, PlanFields
from dispatch import escalation
from dispatch.models import Escalation, EscalationStatus, EscalationStep, StepStatus
from monitoring import checkins, selectors
from monitoring import plans as plan_services
from monitoring.models import (
    CheckIn,
    CheckInStatus,
    Monitoring,
    MonitoringStatus,
    Session,
    SessionEvent,
    SessionStatus,
)
from telephony import outbox
from telephony.models import OutboundSMS
from telephony.outbox import callback_record as status_callback_record
from tests.factories import session_make
from tests.ladder import sweep, texts_leave
from tests.twilio_helpers import inbound_params, signed_post

pytestmark = pytest.mark.django_db

PHONE = "+15145550123"
SISTER = "+15145550188"
SUPERVISOR = "+15145550199"
INTERVAL, GRACE, WAIT, WIDEN, SEND_WAIT, AFTER_EMS = 120, 60, 30, 90, 45, 40


@pytest.fixture(autouse=True)
def _ladder_settings(settings: Any) -> None:
    settings.ESCALATION_RESPONSE_WAIT_SECONDS = WAIT
    settings.ALARM_WIDEN_SECONDS = WIDEN
    settings.SUPERVISOR_ON_CALL_PHONE = SUPERVISOR
    settings.CHECKIN_SEND_WAIT_SECONDS = SEND_WAIT
    settings.ESCALATION_CONTACT_AFTER_EMS_SECONDS = AFTER_EMS


@pytest.fixture(autouse=True)
def _twilio(sandbox: Any) -> Any:
    return sandbox


@pytest.fixture
def start() -> Iterator[datetime]:
    at = timezone.now().replace(microsecond=0)
    with time_machine.travel(at, tick=False):
        yield at


@pytest.fixture
def session(operator: Any, start: datetime) -> Session:
    session = session_make(PHONE, status=SessionStatus.ACTIVE, operator=operator)
    plan = PlanFields(
        address="4520 rue Saint-Denis",
        entry="Back door, buzzer 12",
        region=Region.objects.create(name="Montréal").pk,
        response="both",
        order="contact_first",
        contacts=(Contact("Maryse", SISTER, agreed=True, language="fr"),),
    )
    plan_services.plan_version_save(session_id=session.pk, user=operator, fields=plan, ready=True)
    return Session.objects.get(pk=session.pk)


@pytest.fixture
def monitored(session: Session, operator: Any) -> Monitoring:
    return checkins.monitoring_start(
        session_id=session.pk, user=operator, interval_seconds=INTERVAL, grace_seconds=GRACE
    )


def sweep_at(start: datetime, seconds: float, *, send: bool = True) -> dict[str, int]:
    with time_machine.travel(start + timedelta(seconds=seconds), tick=False):
        return sweep(send=send)


def texts_to(phone: str) -> list[str]:
    return [s.body for s in OutboundSMS.objects.order_by("id") if s.to_phone == phone]


def client_texts(body: str, at: datetime) -> None:
    with time_machine.travel(at, tick=False):
        response = signed_post(HttpClient(), "/twilio/sms/", inbound_params(body, phone=PHONE))
    assert response.status_code == 200


def kinds(session: Session) -> list[str]:
    return list(SessionEvent.objects.filter(session=session).values_list("kind", flat=True))


def steps(ladder: Escalation) -> dict[str, str]:
    return dict(ladder.steps.values_list("kind", "status"))


def silent_until_missed(start: datetime) -> Escalation:
    sweep_at(start, INTERVAL)
    sweep_at(start, INTERVAL + GRACE)
    return Escalation.objects.get()


# -- starting ------------------------------------------------------------------------------------


def test_it_starts_only_on_a_ready_plan(operator: Any, start: datetime) -> None:
    bare = session_make(PHONE, status=SessionStatus.ACTIVE, operator=operator)
    with pytest.raises(checkins.MonitoringConflict, match="ready"):
        checkins.monitoring_start(session_id=bare.pk, user=operator)


def test_it_tells_the_client_how_to_answer_and_how_to_end(
    monitored: Monitoring, start: datetime
) -> None:
    confirmation = texts_to(PHONE)[-1]
    assert "every 2 min" in confirmation and "DONE" in confirmation
    checkin = CheckIn.objects.get()
    assert checkin.status == CheckInStatus.SCHEDULED
    assert checkin.due_at == start + timedelta(seconds=INTERVAL)


@pytest.mark.parametrize(
    ("interval", "grace"), [(59, 60), (1801, 60), (120, 5), ("120", 60), (True, 60)]
)
def test_intervals_outside_1_to_30_minutes_are_refused(
    session: Session, operator: Any, interval: Any, grace: Any
) -> None:
    with pytest.raises(ValueError):
        checkins.monitoring_start(
            session_id=session.pk, user=operator, interval_seconds=interval, grace_seconds=grace
        )


def test_it_runs_once_per_session(monitored: Monitoring, session: Session, operator: Any) -> None:
    with pytest.raises(checkins.MonitoringConflict, match="already"):
        checkins.monitoring_start(session_id=session.pk, user=operator)


# -- the client responds ---------------------------------------------------------------------------


def test_the_prompt_goes_out_when_due_and_only_once(monitored: Monitoring, start: datetime) -> None:
    assert sweep_at(start, INTERVAL - 1)["checkins"] == 0
    assert sweep_at(start, INTERVAL)["checkins"] == 1
    assert sweep_at(start, INTERVAL + 1)["checkins"] == 0
    prompts = [t for t in texts_to(PHONE) if t.startswith("Checking in")]
    assert len(prompts) == 1
    assert CheckIn.objects.get().status == CheckInStatus.PROMPTED


def test_an_answer_within_the_grace_period_schedules_the_next_check_in(
    monitored: Monitoring, start: datetime, session: Session
) -> None:
    sweep_at(start, INTERVAL)
    answered_at = start + timedelta(seconds=INTERVAL + 20)
    client_texts("all good", answered_at)
    first, second = CheckIn.objects.order_by("number")
    assert first.status == CheckInStatus.ANSWERED and first.answered_at == answered_at
    assert second.status == CheckInStatus.SCHEDULED
    assert second.due_at == answered_at + timedelta(seconds=INTERVAL)
    sweep_at(start, INTERVAL + GRACE + 5)
    assert not Escalation.objects.exists()
    assert "checkin_answered" in kinds(session)


def test_the_countdown_task_sends_its_prompt_itself(
    monitored: Monitoring,
    start: datetime,
    sandbox: Any,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
) -> None:
    """No send task of its own to wait behind others: the prompt leaves once written down."""
    from monitoring import tasks as monitoring_tasks
    from nors.lib import tasks

    queued: list[str] = []
    monkeypatch.setattr(
        tasks,
        "task_queue_on_commit",
        lambda task, *a, **k: queued.append(task if isinstance(task, str) else task.name),
    )
    checkin = CheckIn.objects.get()
    with (
        time_machine.travel(start + timedelta(seconds=INTERVAL), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert monitoring_tasks.checkin_due(checkin.pk) == "prompted"
    (prompt,) = [m for m in sandbox.messages(to=PHONE) if m["body"].startswith("Checking in")]
    sms = CheckIn.objects.get().prompt
    assert sms is not None and (sms.status, sms.twilio_sid) == ("accepted", prompt["sid"])
    assert queued == ["monitoring.tasks.checkin_due"]  # its deadline's timer, and no send task


# -- the client is silent --------------------------------------------------------------------------


def test_silence_past_the_grace_period_raises_the_alarm_and_prompts_again(
    monitored: Monitoring, start: datetime, session: Session
) -> None:
    assert sweep_at(start, INTERVAL)["checkins"] == 1  # the prompt
    assert sweep_at(start, INTERVAL + GRACE - 1)["checkins"] == 0
    assert not Escalation.objects.exists()
    ladder = silent_until_missed(start)
    assert CheckIn.objects.get().status == CheckInStatus.MISSED
    assert steps(ladder) == {
        "alarm": "done",
        "response": "pending",
        "widen_shift": "pending",
        "widen_supervisor": "pending",
    }
    assert texts_to(PHONE)[-1].startswith("We haven't heard from you")
    assert sweep_at(start, INTERVAL + GRACE + 1) == {
        "checkins": 0,
        "steps": 0,
        "ended": 0,
        "errors": 0,
    }
    assert Escalation.objects.count() == 1


def test_after_the_wait_the_contact_is_texted_in_their_language_once(
    monitored: Monitoring, start: datetime
) -> None:
    ladder = silent_until_missed(start)
    sweep_at(start, INTERVAL + GRACE + WAIT - 1)
    assert texts_to(SISTER) == []
    sweep_at(start, INTERVAL + GRACE + WAIT)
    sweep_at(start, INTERVAL + GRACE + WAIT + 1)
    (alert,) = texts_to(SISTER)
    assert "4520 rue Saint-Denis" in alert and "buzzer 12" in alert
    step = ladder.steps.get(kind="response")
    assert step.done_at == start + timedelta(seconds=INTERVAL + GRACE + WAIT)
    assert step.result == "contacts_texted_and_called:1,ems_task_shown_no_dispatch_line"


def test_the_contact_was_reached_and_the_operator_closes_the_alarm(
    monitored: Monitoring, start: datetime, operator: Any
) -> None:
    ladder = silent_until_missed(start)
    sweep_at(start, INTERVAL + GRACE + WAIT)
    escalation.escalation_close(escalation_id=ladder.pk, user=operator, outcome="contact_reached")
    ladder.refresh_from_db()
    assert (ladder.status, ladder.outcome) == (EscalationStatus.CLOSED, "contact_reached")
    assert steps(ladder)["widen_shift"] == StepStatus.CANCELLED
    assert sweep_at(start, INTERVAL + GRACE + 3 * WIDEN)["steps"] == 0
    assert texts_to(SUPERVISOR) == []


def test_a_client_who_answers_during_the_alarm_stops_the_ladder(
    monitored: Monitoring, start: datetime, session: Session, operator: Any
) -> None:
    ladder = silent_until_missed(start)
    client_texts("sorry, dozed off", start + timedelta(seconds=INTERVAL + GRACE + 10))
    ladder.refresh_from_db()
    assert ladder.status == EscalationStatus.STOPPED
    assert set(steps(ladder).values()) == {"done", "cancelled"}
    # Check-ins go on by themselves, one interval from the answer: a client who believes
    # they are monitored must be. The operator may still end them.
    answered = start + timedelta(seconds=INTERVAL + GRACE + 10)
    nxt = CheckIn.objects.get(status=CheckInStatus.SCHEDULED)
    assert (nxt.number, nxt.due_at) == (2, answered + timedelta(seconds=INTERVAL))
    with pytest.raises(checkins.MonitoringConflict, match="already planned"):
        checkins.monitoring_resume(session_id=session.pk, user=operator)
    sweep_at(start, INTERVAL + GRACE + WAIT + 1)
    assert texts_to(SISTER) == []


# -- an overloaded worker: prompts that leave late ---------------------------------------------


def test_a_prompt_late_to_leave_counts_the_grace_period_from_when_it_left(
    monitored: Monitoring, start: datetime, session: Session
) -> None:
    sweep_at(start, INTERVAL, send=False)  # the worker is behind: the prompt waits in the outbox
    with time_machine.travel(start + timedelta(seconds=INTERVAL + 20), tick=False):
        texts_leave()
    assert sweep_at(start, INTERVAL + GRACE)["checkins"] == 0
    checkin = CheckIn.objects.get()
    assert checkin.status == CheckInStatus.PROMPTED
    assert checkin.deadline_at == start + timedelta(seconds=INTERVAL + 20 + GRACE)
    # The dashboard counts down to the deadline the client really has.
    state = selectors.monitoring_state(session)["monitoring"]
    assert state["next"]["due_at"] == checkin.deadline_at.isoformat()
    client_texts("ok", start + timedelta(seconds=INTERVAL + GRACE + 15))
    assert CheckIn.objects.get(number=1).status == CheckInStatus.ANSWERED
    assert not Escalation.objects.exists()


def test_silence_after_a_late_prompt_raises_the_alarm_a_grace_period_after_it_left(
    monitored: Monitoring, start: datetime
) -> None:
    sweep_at(start, INTERVAL, send=False)
    with time_machine.travel(start + timedelta(seconds=INTERVAL + 20), tick=False):
        texts_leave()
    sweep_at(start, INTERVAL + GRACE)
    sweep_at(start, INTERVAL + GRACE + 19)
    assert not Escalation.objects.exists()
    sweep_at(start, INTERVAL + GRACE + 20)
    ladder = Escalation.objects.get()
    assert ladder.started_at == start + timedelta(seconds=INTERVAL + GRACE + 20)


def test_a_prompt_that_never_leaves_raises_the_alarm_once_the_send_wait_is_over(
    monitored: Monitoring, start: datetime, session: Session
) -> None:
    sweep_at(start, INTERVAL, send=False)
    for second in range(INTERVAL + GRACE, INTERVAL + GRACE + SEND_WAIT, 2):
        sweep_at(start, second, send=False)
    assert not Escalation.objects.exists()
    latest = start + timedelta(seconds=INTERVAL + GRACE + SEND_WAIT)
    assert selectors.monitoring_state(session)["monitoring"]["next"]["due_at"] == latest.isoformat()
    sweep_at(start, INTERVAL + GRACE + SEND_WAIT, send=False)
    assert Escalation.objects.get().started_at == latest
    assert CheckIn.objects.get().status == CheckInStatus.MISSED


# -- deliveries that fail --------------------------------------------------------------------------


def _callback(sms: OutboundSMS | None, status: str) -> None:
    assert sms is not None
    sid = f"SM{sms.pk:032d}"
    OutboundSMS.objects.filter(pk=sms.pk).update(twilio_sid=sid, status="sent")
    status_callback_record(sid=sid, status=status, error_code="30003")


def test_a_prompt_that_cannot_be_delivered_raises_the_alarm_at_once(
    monitored: Monitoring, start: datetime
) -> None:
    sweep_at(start, INTERVAL)
    with time_machine.travel(start + timedelta(seconds=INTERVAL + 5), tick=False):
        _callback(CheckIn.objects.get().prompt, "undelivered")
    ladder = Escalation.objects.get()
    assert ladder.started_at == start + timedelta(seconds=INTERVAL + 5)
    assert steps(ladder)["response"] == "pending"  # one step at a time


def _reprompt(ladder: Escalation) -> OutboundSMS:
    ladder.refresh_from_db()
    assert ladder.reprompt is not None
    return ladder.reprompt


def _check_call_ends(status: str, answered_by: str = "", digits: str = "") -> None:
    from telephony.models import OutboundCall, Purpose

    call = OutboundCall.objects.get(purpose=Purpose.CLIENT_CHECK)
    sid = f"CA{call.pk:032d}"
    OutboundCall.objects.filter(pk=call.pk).update(twilio_sid=sid, status="ringing")
    if answered_by:
        outbox.callback_record(sid=sid, status="in-progress", answered_by=answered_by)
    outbox.callback_record(sid=sid, status=status, answered_by=answered_by)


@pytest.mark.parametrize(
    ("status", "answered_by"),
    [("no-answer", ""), ("busy", ""), ("failed", ""), ("completed", "machine_end_beep")],
)
def test_the_response_starts_at_once_when_text_and_call_both_fail(
    monitored: Monitoring, start: datetime, status: str, answered_by: str
) -> None:
    ladder = silent_until_missed(start)
    with time_machine.travel(start + timedelta(seconds=INTERVAL + GRACE + 3), tick=False):
        _callback(_reprompt(ladder), "failed")
        assert ladder.steps.get(kind="response").status == "pending"  # the call may reach them
        _check_call_ends(status, answered_by)
    step = ladder.steps.get(kind="response")
    assert step.status == "done"
    assert step.done_at == start + timedelta(seconds=INTERVAL + GRACE + 3)
    assert len(texts_to(SISTER)) == 1


def test_a_call_that_ends_without_a_key_does_not_cut_the_wait_short(
    monitored: Monitoring, start: datetime
) -> None:
    ladder = silent_until_missed(start)
    with time_machine.travel(start + timedelta(seconds=INTERVAL + GRACE + 3), tick=False):
        _check_call_ends("no-answer")
    assert ladder.steps.get(kind="response").status == "pending"  # the text may reach them
    sweep_at(start, INTERVAL + GRACE + WAIT - 1)
    assert texts_to(SISTER) == []
    sweep_at(start, INTERVAL + GRACE + WAIT)
    assert len(texts_to(SISTER)) == 1


def test_a_person_who_answers_the_call_and_presses_nothing_gets_the_full_wait(
    monitored: Monitoring, start: datetime
) -> None:
    ladder = silent_until_missed(start)
    with time_machine.travel(start + timedelta(seconds=INTERVAL + GRACE + 3), tick=False):
        _callback(_reprompt(ladder), "undelivered")
        _check_call_ends("completed", answered_by="human")
    assert ladder.steps.get(kind="response").status == "pending"
    sweep_at(start, INTERVAL + GRACE + WAIT - 1)
    assert texts_to(SISTER) == []
    sweep_at(start, INTERVAL + GRACE + WAIT)
    assert len(texts_to(SISTER)) == 1


def _ems_first(session: Session, operator: Any) -> None:
    plan = PlanFields(
        address="4520 rue Saint-Denis",
        region=Region.objects.get().pk,
        response="both",
        order="ems_first",
        contacts=(Contact("Maryse", SISTER, agreed=True),),
    )
    plan_services.plan_version_save(session_id=session.pk, user=operator, fields=plan, ready=True)
    checkins.monitoring_start(
        session_id=session.pk, user=operator, interval_seconds=INTERVAL, grace_seconds=GRACE
    )


def test_ems_first_shows_the_ems_task_and_waits_before_telling_the_contact(
    session: Session, operator: Any, start: datetime
) -> None:
    _ems_first(session, operator)
    ladder = silent_until_missed(start)
    sweep_at(start, INTERVAL + GRACE + WAIT)
    assert ladder.steps.get(kind="response").result.startswith("ems_task_shown")
    assert texts_to(SISTER) == []
    sweep_at(start, INTERVAL + GRACE + WAIT + AFTER_EMS - 1)
    assert texts_to(SISTER) == []
    sweep_at(start, INTERVAL + GRACE + WAIT + AFTER_EMS)
    assert len(texts_to(SISTER)) == 1
    assert ladder.steps.get(kind="contact_after_ems").result == "contacts_texted_and_called:1"


def test_ems_first_tells_the_contact_once_the_dispatch_call_is_placed(
    session: Session, operator: Any, start: datetime
) -> None:
    from dispatch.models import OperatorPhone

    _ems_first(session, operator)
    OperatorPhone.objects.create(user=operator, phone="+15145550177")
    ladder = silent_until_missed(start)
    sweep_at(start, INTERVAL + GRACE + WAIT)
    assert texts_to(SISTER) == []
    with time_machine.travel(start + timedelta(seconds=INTERVAL + GRACE + WAIT + 5), tick=False):
        escalation.dispatch_call_start(
            escalation=ladder, user=operator, line={"name": "EMS", "phone": "+15145550100"}
        )
    assert len(texts_to(SISTER)) == 1
    sweep_at(start, INTERVAL + GRACE + WAIT + AFTER_EMS + 1)
    assert len(texts_to(SISTER)) == 1  # once


def test_ems_first_tells_the_contact_when_ems_is_recorded_as_sent(
    session: Session, operator: Any, start: datetime
) -> None:
    _ems_first(session, operator)
    ladder = silent_until_missed(start)
    sweep_at(start, INTERVAL + GRACE + WAIT)
    escalation.escalation_close(escalation_id=ladder.pk, user=operator, outcome="ems_sent")
    assert len(texts_to(SISTER)) == 1
    assert steps(ladder)["contact_after_ems"] == "done"


def test_ems_first_never_tells_the_contact_when_the_client_was_found_ok(
    session: Session, operator: Any, start: datetime
) -> None:
    _ems_first(session, operator)
    ladder = silent_until_missed(start)
    sweep_at(start, INTERVAL + GRACE + WAIT)
    escalation.escalation_close(escalation_id=ladder.pk, user=operator, outcome="client_ok")
    sweep_at(start, INTERVAL + GRACE + WAIT + AFTER_EMS + 1)
    assert texts_to(SISTER) == []


def test_after_an_alarms_outcome_a_text_does_not_restart_check_ins(
    monitored: Monitoring, start: datetime, session: Session, operator: Any
) -> None:
    ladder = silent_until_missed(start)
    sweep_at(start, INTERVAL + GRACE + WAIT)
    escalation.escalation_close(escalation_id=ladder.pk, user=operator, outcome="ems_sent")
    client_texts("they're here, thanks", start + timedelta(seconds=INTERVAL + GRACE + WAIT + 60))
    assert not CheckIn.objects.filter(status__in=["scheduled", "prompted"]).exists()
    assert Monitoring.objects.get().status == MonitoringStatus.ACTIVE
    # Only the operator resumes them.
    checkins.monitoring_resume(session_id=session.pk, user=operator)
    assert CheckIn.objects.filter(status="scheduled").count() == 1


# -- alarms nobody acknowledges --------------------------------------------------------------------


def test_an_unacknowledged_alarm_widens_to_the_shift_then_the_supervisor(
    monitored: Monitoring, start: datetime
) -> None:
    ladder = silent_until_missed(start)
    missed = INTERVAL + GRACE
    sweep_at(start, missed + WIDEN)
    assert steps(ladder)["widen_shift"] == "done" and texts_to(SUPERVISOR) == []
    sweep_at(start, missed + 2 * WIDEN)
    sweep_at(start, missed + 2 * WIDEN + 1)
    (text,) = texts_to(SUPERVISOR)
    assert f"session {ladder.session_id}" in text


def test_an_acknowledged_alarm_does_not_widen(
    monitored: Monitoring, start: datetime, operator: Any
) -> None:
    ladder = silent_until_missed(start)
    escalation.escalation_acknowledge(escalation_id=ladder.pk, user=operator)
    escalation.escalation_acknowledge(escalation_id=ladder.pk, user=operator)
    sweep_at(start, INTERVAL + GRACE + 3 * WIDEN)
    assert steps(ladder) == {
        "alarm": "done",
        "response": "done",  # acknowledging is not an answer from the client
        "widen_shift": "cancelled",
        "widen_supervisor": "cancelled",
    }
    assert texts_to(SUPERVISOR) == []
    assert kinds(ladder.session).count("alarm_acknowledged") == 1


# -- ending --------------------------------------------------------------------------------------


@pytest.mark.parametrize("word", ["DONE", "safe", "Fini.", "terminé"])
def test_the_client_ends_check_ins_with_a_word_of_the_line(
    monitored: Monitoring, start: datetime, word: str
) -> None:
    client_texts(word, start + timedelta(seconds=30))
    monitoring = Monitoring.objects.get()
    assert (monitoring.status, monitoring.end_reason) == (MonitoringStatus.ENDED, "client")
    assert CheckIn.objects.get().status == CheckInStatus.CANCELLED
    assert texts_to(PHONE)[-1].startswith("Check-ins have ended")
    assert sweep_at(start, INTERVAL + GRACE + 1)["checkins"] == 0


def test_the_operator_ends_check_ins_during_an_alarm(
    monitored: Monitoring, start: datetime, session: Session, operator: Any
) -> None:
    ladder = silent_until_missed(start)
    assert checkins.monitoring_end_by_operator(session_id=session.pk, user=operator)
    assert steps(ladder)["response"] == "cancelled"
    assert texts_to(PHONE)[-1].startswith("Check-ins have ended")
    sweep_at(start, INTERVAL + GRACE + 3 * WIDEN)
    assert texts_to(SISTER) == []


def test_check_ins_end_at_the_agreed_time(session: Session, operator: Any, start: datetime) -> None:
    checkins.monitoring_start(
        session_id=session.pk,
        user=operator,
        interval_seconds=INTERVAL,
        ends_at=start + timedelta(seconds=INTERVAL * 2 + 30),
    )
    sweep_at(start, INTERVAL)
    client_texts("ok", start + timedelta(seconds=INTERVAL + 5))
    assert sweep_at(start, INTERVAL * 2 + 30)["ended"] == 1
    assert Monitoring.objects.get().end_reason == "end_time"


def test_every_step_is_on_the_timeline_with_planned_and_actual_times(
    monitored: Monitoring, start: datetime, session: Session
) -> None:
    silent_until_missed(start)
    sweep_at(start, INTERVAL + GRACE + WAIT + 4)  # the sweeper was 4 s late
    events = SessionEvent.objects.filter(session=session, kind="escalation_step")
    response = events.get(data__step="response")
    planned = start + timedelta(seconds=INTERVAL + GRACE + WAIT)
    assert response.data["planned_at"] == planned.isoformat()
    assert response.at == start + timedelta(seconds=INTERVAL + GRACE + WAIT + 4)
    assert kinds(session).count("checkin_missed") == 1
    assert EscalationStep.objects.filter(status="done").count() == 2


def test_a_monitored_session_cannot_be_released(
    monitored: Monitoring, session: Session, operator: Any
) -> None:
    from monitoring import services

    with pytest.raises(services.SessionConflict, match="End check-ins"):
        services.session_release(session_id=session.pk, user=operator)


def test_ending_the_session_closes_its_alarms_with_its_outcome(
    monitored: Monitoring, start: datetime, session: Session, operator: Any
) -> None:

    ladder = silent_until_missed(start)
    checkins.session_end(session_id=session.pk, user=operator, outcome="ems_dispatched")
    ladder.refresh_from_db()
    assert (ladder.status, ladder.outcome) == (EscalationStatus.CLOSED, "ems_sent")
    assert set(steps(ladder).values()) == {"done", "cancelled"}
    assert Monitoring.objects.get().end_reason == "session"


def test_an_alarm_on_a_session_nobody_holds_goes_to_every_operator(
    monitored: Monitoring, start: datetime, session: Session, operator2: Any
) -> None:
    from monitoring import selectors

    Session.objects.filter(pk=session.pk).update(operator=None)
    ladder = silent_until_missed(start)
    shown = selectors.dashboard_snapshot(user=operator2)["alarms"]
    assert [(a["id"], a["widened"]) for a in shown] == [(ladder.pk, True)]


def test_supervisors_read_each_step_with_its_planned_time_and_result(
    monitored: Monitoring, start: datetime, session: Session, supervisor: Any
) -> None:
    silent_until_missed(start)
    reviewer = HttpClient()
    reviewer.force_login(supervisor)
    page = reviewer.get(f"/review/sessions/{session.pk}/").content.decode()
    assert "Check-ins started" in page and "Check-in missed" in page
    planned = timezone.localtime(start + timedelta(seconds=INTERVAL + GRACE)).strftime("%H:%M:%S")
    assert f"planned for {planned}: alarm_raised_client_texted_and_called" in page
    assert "Saint-Denis" not in page


def test_check_ins_cannot_resume_while_the_alarm_is_under_way(
    monitored: Monitoring, start: datetime, session: Session, operator: Any
) -> None:
    silent_until_missed(start)
    with pytest.raises(checkins.MonitoringConflict, match="still under way"):
        checkins.monitoring_resume(session_id=session.pk, user=operator)


def test_a_key_press_on_the_call_also_keeps_check_ins_going(
    monitored: Monitoring, start: datetime
) -> None:
    from telephony.models import OutboundCall, Purpose

    ladder = silent_until_missed(start)
    call = OutboundCall.objects.get(purpose=Purpose.CLIENT_CHECK)
    outbox.key_record(call_id=call.pk, digits="1")
    ladder.refresh_from_db()
    assert ladder.status == EscalationStatus.STOPPED
    assert CheckIn.objects.filter(status=CheckInStatus.SCHEDULED).count() == 1


def test_the_end_time_never_swallows_an_unanswered_prompt(
    session: Session, operator: Any, start: datetime
) -> None:
    checkins.monitoring_start(
        session_id=session.pk,
        user=operator,
        interval_seconds=INTERVAL,
        grace_seconds=GRACE,
        ends_at=start + timedelta(seconds=INTERVAL + 30),
    )
    sweep_at(start, INTERVAL)  # prompted; the end time comes during the grace period
    sweep_at(start, INTERVAL + 30)
    assert Monitoring.objects.get().status == MonitoringStatus.ACTIVE
    sweep_at(start, INTERVAL + GRACE)
    ladder = Escalation.objects.get()  # the miss still raised the alarm
    sweep_at(start, INTERVAL + GRACE + WAIT)
    assert steps(ladder)["response"] == "done" and len(texts_to(SISTER)) == 1
    assert Monitoring.objects.get().status == MonitoringStatus.ACTIVE  # the alarm runs its course


def test_the_ladder_follows_the_plan_in_force_now(
    monitored: Monitoring, start: datetime, session: Session, operator: Any
) -> None:
    moved = PlanFields(
        address="99 rue Ontario",
        region=Region.objects.get().pk,
        response="contact",
        contacts=(Contact("Kim", "+15145550166", agreed=True),),
    )
    plan_services.plan_version_save(session_id=session.pk, user=operator, fields=moved, ready=True)
    silent_until_missed(start)
    sweep_at(start, INTERVAL + GRACE + WAIT)
    assert texts_to(SISTER) == []
    (alert,) = texts_to("+15145550166")
    assert "99 rue Ontario" in alert


def test_a_plan_that_waits_for_the_contact_calls_ems_after_them(
    session: Session, operator: Any, start: datetime
) -> None:
    waits = PlanFields(
        address="4520 rue Saint-Denis",
        region=Region.objects.get().pk,
        response="both",
        order="contact_first",
        wait_for_contact=True,
        contacts=(Contact("Maryse", SISTER, agreed=True),),
    )
    plan_services.plan_version_save(session_id=session.pk, user=operator, fields=waits, ready=True)
    checkins.monitoring_start(
        session_id=session.pk, user=operator, interval_seconds=INTERVAL, grace_seconds=GRACE
    )
    ladder = silent_until_missed(start)
    sweep_at(start, INTERVAL + GRACE + WAIT)
    response = ladder.steps.get(kind="response")
    assert response.result == "contacts_texted_and_called:1"
    assert steps(ladder)["ems_after_contact"] == "pending"
    sweep_at(start, INTERVAL + GRACE + 2 * WAIT)
    ems = ladder.steps.get(kind="ems_after_contact")
    assert ems.status == "done" and ems.result.startswith("ems_task_shown")


def test_an_operator_who_acknowledges_anothers_alarm_takes_the_session(
    monitored: Monitoring, start: datetime, session: Session, operator2: Any
) -> None:
    ladder = silent_until_missed(start)
    sweep_at(start, INTERVAL + GRACE + WIDEN)  # widened to everyone
    escalation.escalation_acknowledge(escalation_id=ladder.pk, user=operator2)
    session.refresh_from_db()
    assert session.operator == operator2
    assert "taken_over" in kinds(session)
    # Now it is theirs to act on: they can close it.
    escalation.escalation_close(escalation_id=ladder.pk, user=operator2, outcome="client_ok")


def test_an_unreachable_contact_is_shown_on_the_alarm(
    monitored: Monitoring, start: datetime, session: Session
) -> None:
    ladder = silent_until_missed(start)
    sweep_at(start, INTERVAL + GRACE + WAIT)
    alert = next(s for s in OutboundSMS.objects.all() if s.to_phone == SISTER)
    _callback(alert, "undelivered")
    assert "contact_unreachable:text_undelivered" in ladder.steps.get(kind="response").result
    assert "contact_unreachable" in kinds(session)


def test_an_operator_cannot_take_a_session_by_acknowledging_an_alarm_not_widened_to_them(
    monitored: Monitoring, start: datetime, session: Session, operator2: Any
) -> None:
    from django.core.exceptions import PermissionDenied

    ladder = silent_until_missed(start)
    with pytest.raises(PermissionDenied):
        escalation.escalation_acknowledge(escalation_id=ladder.pk, user=operator2)
    session.refresh_from_db()
    ladder.refresh_from_db()
    assert session.operator != operator2 and ladder.acknowledged_at is None
    assert "taken_over" not in kinds(session)


def test_nobody_takes_a_session_by_acknowledging_an_alarm_that_is_over(
    monitored: Monitoring, start: datetime, session: Session, operator: Any, operator2: Any
) -> None:
    from django.core.exceptions import PermissionDenied

    ladder = silent_until_missed(start)
    sweep_at(start, INTERVAL + GRACE + WIDEN)  # widened to everyone
    client_texts("I'm ok", start + timedelta(seconds=INTERVAL + GRACE + WIDEN + 1))
    with pytest.raises(PermissionDenied):
        escalation.escalation_acknowledge(escalation_id=ladder.pk, user=operator2)
    session.refresh_from_db()
    assert session.operator == operator


def test_the_acknowledge_endpoint_refuses_an_alarm_not_widened_to_the_operator(
    monitored: Monitoring, start: datetime, session: Session, operator2: Any
) -> None:
    ladder = silent_until_missed(start)
    web = HttpClient()
    web.force_login(operator2)
    response = web.post(
        f"/api/sessions/{session.pk}/alarm/acknowledge/",
        {"escalation": ladder.pk},
        content_type="application/json",
    )
    assert response.status_code == 403
    session.refresh_from_db()
    assert session.operator != operator2

"""The ladder's calls: the client asked for a key, the contact told, EMS dispatch bridged.

They go through the telephony outbox; how each ended comes back through the handlers that
`DispatchConfig.ready()` registers (`call_ended`, `key_pressed`).
"""

from __future__ import annotations

import re
from typing import Any

from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from dispatch.models import Escalation, OperatorPhone
from monitoring import services as session_services
from monitoring.models import EventKind
from nors.lib import phones
from telephony import gateway, outbox, twiml
from telephony.models import CALL_LIVE, CALL_UNANSWERED, CallStatus, OutboundCall, Purpose

GATHER_SECONDS = 10
# What answering-machine detection says when no person picked up.
MACHINE = re.compile(r"^(machine_|fax$)")


def client_check_queue(*, session: Any, escalation_id: int) -> OutboundCall:
    call = outbox.call_queue(
        to=session.client_phone,
        purpose=Purpose.CLIENT_CHECK,
        session_id=session.pk,
        ref_id=escalation_id,
    )
    call.twiml = client_check_twiml(call, session.language)
    call.save(update_fields=["twiml"])
    return call


def client_check_twiml(call: OutboundCall, language: str) -> str:
    with translation.override(language):
        return twiml.key_asked(
            action_path=reverse("twilio-call-gather") + f"?call={call.pk}",
            ask=_(
                "This is the overdose response line. We have not heard from you. "
                "If you are OK, press any key now."
            ),
            otherwise=_("We did not hear a key. We will follow your plan."),
            language=language,
            seconds=GATHER_SECONDS,
        )


def contact_call_queue(*, to: str, body: str, language: str, escalation: Escalation) -> None:
    outbox.call_queue(
        to=to,
        purpose=Purpose.CONTACT_ALERT,
        twiml=twiml.repeated(body, language),
        session_id=escalation.session_id,
        ref_id=escalation.pk,
    )


def reached_nobody(call: OutboundCall) -> bool:
    """Nobody is known to have heard it: unanswered, a machine, a fax, what detection could not
    tell from a machine ("unknown"), or a client who picked up and pressed no key."""
    if call.status in CALL_UNANSWERED or call.status == CallStatus.UNCONFIRMED:
        return True
    return call.answered_by not in ("", "human") or (
        call.purpose == Purpose.CLIENT_CHECK and not call.digits
    )


def reached_no_line(call: OutboundCall) -> bool:
    """The call definitively failed: busy, failed, unanswered, or a machine. A person who
    answered and pressed no key did not: they may be trying to."""
    return call.status in CALL_UNANSWERED or bool(MACHINE.match(call.answered_by))


def client_check_of(escalation: Escalation) -> OutboundCall | None:
    return OutboundCall.objects.filter(ref_id=escalation.pk, purpose=Purpose.CLIENT_CHECK).first()


# -- the dispatch call: the operator and the region's dispatch line in one conference --------


class DispatchCallRefused(Exception):
    pass


def _conference_legs(name: str) -> tuple[str, str]:
    """The operator's leg starts and ends the conference: the operator stays in control. The
    dispatch line hears the line's own language."""
    greeting = _("Overdose response line. Connecting you with our operator.")
    operator = twiml.conference_joined(name, in_control=True)
    line = twiml.conference_joined(
        name, in_control=False, greeting=greeting, language=translation.get_language() or "en"
    )
    return operator, line


def dispatch_call_place(*, escalation: Escalation, user: Any, line: dict[str, Any]) -> str:
    """Rings the operator and the dispatch line into one conference. Returns its name."""
    mine = OperatorPhone.objects.filter(user=user).first()
    if mine is None:
        raise DispatchCallRefused(
            _("Your phone number for dispatch calls is not set: ask a supervisor.")
        )
    try:
        line_phone = phones.normalize(line["phone"])
    except phones.InvalidPhoneNumber as exc:
        raise DispatchCallRefused(
            _("This dispatch line's number is not valid: tell a supervisor.")
        ) from exc
    name = f"alarm-{escalation.pk}"
    with transaction.atomic():
        # Two clicks at once: the alarm's row lock lets only one of them see "no call yet".
        Escalation.objects.select_for_update().get(pk=escalation.pk)
        busy = OutboundCall.objects.filter(
            ref_id=escalation.pk, purpose=Purpose.DISPATCH_LINE, status__in=CALL_LIVE
        )
        if busy.exists():
            raise DispatchCallRefused(_("A dispatch call is already under way for this alarm."))
        operator_twiml, line_twiml = _conference_legs(name)
        common = {"session_id": escalation.session_id, "ref_id": escalation.pk}
        outbox.call_queue(
            to=mine.phone, purpose=Purpose.DISPATCH_OPERATOR, twiml=operator_twiml, **common
        )
        outbox.call_queue(to=line_phone, purpose=Purpose.DISPATCH_LINE, twiml=line_twiml, **common)
        session_services.session_event(
            escalation.session,
            EventKind.DISPATCH_CALL,
            at=timezone.now(),
            actor=user,
            line=line["name"],
        )
    return name


DISPATCH_LEGS = (Purpose.DISPATCH_OPERATOR, Purpose.DISPATCH_LINE)


def dispatch_call_end(*, escalation: Escalation, user: Any) -> None:
    """Hangs up both legs of the alarm's dispatch call. A second click while Twilio's reports
    are on their way asks Twilio again (harmless) and writes no second event."""
    with transaction.atomic():
        Escalation.objects.select_for_update().get(pk=escalation.pk)
        live = list(
            OutboundCall.objects.filter(
                ref_id=escalation.pk, purpose__in=DISPATCH_LEGS, status__in=CALL_LIVE
            ).order_by("pk")
        )
        if not live:
            raise DispatchCallRefused(_("The dispatch call has already ended."))
        call_id = live[-1].pk
        told = escalation.session.events.filter(kind=EventKind.DISPATCH_CALL_ENDED)
        if not told.filter(data__call=call_id).exists():
            session_services.session_event(
                escalation.session,
                EventKind.DISPATCH_CALL_ENDED,
                at=timezone.now(),
                actor=user,
                call=call_id,
            )
    for leg in live:
        _leg_end(leg)


def _leg_end(leg: OutboundCall) -> None:
    try:
        outbox.call_end(call_id=leg.pk)
    except outbox.CallNotPlacedYet as exc:
        raise DispatchCallRefused(
            _("The call is being placed right now: try again in a moment.")
        ) from exc
    except gateway.SendError as exc:
        raise DispatchCallRefused(
            _("Twilio could not hang up the call: %(error)s") % {"error": exc.masked_message}
        ) from exc

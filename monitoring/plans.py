"""Writes for a session's client and plan: linking the code, drafts, versions in force."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from clients import codes, plans
from clients import services as client_services
from clients.models import Client, PlanContact, PlanStatus, PlanVersion, Region
from monitoring import plan_selectors as selectors
from monitoring import services as monitoring_services
from monitoring.models import EventKind, PersonalDataAccess, PlanDraft, PlanInForce, Session
from nors.lib.jsonapi import Conflict, Refused

# -- linking a session to its client -----------------------------------------------------------


class ClientAlreadyLinked(Conflict):
    pass


def session_client_link(
    *, session_id: int, user: Any, client: Client, how: str, remember_number: bool
) -> Session:
    """This session is with this client. Their number is remembered only if they agreed."""
    with transaction.atomic():
        session = monitoring_services.session_for_action(
            session_id=session_id, user=user, lock=True
        )
        if session.client_id is not None and session.client_id != client.pk:
            raise ClientAlreadyLinked(_("This session already has a client code."))
        now = timezone.now()
        Session.objects.filter(pk=session.pk).update(client=client)
        session.client = client
        if remember_number and client.phone_index != session.client_phone_index:
            Client.objects.filter(pk=client.pk).update(phone_index=session.client_phone_index)
            client.phone_index = session.client_phone_index
        monitoring_services.session_event(
            session,
            EventKind.CLIENT_LINKED,
            at=now,
            actor=user,
            code=client.code,
            how=how,
            number_remembered=bool(client.phone_index),
        )
        monitoring_services.session_publish(session)
        return session


def session_client_from_answers(
    *, session_id: int, user: Any, answers: codes.Answers, remember_number: bool
) -> Session:
    monitoring_services.session_for_action(session_id=session_id, user=user)
    client, created = client_services.client_from_answers(answers=answers)
    return session_client_link(
        session_id=session_id,
        user=user,
        client=client,
        how="answers_new" if created else "answers_found",
        remember_number=remember_number,
    )


def session_client_random(*, session_id: int, user: Any, remember_number: bool) -> Session:
    session = monitoring_services.session_for_action(session_id=session_id, user=user)
    if session.client_id is not None:
        raise ClientAlreadyLinked(_("This session already has a client code."))
    return session_client_link(
        session_id=session_id,
        user=user,
        client=client_services.client_with_random_code(),
        how="random",
        remember_number=remember_number,
    )


def session_client_returning(*, session_id: int, user: Any, client_id: int) -> Session:
    session = monitoring_services.session_for_action(session_id=session_id, user=user)
    # Only a client who agreed to be recognised by this very number can be linked this way.
    client = Client.objects.filter(pk=client_id, phone_index=session.client_phone_index).first()
    if client is None:
        raise ValueError(_("That client is not known by this number."))
    return session_client_link(
        session_id=session_id, user=user, client=client, how="returning", remember_number=True
    )


# -- plans ------------------------------------------------------------------------------------


class PlanRefused(Refused):
    """The plan cannot be saved as asked; `problems` says exactly why."""

    def __init__(self, message: str, problems: plans.Problems) -> None:
        super().__init__(message, problems=problems.as_json())
        self.problems = problems


def plan_read(*, session_id: int, user: Any) -> dict[str, Any]:
    """The plan panel's state. Reading a plan is reading personal data: it is recorded."""
    session = monitoring_services.session_for_action(session_id=session_id, user=user)
    PersonalDataAccess.objects.create(user=user, session=session, field="plan", at=timezone.now())
    return selectors.plan_state(session=session)


def _client_phone(session: Session) -> str:
    return session.client_phone


def plan_draft_save(*, session_id: int, user: Any, fields: plans.PlanFields) -> dict[str, Any]:
    """Keeps exactly what was typed, so a reload loses nothing. Returns what is still missing."""
    session = monitoring_services.session_for_action(session_id=session_id, user=user)
    now = timezone.now()
    PlanDraft.objects.update_or_create(
        session=session,
        defaults={"fields_json": json.dumps(fields.as_json()), "updated_at": now},
    )
    problems = plans.problems_find(fields, client_phone=_client_phone(session))
    return {"saved_at": now.isoformat(), "problems": problems.as_json()}


def _region_check(fields: plans.PlanFields) -> None:
    if (
        fields.region is not None
        and not Region.objects.filter(pk=fields.region, active=True).exists()
    ):
        raise plans.PlanInputError(_("Choose the region from the list."))


def _version_create(
    session: Session, fields: plans.PlanFields, *, status: str, user: Any, now: datetime
) -> PlanVersion:
    assert session.client is not None
    # Locking the client row numbers versions one after another, even from two sessions.
    Client.objects.select_for_update().filter(pk=session.client.pk).first()
    last = PlanVersion.objects.filter(client=session.client).aggregate(n=Max("number"))["n"]
    data = fields.as_json()
    contacts = data.pop("contacts")
    region_id = data.pop("region")
    version = PlanVersion.objects.create(
        client=session.client,
        number=(last or 0) + 1,
        status=status,
        created_at=now,
        created_by=user,
        session_id=session.pk,
        region_id=region_id,
        **data,
    )
    PlanContact.objects.bulk_create(
        PlanContact(version=version, position=i, **contact) for i, contact in enumerate(contacts)
    )
    return version


def _put_in_force(
    session: Session, version: PlanVersion, *, user: Any, now: datetime, reason: str
) -> None:
    PlanInForce.objects.create(session=session, version=version, since=now, actor=user)
    Session.objects.filter(pk=session.pk).update(plan_version=version)
    session.plan_version = version
    monitoring_services.session_language_set(session=session, language=version.language)
    monitoring_services.session_event(
        session,
        EventKind.PLAN_IN_FORCE,
        at=now,
        actor=user,
        version=version.number,
        status=version.status,
        reason=reason,
    )
    monitoring_services.session_publish(session)


def plan_version_save(
    *, session_id: int, user: Any, fields: plans.PlanFields, ready: bool
) -> Session:
    """A new version of the client's plan, in force for this session from now on."""
    invalid = plans.invalid_numbers(fields)
    if invalid.missing:
        raise PlanRefused(_("A phone number is not valid, so the plan was not saved."), invalid)
    _region_check(fields)
    fields = plans.numbers_normalized(fields)
    with transaction.atomic():
        session = monitoring_services.session_for_action(
            session_id=session_id, user=user, lock=True
        )
        problems = plans.problems_find(fields, client_phone=_client_phone(session))
        if ready and not problems.ready:
            message = _("The plan is not ready yet: it still needs a few things.")
            raise PlanRefused(message, problems)
        if session.client is None:
            # A plan belongs to a client: an easy random code keeps the person anonymous.
            session.client = client_services.client_with_random_code()
            Session.objects.filter(pk=session.pk).update(client=session.client)
        now = timezone.now()
        status = PlanStatus.READY if problems.ready else PlanStatus.INCOMPLETE
        version = _version_create(session, fields, status=status, user=user, now=now)
        _put_in_force(session, version, user=user, now=now, reason="saved")
        PlanDraft.objects.filter(session=session).delete()
        return session


def plan_reuse(*, session_id: int, user: Any, version_id: int) -> Session:
    """The client agreed to use their last plan again, unchanged."""
    with transaction.atomic():
        session = monitoring_services.session_for_action(
            session_id=session_id, user=user, lock=True
        )
        latest = selectors.plan_latest(client_id=session.client_id)
        if latest is None or latest.pk != version_id:
            raise monitoring_services.SessionConflict(
                _("That is no longer their latest plan. Reload the plan and ask again.")
            )
        if session.plan_version_id == latest.pk:
            return session
        _put_in_force(session, latest, user=user, now=timezone.now(), reason="reused")
        # What was typed before they agreed is replaced by the plan they chose.
        PlanDraft.objects.filter(session=session).delete()
        return session


def plan_confirm(*, session_id: int, user: Any, version_id: int) -> Session:
    """The operator read the plan back and the client said it is right."""
    with transaction.atomic():
        session = monitoring_services.session_for_action(
            session_id=session_id, user=user, lock=True
        )
        if session.plan_version_id != version_id:
            raise monitoring_services.SessionConflict(
                _("Only the plan in force can be confirmed. Reload the plan.")
            )
        now = timezone.now()
        confirmed = PlanVersion.objects.filter(pk=version_id, confirmed_at__isnull=True).update(
            confirmed_at=now, confirmed_by=user
        )
        if confirmed:
            session.plan_version = PlanVersion.objects.get(pk=version_id)
            number = session.plan_version.number
            monitoring_services.session_event(
                session, EventKind.PLAN_CONFIRMED, at=now, actor=user, version=number
            )
            monitoring_services.session_publish(session)
        return session

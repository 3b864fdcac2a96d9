from __future__ import annotations

from celery import shared_task

from dispatch import services


@shared_task(name="dispatch.tasks.send_outbound_sms")
def send_outbound_sms(outbound_id: int) -> None:
    services.outbound_sms_send(outbound_id=outbound_id)


@shared_task(name="dispatch.tasks.sweep_outbox")
def sweep_outbox() -> dict[str, int]:
    return services.outbox_sweep()


@shared_task(name="dispatch.tasks.escalation_step_due")
def escalation_step_due(step_id: int) -> str:
    from dispatch import escalation

    return escalation.step_due(step_id=step_id)


@shared_task(name="dispatch.tasks.place_outbound_call")
def place_outbound_call(call_id: int) -> None:
    from dispatch import calls

    calls.outbound_call_place(call_id=call_id)

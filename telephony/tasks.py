from __future__ import annotations

from celery import shared_task

from telephony import outbox


@shared_task(name=outbox.SEND_SMS_TASK)
def send_sms(outbound_id: int) -> None:
    outbox.sms_send(outbound_id=outbound_id)


@shared_task(name=outbox.PLACE_CALL_TASK)
def place_call(call_id: int) -> None:
    outbox.call_place(call_id=call_id)


@shared_task(name="telephony.tasks.sweep_outbox")
def sweep_outbox() -> dict[str, int]:
    return outbox.outbox_sweep()

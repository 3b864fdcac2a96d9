from __future__ import annotations

from celery import shared_task

from dispatch import escalation


@shared_task(name=escalation.STEP_DUE_TASK)
def escalation_step_due(step_id: int) -> str:
    return escalation.step_due(step_id=step_id)

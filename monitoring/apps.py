from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.contrib.auth import get_user_model
from django.db.models.signals import post_save, pre_save
from django.utils.translation import gettext_lazy as _

from nors.lib import realtime

# What a user's open dashboards depend on: a change to either closes them.
_AUTH_FIELDS = ("is_active", "password")


def _touches_auth(update_fields: Any) -> bool:
    return update_fields is None or bool(set(_AUTH_FIELDS) & set(update_fields))


def _user_remember_auth(
    sender: Any, instance: Any, update_fields: Any = None, **kwargs: Any
) -> None:
    # The stored row, not the instance: the instance may already carry the new values.
    if instance.pk is None or not _touches_auth(update_fields):
        return
    instance._nors_auth_before = (
        sender.objects.filter(pk=instance.pk).values_list(*_AUTH_FIELDS).first()
    )


def _user_close_sockets(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    before = instance.__dict__.pop("_nors_auth_before", None)
    if created or before is None:
        return
    if not instance.is_active or before[1] != instance.password:
        realtime.user_sockets_close(instance.pk)


class MonitoringConfig(AppConfig):
    name = "monitoring"
    verbose_name = _("Monitoring")

    def ready(self) -> None:
        # Registers what telephony tells sessions and check-ins (telephony.handlers).
        from monitoring import handlers  # noqa: F401

        user_model = get_user_model()
        pre_save.connect(_user_remember_auth, sender=user_model, dispatch_uid="nors-auth-before")
        post_save.connect(_user_close_sockets, sender=user_model, dispatch_uid="nors-auth-close")

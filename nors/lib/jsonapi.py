"""The dashboard's JSON actions: a JSON body in, a JSON answer out, whatever happens."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

JsonView = Callable[..., dict[str, Any]]


class Conflict(Exception):
    """The thing moved on before this action landed (another operator got there first)."""


class Refused(ValueError):
    """A request that cannot be carried out as asked, with details the page can show."""

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.details = details


def error(message: str, status: int, **details: Any) -> JsonResponse:
    return JsonResponse({"ok": False, "error": message, **details}, status=status)


# Every id is a 64-bit integer column: past it, SQLite raises OverflowError and PostgreSQL
# DataError where Django's own range check does not reach (foreign keys, inserts).
BIGGEST_ID = 2**63 - 1


class _OutOfRange(ValueError):
    pass


def _refuse_constant(name: str) -> float:
    # Python's json reads NaN and Infinity, which JSON itself does not have and no field takes.
    raise ValueError(f"{name} is not JSON")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e400 reads as infinity
        raise _OutOfRange(text)
    return value


def _integer(text: str) -> int:
    value = int(text)
    if not -BIGGEST_ID - 1 <= value <= BIGGEST_ID:
        raise _OutOfRange(text)
    return value


def _body(request: HttpRequest) -> dict[str, Any]:
    try:
        data = json.loads(
            request.body or b"{}",
            parse_constant=_refuse_constant,
            parse_float=_finite,
            parse_int=_integer,
        )
    except _OutOfRange:
        raise Refused(_("A number in the request is too large.")) from None
    except (ValueError, RecursionError):
        # RecursionError: nesting deeper than the parser's stack, a few kilobytes of brackets.
        raise Refused(_("The request was not valid JSON.")) from None
    if not isinstance(data, dict):
        raise Refused(_("The request was not valid JSON."))
    return data


def _answer(call: Callable[[], dict[str, Any]]) -> HttpResponse:
    try:
        result = call()
    except ObjectDoesNotExist:
        return error(_("That session does not exist."), 404)
    except PermissionDenied as exc:
        return error(str(exc) or _("You cannot do that."), 403)
    except Conflict as exc:
        return error(str(exc), 409)
    except Refused as exc:
        return error(str(exc), 400, **exc.details)
    except ValueError as exc:
        return error(str(exc), 400)
    return JsonResponse({"ok": True, **result})


def json_action(view: JsonView) -> Callable[..., HttpResponse]:
    """A POST with a JSON body about one session."""

    @require_POST
    @wraps(view)
    def wrapper(request: HttpRequest, session_id: int) -> HttpResponse:
        if not request.user.is_authenticated:
            return error(_("Please log in again."), 401)
        if session_id > BIGGEST_ID:
            return error(_("That session does not exist."), 404)
        try:
            data = _body(request)
        except RequestDataTooBig:
            return error(_("That is too much text to send at once."), 413)
        except Refused as exc:
            return error(str(exc), 400)
        return _answer(lambda: view(request, session_id, data))

    return wrapper


def json_read(view: JsonView) -> Callable[..., HttpResponse]:
    """A GET about one session, answered in JSON."""

    @require_GET
    @wraps(view)
    def wrapper(request: HttpRequest, session_id: int) -> HttpResponse:
        if not request.user.is_authenticated:
            return error(_("Please log in again."), 401)
        if session_id > BIGGEST_ID:
            return error(_("That session does not exist."), 404)
        return _answer(lambda: view(request, session_id))

    return wrapper

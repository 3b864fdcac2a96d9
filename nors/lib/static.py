"""The static files, answered in front of Django's middleware."""

from __future__ import annotations

from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
from django.core.exceptions import SuspiciousFileOperation
from django.http import FileResponse, Http404, HttpRequest


class StaticFiles(ASGIStaticFilesHandler):
    """Django's handler, except that a path out of the static folders is a 404, not a 500.

    The handler turns only Http404 into an answer. For `/static/..%2f..%2fnors%2fsettings.py`
    the finders refuse to leave their folder with SuspiciousFileOperation, which, this far out
    in front of the middleware, nothing else catches.
    """

    def serve(self, request: HttpRequest) -> FileResponse:
        try:
            return super().serve(request)
        except SuspiciousFileOperation as exc:
            raise Http404 from exc

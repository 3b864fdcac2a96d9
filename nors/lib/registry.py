"""A small registry of handlers: how a lower layer tells a higher one, without importing it.

The lower layer owns the registry and its keys; the apps above register their handlers in
`AppConfig.ready()`. Handlers run in the caller's transaction, in the order registered.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable
from typing import Any

Handler = Callable[..., Any]


class Registry:
    def __init__(self, name: str) -> None:
        self.name = name
        self._handlers: dict[Hashable, list[Handler]] = defaultdict(list)

    def register(self, *keys: Hashable) -> Callable[[Handler], Handler]:
        def decorate(handler: Handler) -> Handler:
            for key in keys:
                if handler not in self._handlers[key]:
                    self._handlers[key].append(handler)
            return handler

        return decorate

    def notify(self, key: Hashable, *args: Any, **kwargs: Any) -> list[Any]:
        return [handler(*args, **kwargs) for handler in self._handlers.get(key, [])]

    def handlers(self, key: Hashable) -> list[Handler]:
        return list(self._handlers.get(key, []))

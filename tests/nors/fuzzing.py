"""What the fuzz tests send: every route from the URLconf, and words the code itself looks for.

Both lists are read from the project, so a new endpoint, or a new field an endpoint reads, is
fuzzed without anyone adding it here.
"""

from __future__ import annotations

import ast
import inspect
import re
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver
from hypothesis import strategies as st

PROJECT = {"nors", "telephony", "clients", "monitoring", "dispatch"}
WORD = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,39}$")
CONVERTER = re.compile(r"<(?:(\w+):)?(\w+)>")


@dataclass(frozen=True)
class Route:
    route: str  # as written in the URLconf, e.g. "api/sessions/<int:session_id>/claim/"
    view: Callable[..., Any]

    def path(self, values: dict[str, Any]) -> str:
        return "/" + CONVERTER.sub(lambda m: str(values[m.group(2)]), self.route)

    @property
    def parameters(self) -> list[tuple[str, str]]:
        return [(m.group(1) or "str", m.group(2)) for m in CONVERTER.finditer(self.route)]


def _walk(patterns: list[Any], prefix: str) -> Iterator[Route]:
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern):
            yield Route(route, pattern.callback)


def routes(prefix: str) -> list[Route]:
    return sorted(
        (r for r in _walk(get_resolver().url_patterns, "") if r.route.startswith(prefix)),
        key=lambda r: r.route,
    )


def _project_modules(module: ModuleType) -> set[ModuleType]:
    """The module, and every project module it takes a name from."""
    found = {module}
    for value in vars(module).values():
        origin = value if inspect.ismodule(value) else inspect.getmodule(value)
        if origin is not None and origin.__name__.split(".")[0] in PROJECT:
            found.add(origin)
    return found


def _word(node: ast.AST) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and WORD.match(node.value):
        return node.value
    return None


def _strings(source: Any) -> set[str]:
    tree = ast.parse(textwrap.dedent(inspect.getsource(source)))
    return {word for node in ast.walk(tree) if (word := _word(node))}


def words(views: list[Callable[..., Any]]) -> list[str]:
    """Every word the views' modules (and the project modules they use) mention."""
    modules: set[ModuleType] = set()
    for view in views:
        module = inspect.getmodule(inspect.unwrap(view))
        if module is not None:
            modules |= _project_modules(module)
    return sorted(set().union(*(_strings(m) for m in modules)))


def _callees(function: Callable[..., Any]) -> Iterator[Callable[..., Any]]:
    """The project functions this one calls by name, as `helper(...)` or `module.helper(...)`."""
    scope = getattr(function, "__globals__", {})
    for node in ast.walk(ast.parse(textwrap.dedent(inspect.getsource(function)))):
        if not isinstance(node, ast.Call):
            continue
        target: Any = None
        if isinstance(node.func, ast.Name):
            target = scope.get(node.func.id)
        elif isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name):
            target = getattr(scope.get(node.func.value.id), node.func.attr, None)
        if inspect.isfunction(target) and target.__module__.split(".")[0] in PROJECT:
            yield target


def _reachable(view: Callable[..., Any], depth: int = 3) -> set[Any]:
    seen: set[Any] = set()
    layer = [inspect.unwrap(view)]
    for _ in range(depth):
        seen |= set(layer)
        layer = [c for f in layer for c in _callees(f) if c not in seen]
    return seen


SOURCES = {"data", "request", "request.POST", "request.GET"}


def _reads_data(node: ast.Call) -> bool:
    """`data.get("x")`, `request.POST.get("X")`, and helpers: `_int(data, "x")`."""
    on_data = isinstance(node.func, ast.Attribute) and ast.unparse(node.func.value) in SOURCES
    return on_data or any(ast.unparse(arg) in SOURCES for arg in node.args)


def fields(view: Callable[..., Any]) -> list[str]:
    """The names one view, and the project code it calls, read from the request."""
    found: set[str] = set()
    for function in _reachable(view):
        for node in ast.walk(ast.parse(textwrap.dedent(inspect.getsource(function)))):
            if isinstance(node, ast.Call) and _reads_data(node):
                found |= {word for a in node.args if (word := _word(a))}
    return sorted(found)


def reads(view: Callable[..., Any]) -> list[str]:
    """Every word one view, and the project code it calls, mentions."""
    return sorted(set().union(*(_strings(f) for f in _reachable(view))))


def path_values(route: Route, ids: list[int]) -> st.SearchStrategy[dict[str, Any]]:
    """Mostly rows that exist, sometimes any number at all (the database's range is finite)."""
    parts: dict[str, st.SearchStrategy[Any]] = {}
    for converter, name in route.parameters:
        if converter == "int":
            parts[name] = st.sampled_from(ids) | st.integers(min_value=0)
        else:
            parts[name] = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=1)
    return st.fixed_dictionaries(parts)

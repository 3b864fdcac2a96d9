"""The apps import one way: each only from the layers below it (README, "Layers")."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Lowest first. The project package (settings, urls, asgi) sits above them all.
LAYERS = [
    "nors.lib",
    "telephony",
    "clients",
    "monitoring",
    "dispatch",
    "voice",
    "supervision",
    "followup",
    "analytics",
]


def _layer(module: str) -> str | None:
    if module == "nors.lib" or module.startswith("nors.lib."):
        return "nors.lib"
    top = module.split(".")[0]
    return top if top in LAYERS else None


def _imports(path: Path) -> list[tuple[str, bool]]:
    """(module, inside a function) for every import in the file."""
    tree = ast.parse(path.read_text(), str(path))
    found: list[tuple[str, bool]] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            nested = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            if isinstance(child, ast.Import):
                found.extend((alias.name, in_function) for alias in child.names)
            elif isinstance(child, ast.ImportFrom) and child.module and not child.level:
                found.append((child.module, in_function))
            visit(child, nested)

    visit(tree, False)
    return found


def _files(layer: str) -> list[Path]:
    folder = ROOT / layer.replace(".", "/")
    files = [p for p in folder.rglob("*.py") if "migrations" not in p.parts]
    if layer == "nors":
        return []
    return files


@pytest.mark.parametrize("layer", LAYERS)
def test_each_app_imports_only_the_layers_below_it(layer: str) -> None:
    allowed = set(LAYERS[: LAYERS.index(layer) + 1])
    wrong = [
        f"{path.relative_to(ROOT)} imports {module}"
        for path in _files(layer)
        for module, _inside in _imports(path)
        if (target := _layer(module)) is not None and target not in allowed
    ]
    assert wrong == []


def test_first_party_imports_inside_functions_are_only_the_app_registrations() -> None:
    """A first-party import hidden in a function is how a circle hides; the only ones are the
    `ready()` imports that register an app's handlers."""
    hidden = [
        f"{path.relative_to(ROOT)} imports {module}"
        for layer in LAYERS
        for path in _files(layer)
        for module, inside in _imports(path)
        if inside and _layer(module) is not None and path.name != "apps.py"
    ]
    assert hidden == []


def test_the_layers_are_installed_in_their_order() -> None:
    from django.conf import settings

    ours = [app for app in settings.INSTALLED_APPS if app in LAYERS]
    assert ours == LAYERS[1:]

"""Imports between the apps point down (docs/architecture.md): read from the source, so an import made only inside
a function counts as much as one at the top of a module."""

import ast
from pathlib import Path

import pytest

APPS = Path(__file__).resolve().parents[1] / "apps"
# Lowest first: an app may import the apps before it in this list, never one after it.
LAYERS = ["core", "tenants", "accounts", "audit", "agents", "jobs", "agentic", "ops", "console"]
# The one arrow that is known to point up: the members of a tenant are listed with their sign-in identities.
KNOWN_UPWARD = {("tenants/selectors.py", "accounts")}


def _modules_imported(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            # `from apps import console` names the app in the alias, not in the module.
            names.update(f"{node.module}.{alias.name}" for alias in node.names if node.module == "apps")
    return names


def _apps_imported(path: Path) -> set[str]:
    return {name.split(".")[1] for name in _modules_imported(path) if name.startswith("apps.") and "." in name}


def _sources(app: str) -> list[Path]:
    return [path for path in sorted((APPS / app).rglob("*.py")) if "migrations" not in path.parts]


@pytest.mark.parametrize("app", ["core", "tenants", "accounts", "audit", "agents", "jobs"])
def test_no_module_of_a_lower_app_imports_the_console(app):
    sources = _sources(app)
    importing_console = [str(path.relative_to(APPS)) for path in sources if "console" in _apps_imported(path)]
    assert sources and importing_console == []


def test_each_app_imports_only_the_apps_below_it_but_for_the_known_arrow():
    upward = {
        (str(path.relative_to(APPS)), imported)
        for app in LAYERS
        for path in _sources(app)
        for imported in _apps_imported(path)
        if imported in LAYERS and LAYERS.index(imported) > LAYERS.index(app)
    }
    assert upward == KNOWN_UPWARD


def test_the_check_sees_an_import_of_the_console_in_each_of_its_forms(tmp_path):
    for line in ["from apps.console.models import X", "import apps.console.services", "from apps import console"]:
        module = tmp_path / "module.py"
        module.write_text(f"def later():\n    {line}\n")
        assert "console" in _apps_imported(module), line


def test_every_app_has_its_place_in_the_layers():
    assert sorted(path.parent.name for path in APPS.glob("*/apps.py")) == sorted(LAYERS)

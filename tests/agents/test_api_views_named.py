import ast
from pathlib import Path

import pytest
from django.urls import resolve

from apps.agents.api import views

APPS = Path(__file__).resolve().parents[2] / "apps"
KINDS = {"agents": "Agent", "tools": "Tool", "mcp-servers": "McpServer", "tokens": "Token"}


@pytest.mark.parametrize("segment", KINDS)
def test_each_path_of_a_kind_is_served_by_a_view_class_found_by_its_name(segment):
    base = f"/ai-service/acme/agentic/{segment}"
    for path, role, base_class in [
        (base, "List", views.ResourceListView),
        (f"{base}/search", "Search", views.ResourceSearchView),
        (f"{base}/some-id", "Detail", views.ResourceDetailView),
    ]:
        view_class = resolve(path).func.view_class
        assert view_class.__name__ == f"{KINDS[segment]}{role}View"
        assert getattr(views, view_class.__name__) is view_class
        assert issubclass(view_class, base_class) and issubclass(view_class, views.ResourceView)


def _imports(path):
    tree = ast.parse(path.read_text(), filename=str(path))
    return [node for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module]


def test_no_module_of_the_apps_imports_a_private_name_of_another_module():
    private = [
        f"{path.relative_to(APPS)}: {node.module}.{alias.name}"
        for path in APPS.rglob("*.py")
        for node in _imports(path)
        if node.module.startswith("apps.")
        for alias in node.names
        if alias.name.startswith("_") and not alias.name.startswith("__")
    ]
    assert private == []


def test_the_agents_domain_raises_its_own_errors_and_leaves_http_answers_to_the_api():
    domain = [path for path in (APPS / "agents").rglob("*.py") if "api" not in path.relative_to(APPS / "agents").parts]
    using_api_errors = [
        str(path.relative_to(APPS))
        for path in domain
        for node in _imports(path)
        if node.module == "apps.core.errors" and any(alias.name == "ApiError" for alias in node.names)
    ]
    assert domain and using_api_errors == []

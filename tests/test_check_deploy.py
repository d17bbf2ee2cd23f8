"""`manage.py check --deploy` with production settings (DEBUG off, HTTPS on, real keys): only the warnings explained
here are left, each a decision for the operator or for a later change, none about our own configuration."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.entry_points import bare_environment, good_keys, manage

# Left on purpose:
# - security.W005 / security.W021: HSTS for every subdomain, and the browsers' preload list, commit the operator's
#   whole domain to HTTPS; the console cannot know that is right, so it sends HSTS for its own host only.
EXPLAINED = {"security.W005", "security.W021"}


def check_deploy(tmp_path: Path, **variables: str) -> tuple[int, set[str], str]:
    production = {**good_keys(), "DJANGO_HTTPS": "true", "DJANGO_ALLOWED_HOSTS": "console.example.com", **variables}
    result = manage(bare_environment(tmp_path, **production), "check", "--deploy")
    output = result.stdout + result.stderr
    return result.returncode, set(re.findall(r"^\?: \(([\w.]+)\)", output, re.MULTILINE)), output


@pytest.fixture(scope="module")
def production_check(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, set[str], str]:
    return check_deploy(tmp_path_factory.mktemp("production"))


def test_check_deploy_with_production_settings_leaves_only_the_explained_warnings(
    production_check: tuple[int, set[str], str],
) -> None:
    returncode, found, output = production_check

    assert returncode == 0, output
    assert found == EXPLAINED, output


@pytest.mark.parametrize(
    "check",
    [
        "security.W004",  # HSTS
        "security.W008",  # SSL redirect
        "security.W009",  # a weak SECRET_KEY
        "security.W012",  # session cookie over HTTPS only
        "security.W016",  # CSRF cookie over HTTPS only
        "security.W018",  # DEBUG
        "security.W020",  # ALLOWED_HOSTS
        "oauth2_provider.W001",  # implicit grant
        "oauth2_provider.W002",  # password grant
        "oauth2_provider.W003",  # PKCE "plain"
        "oauth2_provider.W004",  # access tokens in a query string
        "oauth2_provider.W005",  # `iss` in authorization responses
    ],
)
def test_check_deploy_has_nothing_to_say_about_our_own_configuration(
    production_check: tuple[int, set[str], str], check: str
) -> None:
    _, found, output = production_check

    assert check not in found, output


def test_check_deploy_still_sees_a_deployment_without_https(tmp_path: Path) -> None:
    _, found, _ = check_deploy(tmp_path, DJANGO_HTTPS="false")

    assert {"security.W004", "security.W008", "security.W012", "security.W016"} <= found

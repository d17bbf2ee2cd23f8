"""The production shape (docker-compose.yml, Dockerfile, .dockerignore) ships no secret and no weak key. Docker is not
needed: the files are read as text and YAML, the way compose interpolates them."""

from __future__ import annotations

import fnmatch
import http.server
import json
import re
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.entry_points import BIN, bare_environment, run

ROOT = Path(__file__).resolve().parent.parent
SECRETS = (
    "DJANGO_SECRET_KEY",
    "EXPORT_SIGNING_KEY",
    "TOKEN_ENCRYPTION_KEYS",
    "API_CLIENT_SECRET_PEPPER",
    "POSTGRES_PASSWORD",
    "OIDC_CLIENT_SECRET",
    "KEYCLOAK_ADMIN_PASSWORD",
    "ACME_MACHINE_SECRET",
    "GLOBEX_MACHINE_SECRET",
    "METRICS_TOKEN",
)
# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?message}, ${NAME?message}, ${NAME:+alt}
REFERENCE = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P<operator>:?[-?+])?(?P<rest>[^}]*)\}")
SECRET_LOOKING = re.compile(r"(SECRET|PASSWORD|KEY|PEPPER|TOKEN)", re.IGNORECASE)


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return loaded


def secret_looking_environment() -> list[tuple[str, str, str]]:
    """(service, variable, value) for every environment entry of every service whose name says it is a secret."""
    found = []
    for service, definition in compose()["services"].items():
        for name, value in (definition.get("environment") or {}).items():
            if SECRET_LOOKING.search(name):
                found.append((service, name, str(value)))
    return found


def test_the_compose_file_is_valid_yaml_with_the_application_services() -> None:
    assert {"postgres", "redis", "keycloak", "migrate", "web", "worker", "beat"} <= set(compose()["services"])


@pytest.mark.parametrize("secret", SECRETS)
def test_every_secret_is_required_with_an_explanation_and_has_no_default(secret: str) -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    references = [match for match in REFERENCE.finditer(text) if match["name"] == secret]

    assert references, f"{secret} is not read from the environment"
    for match in references:
        assert match["operator"] == ":?", f"{match[0]} must be ${{{secret}:?...}}"
        assert "python3 -c" in match["rest"], f"{match[0]} must say how to make one"


def test_the_application_services_get_all_four_keys_from_the_environment() -> None:
    for service in ("migrate", "web", "worker", "beat"):
        variables = compose()["services"][service]["environment"]
        for name in ("DJANGO_SECRET_KEY", "EXPORT_SIGNING_KEY", "TOKEN_ENCRYPTION_KEYS", "API_CLIENT_SECRET_PEPPER"):
            assert variables[name].startswith(f"${{{name}:?"), (service, name)


@pytest.mark.parametrize(("service", "name", "value"), secret_looking_environment())
def test_no_secret_looking_variable_has_a_literal_value_or_a_default(service: str, name: str, value: str) -> None:
    reference = REFERENCE.fullmatch(value)

    assert reference, f"{service}.{name} is a literal: {value!r}"
    assert reference["operator"] == ":?"


def test_the_database_url_takes_its_password_from_the_required_variable() -> None:
    url = compose()["services"]["web"]["environment"]["DATABASE_URL"]

    assert url.startswith("postgres://postgres:${POSTGRES_PASSWORD:?")


def test_the_realm_import_takes_every_client_secret_from_the_environment() -> None:
    realm = json.loads((ROOT / "docker" / "keycloak" / "ai-realm.json").read_text())

    secrets = {client["clientId"]: client.get("secret") for client in realm["clients"] if client.get("secret")}

    assert secrets == {
        "ai-console": "${OIDC_CLIENT_SECRET}",
        "acme-machine": "${ACME_MACHINE_SECRET}",
        "globex-machine": "${GLOBEX_MACHINE_SECRET}",
    }


APPLICATION = ("migrate", "web", "worker", "beat")


def test_the_image_is_built_once_and_every_application_service_runs_it_by_name() -> None:
    services = compose()["services"]
    builders = [name for name, definition in services.items() if "build" in definition]
    image = services["migrate"]["image"]

    assert builders == ["migrate"]
    assert all(services[name]["image"] == image for name in APPLICATION)
    # Never looked for in a registry: a missing image is an error, not a pull of someone else's.
    assert all(services[name]["pull_policy"] == "never" for name in ("web", "worker", "beat"))


def test_a_one_shot_migrate_service_runs_the_migrations_once_the_database_is_healthy() -> None:
    migrate = compose()["services"]["migrate"]

    assert migrate["command"] == "python manage.py migrate --noinput"
    assert migrate["restart"] == "no"
    assert migrate["depends_on"]["postgres"] == {"condition": "service_healthy"}
    assert "healthcheck" not in migrate and "ports" not in migrate


@pytest.mark.parametrize("service", ["web", "worker", "beat"])
def test_the_long_running_services_start_only_after_the_migrations_have_finished(service: str) -> None:
    definition = compose()["services"][service]

    assert definition["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
    assert definition["depends_on"]["postgres"] == {"condition": "service_healthy"}
    assert definition["depends_on"]["redis"] == {"condition": "service_healthy"}
    assert "migrate" not in definition["command"]  # nobody else migrates


def test_the_web_service_is_healthy_when_readyz_answers() -> None:
    check = compose()["services"]["web"]["healthcheck"]
    command = " ".join(check["test"])

    assert check["test"][0] == "CMD"
    assert "http://127.0.0.1:8000/readyz" in command
    # urlopen raises on a 503, so an unready web is unhealthy; the probe's own timeout is within Docker's.
    assert "urlopen(" in command and "timeout=3" in command
    assert _seconds(check["timeout"]) > 3


def test_the_worker_is_healthy_when_it_answers_a_ping_through_the_broker() -> None:
    check = compose()["services"]["worker"]["healthcheck"]

    assert check["test"][0] == "CMD-SHELL"
    # $$ is compose's escape: the shell in the container sees $HOSTNAME, the worker's default node name.
    assert check["test"][1] == "celery --app config inspect ping --destination celery@$$HOSTNAME --timeout 5"
    assert _seconds(check["timeout"]) > 5


def test_the_web_healthcheck_command_fails_on_a_503_and_passes_on_a_200() -> None:
    """The healthcheck's Python, run against a tiny server answering what /readyz would."""
    status = {"code": 503}

    class Readyz(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(status["code"] if self.path == "/readyz" else 404)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Readyz)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    code = compose()["services"]["web"]["healthcheck"]["test"][3].replace("8000", str(server.server_port))
    try:
        unready = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=30)
        status["code"] = 200
        ready = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=30)
    finally:
        server.shutdown()

    assert unready.returncode != 0
    assert ready.returncode == 0, ready.stderr


def _seconds(duration: str) -> float:
    match = re.fullmatch(r"(\d+)s", duration)
    assert match, duration
    return float(match[1])


# --- Dockerfile ------------------------------------------------------------------------------------------------------


def test_the_image_build_uses_a_throwaway_random_set_of_keys_for_collectstatic_only() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()

    assert "DJANGO_SECRET_KEY=" not in dockerfile
    assert not re.search(r"^\s*(ENV|ARG)\b.*(SECRET|KEY|PEPPER)", dockerfile, re.MULTILINE)
    assert "env $(python -m config.keys new) python manage.py collectstatic" in dockerfile


# --- .dockerignore ---------------------------------------------------------------------------------------------------


def ignored(path: str) -> bool:
    """Whether the build context leaves `path` out, by the last matching pattern (`!` re-includes)."""
    result = False
    for line in (ROOT / ".dockerignore").read_text().splitlines():
        pattern = line.strip()
        if not pattern or pattern.startswith("#"):
            continue
        negated = pattern.startswith("!")
        pattern = pattern.lstrip("!").rstrip("/")
        candidates = [path, *(str(Path(*Path(path).parts[:i])) for i in range(1, len(Path(path).parts)))]
        if any(_matches(pattern, candidate) for candidate in candidates):
            result = not negated
    return result


def _matches(pattern: str, path: str) -> bool:
    if pattern.startswith("**/"):
        return any(
            fnmatch.fnmatchcase("/".join(Path(path).parts[i:]), pattern[3:]) for i in range(len(Path(path).parts))
        )
    # Docker matches root-relative: "*" does not cross a "/".
    return fnmatch.fnmatchcase(path, pattern) and path.count("/") == pattern.count("/")


@pytest.mark.parametrize(
    "path",
    [
        ".venv/bin/python",
        "var/local.env",
        "var/db.sqlite3",
        ".env",
        ".env.production",
        ".git/config",
        "tests/oidc/node_modules/oidc-provider/package.json",
        "client.json",
        "stage.json",
        "export.json",
    ],
)
def test_the_image_leaves_out_local_state_secrets_and_client_files(path: str) -> None:
    assert ignored(path)


@pytest.mark.parametrize(
    "path", ["manage.py", "config/settings/base.py", "apps/jobs/models.py", "static/console/console.css"]
)
def test_the_image_keeps_the_application(path: str) -> None:
    assert not ignored(path)


def test_the_image_build_step_collects_the_static_files_with_no_key_configured(tmp_path: Path) -> None:
    build_step = re.search(
        r"&& (env \$\(python -m config\.keys new\) python manage\.py collectstatic[^\n]*)",
        (ROOT / "Dockerfile").read_text(),
    )
    assert build_step
    environment = bare_environment(tmp_path)
    environment["PATH"] = f"{BIN}:{environment['PATH']}"  # `python` is the image's, here the project's

    result = run(["sh", "-c", build_step.group(1)], environment)

    assert result.returncode == 0, result.stderr
    assert (tmp_path / "var" / "static" / "console" / "console.css").exists()
    assert not (tmp_path / "var" / "local.env").exists()  # the throwaway keys are kept nowhere


@pytest.mark.parametrize(
    "name", ["DJANGO_SECRET_KEY", "EXPORT_SIGNING_KEY", "TOKEN_ENCRYPTION_KEYS", "API_CLIENT_SECRET_PEPPER"]
)
def test_the_example_configuration_suggests_no_value_for_a_key(name: str) -> None:
    lines = [line for line in (ROOT / ".env.example").read_text().splitlines() if re.match(rf"^#?\s*{name}=", line)]

    assert lines == [f"# {name}="]

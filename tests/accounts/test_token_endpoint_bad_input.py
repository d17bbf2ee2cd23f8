"""`POST /oauth/token` answers every malformed request with a 4xx in its error shape (OAuth2's `error` and
`error_description`, with the API's `code`, `status` and `message`), never a 5xx: NUL bytes, lone surrogates, other
grant types (device code included), huge bodies, too many or repeated fields."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import pytest
from django.test import Client
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from apps.accounts.services import IssuedClient
from apps.tenants.models import Tenant
from tests.conftest import READ

TOKEN_URL = "/oauth/token"
FORM = "application/x-www-form-urlencoded"


@pytest.fixture
def issued(tenant: Tenant, issue_client: Callable[..., IssuedClient]) -> IssuedClient:
    return issue_client(tenant, READ)


@pytest.fixture(autouse=True)
def no_rate_limits(settings: Any) -> None:
    # These tests send many requests from one address; the limits have their own tests.
    settings.OAUTH_TOKEN_RATE_PER_CLIENT = settings.OAUTH_TOKEN_RATE_PER_ADDRESS = "100000/m"


def _encode(fields: list[tuple[str, str]]) -> bytes:
    """A form body as a client could send it, lone surrogates and all (encoded as their UTF-8-like bytes)."""
    return "&".join(
        f"{quote(name.encode('utf-8', 'surrogatepass'))}={quote(value.encode('utf-8', 'surrogatepass'))}"
        for name, value in fields
    ).encode()


def _post_raw(body: bytes, **headers: str) -> Any:
    return Client(raise_request_exception=False).post(TOKEN_URL, body, content_type=FORM, **headers)


def _assert_error_shape(response: Any, status: int, error: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.content[:300]
    body: dict[str, Any] = response.json()
    assert body["code"] == status
    assert body["status"] and body["message"] == body["error_description"]
    if error is not None:
        assert body["error"] == error
    assert "access_token" not in body
    return body


@pytest.mark.parametrize("field", ["client_id", "client_secret", "grant_type", "scope"])
def test_it_answers_400_for_a_nul_byte_in_a_field(issued: IssuedClient, field: str) -> None:
    fields = {
        "grant_type": "client_credentials",
        "client_id": issued.client.client_id,
        "client_secret": issued.client_secret,
        "scope": READ,
    }
    fields[field] = fields[field][:4] + "\x00" + fields[field][4:]

    body = _assert_error_shape(_post_raw(_encode(list(fields.items()))), 400, "invalid_request")
    assert field in body["message"]


def test_it_answers_400_for_a_nul_byte_in_an_unknown_client_id(db: Any) -> None:
    fields = [("grant_type", "client_credentials"), ("client_id", "a\x00b"), ("client_secret", "x")]

    _assert_error_shape(_post_raw(_encode(fields)), 400, "invalid_request")


def test_a_lone_surrogate_in_the_client_id_is_an_unknown_client(db: Any) -> None:
    fields = [("grant_type", "client_credentials"), ("client_id", "\ud800"), ("client_secret", "x")]

    _assert_error_shape(_post_raw(_encode(fields)), 401, "invalid_client")


@pytest.mark.parametrize(
    "credentials",
    [b"\xed\xa0\x80:secret", b"\xff\xfe:secret"],
    ids=["lone-surrogate", "not-utf8"],
)
def test_it_answers_401_for_basic_credentials_that_are_not_utf8(db: Any, credentials: bytes) -> None:
    basic = base64.b64encode(credentials).decode()

    response = _post_raw(b"grant_type=client_credentials", HTTP_AUTHORIZATION=f"Basic {basic}")

    _assert_error_shape(response, 401, "invalid_client")


def test_it_answers_400_for_a_nul_byte_in_basic_credentials(issued: IssuedClient) -> None:
    basic = base64.b64encode(f"{issued.client.client_id}%00:{issued.client_secret}".encode()).decode()

    response = _post_raw(b"grant_type=client_credentials", HTTP_AUTHORIZATION=f"Basic {basic}")

    _assert_error_shape(response, 400, "invalid_request")


def test_it_answers_401_for_basic_credentials_that_are_not_base64(db: Any) -> None:
    response = _post_raw(b"grant_type=client_credentials", HTTP_AUTHORIZATION="Basic %%%not-base64")

    _assert_error_shape(response, 401, "invalid_client")


@pytest.mark.parametrize("with_device_code", [False, True])
def test_it_answers_400_for_the_device_code_grant(issued: IssuedClient, with_device_code: bool) -> None:
    fields = [
        ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
        ("client_id", issued.client.client_id),
        ("client_secret", issued.client_secret),
    ]
    if with_device_code:
        fields.append(("device_code", "abc"))

    _assert_error_shape(_post_raw(_encode(fields)), 400, "unsupported_grant_type")


@pytest.mark.parametrize(
    "grant_type",
    ["password", "authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:jwt-bearer", ""],
)
def test_it_answers_400_for_any_other_grant_type(issued: IssuedClient, grant_type: str) -> None:
    fields = [
        ("grant_type", grant_type),
        ("client_id", issued.client.client_id),
        ("client_secret", issued.client_secret),
        ("device_code", "x"),
    ]

    _assert_error_shape(_post_raw(_encode(fields)), 400, "unsupported_grant_type")


def test_it_answers_400_without_any_field(db: Any) -> None:
    _assert_error_shape(_post_raw(b""), 400, "unsupported_grant_type")


@pytest.mark.parametrize("size", [20_000, 3_000_000])
def test_it_answers_413_for_a_huge_body(issued: IssuedClient, size: int) -> None:
    body = _encode([("grant_type", "client_credentials"), ("client_id", issued.client.client_id)])
    body += b"&client_secret=" + b"x" * size

    body_json = _assert_error_shape(_post_raw(body), 413, "invalid_request")
    assert "bytes" in body_json["message"]


def test_it_answers_400_for_too_many_fields(db: Any) -> None:
    body = b"grant_type=client_credentials&" + b"&".join(b"f%d=1" % n for n in range(1001))

    _assert_error_shape(_post_raw(body), 400, "invalid_request")


@pytest.mark.parametrize("field", ["client_id", "client_secret", "grant_type", "scope"])
def test_it_answers_400_for_a_repeated_field_naming_it(issued: IssuedClient, field: str) -> None:
    fields = [
        ("grant_type", "client_credentials"),
        ("client_id", issued.client.client_id),
        ("client_secret", issued.client_secret),
        ("scope", READ),
    ]
    fields.append(next(pair for pair in fields if pair[0] == field))

    body = _assert_error_shape(_post_raw(_encode(fields)), 400, "invalid_request")
    assert body["message"] == f"{field} is given more than once."


def test_a_field_longer_than_the_limit_answers_400(issued: IssuedClient) -> None:
    fields = [("grant_type", "client_credentials"), ("client_id", "c" * 2000), ("client_secret", "x")]

    _assert_error_shape(_post_raw(_encode(fields)), 400, "invalid_request")


def test_the_toolkits_own_errors_carry_the_api_fields_too(issued: IssuedClient) -> None:
    fields = [
        ("grant_type", "client_credentials"),
        ("client_id", issued.client.client_id),
        ("client_secret", "wrong"),
    ]

    body = _assert_error_shape(_post_raw(_encode(fields)), 401, "invalid_client")
    assert body["status"] == "Unauthorized"


# --- property: no 5xx whatever the fields hold ----------------------------------------------------------------------

# Text with everything that broke the endpoint before: NUL and other controls, lone surrogates, non-ASCII.
hostile_text = st.text(
    alphabet=st.one_of(
        st.sampled_from(["\x00", "\ud800", "\udfff", "\x7f", "%", "&", "=", "+", ":", " "]),
        st.characters(codec="utf-8"),
        st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF),
    ),
    max_size=40,
)
GRANTS = ["client_credentials", "urn:ietf:params:oauth:grant-type:device_code", "password", "refresh_token"]
NAMES = ["grant_type", "client_id", "client_secret", "scope", "device_code", "code", "username"]


@pytest.mark.django_db
@hypothesis_settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    fields=st.lists(
        st.tuples(
            st.sampled_from(NAMES),
            st.one_of(hostile_text, st.sampled_from([*GRANTS, "REAL_ID", "REAL_SECRET", READ])),
        ),
        max_size=6,
    ),
    basic=st.one_of(st.none(), st.tuples(hostile_text, hostile_text), st.binary(max_size=30)),
)
def test_no_token_request_gets_a_5xx(
    issued: IssuedClient, fields: list[tuple[str, str]], basic: tuple[str, str] | bytes | None
) -> None:
    real = {"REAL_ID": issued.client.client_id, "REAL_SECRET": issued.client_secret}
    form = [(name, real.get(value, value)) for name, value in fields]
    headers: dict[str, str] = {}
    if isinstance(basic, tuple):
        pair = f"{basic[0]}:{basic[1]}".encode("utf-8", "surrogatepass")
        headers["HTTP_AUTHORIZATION"] = "Basic " + base64.b64encode(pair).decode()
    elif isinstance(basic, bytes):
        headers["HTTP_AUTHORIZATION"] = "Basic " + base64.b64encode(basic).decode()

    response = _post_raw(_encode(form), **headers)

    assert response.status_code < 500, response.content[:300]
    if response.status_code >= 400:
        body = response.json()
        assert body["code"] == response.status_code and "error" in body

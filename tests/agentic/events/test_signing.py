"""Standard Webhooks signatures (apps/agentic/events/signing.py), checked against the tests' own sender."""

from __future__ import annotations

import base64

import pytest

from apps.agentic.events import signing
from apps.agentic.events.signing import SignatureError, SignedHeaders
from tests.agentic.events.conftest import sign

BODY = b'{"id":"evt-1","event":"order.order-created","payload":{}}'
NOW = 1_780_000_000


def test_a_new_secret_is_whsec_and_the_base64_of_32_random_bytes() -> None:
    secret = signing.secret_new()

    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    assert signing.secret_new() != secret


def test_the_signature_is_what_any_standard_webhooks_sender_computes() -> None:
    secret = signing.secret_new()

    assert signing.signature(secret, "msg_1", NOW, BODY) == sign(secret, "msg_1", NOW, BODY)["webhook-signature"]


def test_the_signature_of_the_standards_own_example_is_reproduced() -> None:
    # The worked example of the Standard Webhooks specification (its test vector), computed independently here.
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"test": 2432232314}'

    assert signing.signature(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body) == (
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    )


@pytest.mark.parametrize("secret", ["MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_not base64!", "whsec_"])
def test_a_secret_that_is_not_whsec_and_base64_is_refused(secret: str) -> None:
    with pytest.raises(ValueError):
        signing.secret_key(secret)


def test_the_headers_are_read_with_every_v1_signature_and_no_other_version() -> None:
    signed = signing.headers_read(
        {"webhook-id": "msg_1", "webhook-timestamp": str(NOW), "webhook-signature": "v1,AAA= v1a,BBB= v1,CCC="}
    )

    assert signed == SignedHeaders(webhook_id="msg_1", timestamp=NOW, signatures=("AAA=", "CCC="))


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_a_missing_header_is_named(missing: str) -> None:
    headers = {"webhook-id": "msg_1", "webhook-timestamp": str(NOW), "webhook-signature": "v1,AAA="}
    del headers[missing]

    with pytest.raises(SignatureError, match=missing):
        signing.headers_read(headers)


@pytest.mark.parametrize("timestamp", ["soon", "-5", "1.5", "1e9", "\uff11\uff12\uff13", "9" * 13])
def test_a_timestamp_that_is_not_whole_seconds_is_refused(timestamp: str) -> None:
    headers = {"webhook-id": "msg_1", "webhook-timestamp": timestamp, "webhook-signature": "v1,AAA="}

    with pytest.raises(SignatureError, match="whole seconds"):
        signing.headers_read(headers)


@pytest.mark.parametrize("offset", [-300, 0, 300])
def test_a_timestamp_within_the_tolerance_either_way_is_fresh(offset: int) -> None:
    signing.freshness_check(SignedHeaders("msg_1", NOW + offset, ()), now=NOW, tolerance=300)


@pytest.mark.parametrize(("offset", "words"), [(-301, "too old"), (301, "from the future")])
def test_a_timestamp_beyond_the_tolerance_either_way_is_refused(offset: int, words: str) -> None:
    with pytest.raises(SignatureError, match=words):
        signing.freshness_check(SignedHeaders("msg_1", NOW + offset, ()), now=NOW, tolerance=300)


def _signed(secret: str, *, body: bytes = BODY, webhook_id: str = "msg_1") -> SignedHeaders:
    return signing.headers_read(sign(secret, webhook_id, NOW, body))


def test_a_delivery_signed_with_a_valid_secret_passes() -> None:
    old, new = signing.secret_new(), signing.secret_new()

    signing.signature_check(_signed(old), BODY, [new, old])
    signing.signature_check(_signed(new), BODY, [new, old])


def test_any_one_of_several_signatures_may_match() -> None:
    secret, other = signing.secret_new(), signing.secret_new()
    headers = sign(other, "msg_1", NOW, BODY)
    headers["webhook-signature"] += " " + sign(secret, "msg_1", NOW, BODY)["webhook-signature"]

    signing.signature_check(signing.headers_read(headers), BODY, [secret])


@pytest.mark.parametrize(
    "tamper",
    ["another secret", "another body", "another id", "another timestamp", "no secret at all"],
)
def test_a_signature_over_anything_else_fails(tamper: str) -> None:
    secret = signing.secret_new()
    signed = _signed(secret)
    body, secrets = BODY, [secret]
    if tamper == "another secret":
        secrets = [signing.secret_new()]
    elif tamper == "another body":
        body = BODY.replace(b"created", b"deleted")
    elif tamper == "another id":
        signed = SignedHeaders("msg_2", signed.timestamp, signed.signatures)
    elif tamper == "another timestamp":
        signed = SignedHeaders(signed.webhook_id, signed.timestamp + 1, signed.signatures)
    else:
        secrets = []

    with pytest.raises(SignatureError, match="No signature of the delivery matches"):
        signing.signature_check(signed, body, secrets)

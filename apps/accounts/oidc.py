"""Console sign-in with the company's OpenID provider (mozilla-django-oidc, authorization code flow with PKCE).

What the library leaves out, done here:
- the provider's endpoints come from its discovery document (cached), so an operator sets only the issuer and
  the client's credentials;
- the ID token is verified with PyJWT against the provider's JWKS: signature with the pinned algorithm, `iss`,
  `aud`, `exp` and the nonce — the library checks only the signature and the nonce. The document and the keys are
  fetched and cached by apps/accounts/provider_keys.py, as for the API's JWTs;
- users are matched on (issuer, `sub`), and their tenant memberships and roles follow the provider's claims at
  every sign-in.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import jwt
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ImproperlyConfigured, SuspiciousOperation
from django.db import transaction
from django.http import HttpRequest
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from apps.accounts.models import OidcIdentity
from apps.accounts.provider_keys import KeysUnavailable, ProviderConfig, ProviderKeys
from apps.tenants.models import Membership, Tenant

logger = logging.getLogger(__name__)

# mozilla-django-oidc setting -> the discovery document's key for it.
DISCOVERED = {
    "OIDC_OP_AUTHORIZATION_ENDPOINT": "authorization_endpoint",
    "OIDC_OP_TOKEN_ENDPOINT": "token_endpoint",
    "OIDC_OP_USER_ENDPOINT": "userinfo_endpoint",
    "OIDC_OP_JWKS_ENDPOINT": "jwks_uri",
    "OIDC_OP_END_SESSION_ENDPOINT": "end_session_endpoint",
}
DISCOVERY_CACHE_SECONDS = 3600  # the discovery document and the key set are fetched once an hour at most


def _provider() -> ProviderKeys:
    return ProviderKeys.for_config(
        ProviderConfig(
            issuer=_issuer(),
            jwks_url=settings.OIDC_OP_JWKS_ENDPOINT or "",
            algorithms=(settings.OIDC_RP_SIGN_ALGO,),
            cache_seconds=DISCOVERY_CACHE_SECONDS,
            discovery_url=settings.OIDC_DISCOVERY_URL or "",
            timeout=settings.OIDC_TIMEOUT,
        )
    )


def discovery() -> dict[str, Any]:
    """The provider's discovery document, fetched once an hour at most."""
    try:
        return _provider().document()
    except KeysUnavailable as exc:
        raise ImproperlyConfigured(f"The provider's discovery document cannot be had: {exc}") from None


def discovered() -> dict[str, Any]:
    """The discovery document as last fetched, or {}: never a call to the provider."""
    if not settings.OIDC_OP_ISSUER:
        return {}
    return _provider().cached_document() or {}


def _issuer() -> str:
    issuer = settings.OIDC_OP_ISSUER
    if not issuer:
        raise ImproperlyConfigured("OIDC_ISSUER is not set")
    return str(issuer)


def oidc_setting(name: str, *default: Any) -> Any:
    """A mozilla-django-oidc setting; endpoints not set explicitly come from discovery."""
    if getattr(settings, name, None) is None and name in DISCOVERED:
        value = discovery().get(DISCOVERED[name])
        if value is not None:
            return value
    if hasattr(settings, name) and getattr(settings, name) is not None:
        return getattr(settings, name)
    if default:
        return default[0]
    raise ImproperlyConfigured(f"Setting {name} not found")


@dataclass(frozen=True)
class ConsoleRoles:
    platform_admin: bool = False
    tenants: dict[str, str] = field(default_factory=dict)  # tenant name -> Membership.Role value


def roles_from_claims(claims: dict[str, Any]) -> ConsoleRoles:
    """Roles from the claim named OIDC_ROLES_CLAIM: a list such as ["platform_admin", "acme:manager",
    "globex:viewer"], or an object {"acme": "manager"}. Unknown roles are ignored; of two roles for one tenant
    the stronger wins."""
    value = claims.get(settings.OIDC_ROLES_CLAIM)
    pairs: list[tuple[str, str]] = []
    admin = False
    if isinstance(value, dict):
        pairs = [(str(tenant), str(role)) for tenant, role in value.items()]
    elif isinstance(value, list | str):
        for item in [value] if isinstance(value, str) else value:
            text = str(item).strip()
            if text == settings.OIDC_PLATFORM_ADMIN_ROLE:
                admin = True
            elif ":" in text:
                tenant, role = text.rsplit(":", 1)
                pairs.append((tenant.strip(), role.strip()))
    tenants: dict[str, str] = {}
    for tenant, role in pairs:
        if role in Membership.Role.values and tenants.get(tenant) != Membership.Role.MANAGER:
            tenants[tenant] = role
    return ConsoleRoles(platform_admin=admin, tenants=tenants)


class ConsoleOidcBackend(OIDCAuthenticationBackend):  # type: ignore[misc]  # the library is untyped
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Deliberately lazy: Django builds every backend for every sign-in, the password one included, and the
        # provider need not be reachable for that.
        from django.contrib.auth import get_user_model

        self.UserModel = get_user_model()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("OIDC_"):
            return oidc_setting(name, None) if name != "OIDC_RP_SIGN_ALGO" else settings.OIDC_RP_SIGN_ALGO
        raise AttributeError(name)

    @staticmethod
    def get_settings(attr: str, *args: Any) -> Any:
        return oidc_setting(attr, *args)

    def verify_token(self, token: str, **kwargs: Any) -> dict[str, Any]:
        key = _signing_key(token)
        try:
            payload: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[settings.OIDC_RP_SIGN_ALGO],
                audience=settings.OIDC_RP_CLIENT_ID,
                issuer=settings.OIDC_OP_ISSUER,
                leeway=30,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except jwt.PyJWTError as exc:
            raise SuspiciousOperation(f"ID token refused: {exc}") from None
        if payload.get("nonce") != kwargs.get("nonce"):
            raise SuspiciousOperation("ID token refused: the nonce does not match this sign-in.")
        _check_authorized_party(payload)
        return payload

    def get_user(self, user_id: Any) -> Any:
        # The library's get_user ignores is_active: a user deactivated here would keep the session they opened at
        # the provider. Refuse them at every request, as Django's ModelBackend does.
        user = super().get_user(user_id)
        return user if user is not None and user.is_active else None

    def get_or_create_user(self, access_token: str, id_token: str, payload: dict[str, Any]) -> Any:
        userinfo = self.get_userinfo(access_token, id_token, payload)
        if userinfo.get("sub") != payload.get("sub"):
            raise SuspiciousOperation("The provider's userinfo is about another subject than the ID token.")
        return user_sign_in(issuer=_issuer(), claims={**userinfo, **payload})


def _signing_key(token: str) -> jwt.PyJWK:
    """The provider's key that signed this ID token, for the pinned algorithm only."""
    try:
        kid = jwt.get_unverified_header(token).get("kid")
    except jwt.PyJWTError as exc:
        raise SuspiciousOperation(f"ID token refused: {exc}") from None
    try:
        key = _provider().key(kid, settings.OIDC_RP_SIGN_ALGO) if isinstance(kid, str) else None
    except KeysUnavailable:
        raise SuspiciousOperation("ID token refused: the provider's keys cannot be fetched.") from None
    if key is None:
        raise SuspiciousOperation("ID token refused: it is not signed with a key the provider publishes.")
    return key


def _check_authorized_party(payload: dict[str, Any]) -> None:
    """OpenID Connect Core 3.1.3.7: a token for several audiences must name this console as the party it was issued
    to (`azp`), and an `azp` that is present must be this console. Otherwise a token the provider issued to another
    client that merely lists us as an audience would sign someone in here."""
    audiences = payload["aud"] if isinstance(payload["aud"], list) else [payload["aud"]]
    azp = payload.get("azp")
    if azp is None and len(audiences) > 1:
        raise SuspiciousOperation("ID token refused: it has several audiences and no azp naming this console.")
    if azp is not None and azp != settings.OIDC_RP_CLIENT_ID:
        raise SuspiciousOperation("ID token refused: it was issued to another client (azp).")


def user_sign_in(*, issuer: str, claims: dict[str, Any]) -> AbstractBaseUser:
    """The console user for these verified claims, created on first sign-in; names, flags and memberships are
    brought in line with the claims every time."""
    from django.contrib.auth import get_user_model

    user_model = get_user_model()
    roles = roles_from_claims(claims)
    with transaction.atomic():
        identity = OidcIdentity.objects.select_related("user").filter(issuer=issuer, subject=claims["sub"]).first()
        user = identity.user if identity else user_model(username=_free_username(claims))
        user.email = str(claims.get("email", ""))[:254]
        user.first_name = str(claims.get("given_name", ""))[:150]
        user.last_name = str(claims.get("family_name", ""))[:150]
        user.is_staff = roles.platform_admin or bool(roles.tenants)
        user.is_superuser = roles.platform_admin
        user.set_unusable_password()  # signs in at the provider only
        user.save()
        if identity is None:
            identity = OidcIdentity(user=user, issuer=issuer, subject=claims["sub"])
        identity.last_login_claims = claims
        identity.save()
        _sync_memberships(user, roles)
    return user


def _sync_memberships(user: Any, roles: ConsoleRoles) -> None:
    known = {tenant.name: tenant for tenant in Tenant.objects.filter(name__in=list(roles.tenants))}
    unknown = sorted(set(roles.tenants) - known.keys())
    if unknown:
        logger.info("Claims of %s name tenants this console does not have: %s", user.username, ", ".join(unknown))
    Membership.objects.filter(user=user).exclude(tenant__name__in=list(known)).delete()
    for name, tenant in known.items():
        Membership.objects.update_or_create(user=user, tenant=tenant, defaults={"role": roles.tenants[name]})


def _free_username(claims: dict[str, Any]) -> str:
    from django.contrib.auth import get_user_model

    base = str(claims.get("preferred_username") or claims.get("email") or claims["sub"])[:140]
    candidate, n = base, 1
    while get_user_model().objects.filter(username=candidate).exists():
        n += 1
        candidate = f"{base}-{n}"
    return candidate


class _DiscoveringSettings:
    @staticmethod
    def get_settings(attr: str, *args: Any) -> Any:
        return oidc_setting(attr, *args)


class ConsoleOidcStart(_DiscoveringSettings, OIDCAuthenticationRequestView):  # type: ignore[misc]
    pass


class ConsoleOidcCallback(_DiscoveringSettings, OIDCAuthenticationCallbackView):  # type: ignore[misc]
    pass


def provider_logout_url(request: HttpRequest) -> str:
    """Where logging out of the console sends the browser: the provider's end-session endpoint when the user
    signed in there and it has one (so the provider's session ends too), else the console's own page."""
    home = request.build_absolute_uri(settings.LOGOUT_REDIRECT_URL)
    id_token = request.session.get("oidc_id_token")
    # A session opened with a local password has no provider session to end.
    endpoint = oidc_setting("OIDC_OP_END_SESSION_ENDPOINT", None) if id_token else None
    if not endpoint:
        return str(settings.LOGOUT_REDIRECT_URL)
    query = {"post_logout_redirect_uri": home, "client_id": settings.OIDC_RP_CLIENT_ID, "id_token_hint": id_token}
    return f"{endpoint}?{urlencode(query)}"

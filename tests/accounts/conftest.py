"""The stand-in external issuer's fixtures (tests/accounts/external_issuer.py), for every test of accounts."""

from tests.accounts.external_issuer import clock, issuer, keys_forgotten, provider

__all__ = ["clock", "issuer", "keys_forgotten", "provider"]

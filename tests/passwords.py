"""Password hashes for tests: argon2id at its cheapest parameters.

The product hashes with RFC 9106's low-memory profile (about 0.12 s of CPU per hash or sign-in); a test suite that
signs in a few hundred times would spend over a minute on it. conftest makes the product's hasher this one for
in-process apps and tests hash their users' passwords with it, so every hash is still a real argon2id hash that the
product verifies (and rehashes when its parameters differ); tests/test_auth.py checks the product's own parameters.
"""

from __future__ import annotations

from argon2 import PasswordHasher, profiles

CHEAP_HASHER = PasswordHasher.from_parameters(profiles.CHEAPEST)


def password_hash(password: str) -> str:
    """A real argon2id hash of ``password`` made quickly."""
    return CHEAP_HASHER.hash(password)

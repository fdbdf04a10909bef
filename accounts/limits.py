"""The credential limiter: every password check (login, admin login, password change) runs here.

Policy, after OWASP's Authentication Cheat Sheet ("login throttling", "account lockout"):

- per (account, client address), failures only: tight (LOGIN_RATE_PER_ACCOUNT_IP). It stops a
  guesser on one address and touches nobody else;
- per client address, every attempt (LOGIN_RATE_PER_IP), whatever account it names;
- per account from all addresses, failures only: much higher (LOGIN_RATE_PER_ACCOUNT), so only
  a guesser spread over many addresses can lock the owner out, and only for one window.

A success resets its own (account, address) count and nothing else: the owner logging in does
not wipe what an attacker elsewhere has spent. Counters are `chatproject.ratelimit` windows
(LOGIN_RATE_WINDOW long), so they fail open when the cache is down.
"""

from collections.abc import Callable
from typing import TypeVar

from django.conf import settings

from chatproject.errors import ServiceError
from chatproject.ratelimit import rate_limit_hit, rate_limit_peek_many, rate_limit_reset

T = TypeVar("T")


class TooManyAttempts(ServiceError):
    """A password check refused before it ran: 429, with the seconds to wait."""

    def __init__(
        self, message: str, *, retry_after: int, errors: dict[str, list[str]] | None = None
    ) -> None:
        super().__init__(message, status=429, retry_after=retry_after, errors=errors)


def password_check(
    *,
    account: str,
    ip: str,
    check: Callable[[], T],
    message: str,
    field: str | None = None,
) -> T:
    """Run `check` (the password hashing) unless a limit is reached, and count its outcome.

    `account` names what is guessed at, with a kind prefix so kinds never share a counter
    (`email:ann@x.io` for a login, known or not, `user:42` for a password change). A falsy
    result of `check` is a failure. Raises `TooManyAttempts` (naming `field` when given)
    without running `check` when the address or the account is over its limit.
    """
    window = settings.LOGIN_RATE_WINDOW
    pair_key = f"password-account-ip:{account}|{ip}"
    account_key = f"password-account:{account}"
    # One cache round trip per counter at most (Redis, shared by every process).
    wait = rate_limit_hit(
        f"login-ip:{ip}", limit=settings.LOGIN_RATE_PER_IP, window=window
    ) or rate_limit_peek_many(
        {
            pair_key: settings.LOGIN_RATE_PER_ACCOUNT_IP,
            account_key: settings.LOGIN_RATE_PER_ACCOUNT,
        },
        window=window,
    )
    if wait:
        errors = {field: [message]} if field else None
        raise TooManyAttempts(message, retry_after=wait, errors=errors)
    result = check()
    if result:
        rate_limit_reset(pair_key, window=window)
    else:
        rate_limit_hit(pair_key, limit=settings.LOGIN_RATE_PER_ACCOUNT_IP, window=window)
        rate_limit_hit(account_key, limit=settings.LOGIN_RATE_PER_ACCOUNT, window=window)
    return result

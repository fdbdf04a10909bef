from django.contrib.auth.hashers import BCryptSHA256PasswordHasher


class FastBCryptSHA256PasswordHasher(BCryptSHA256PasswordHasher):
    """Same algorithm with the fewest rounds bcrypt allows, for fast tests."""

    rounds = 4

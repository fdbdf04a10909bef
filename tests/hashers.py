from accounts.hashing import PooledBCryptSHA256PasswordHasher


class FastBCryptSHA256PasswordHasher(PooledBCryptSHA256PasswordHasher):
    """Same algorithm and pool with the fewest rounds bcrypt allows, for fast tests."""

    rounds = 4

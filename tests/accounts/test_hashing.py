"""Password hashing on a bounded pool: a login storm waits or is refused, never takes every core.

The hashing itself is held on an event while the test looks at who is hashing and who waits, so
nothing here depends on timing.
"""

import threading
import time
from collections.abc import Callable, Iterator

import bcrypt
import pytest
from django.contrib.auth.hashers import make_password

from accounts import hashing
from accounts.hashing import PASSWORD_HASHING_BUSY, PasswordPool
from accounts.services import user_login
from chatproject.errors import ServiceError
from tests.conftest import PASSWORD, ApiClient

DEADLINE = 10.0


class HeldHashes:
    """bcrypt, instrumented: counts hashes in progress and holds each until released."""

    def __init__(self) -> None:
        self.running = 0
        self.most = 0
        self.release = threading.Event()
        self._lock = threading.Lock()
        self._hashpw = bcrypt.hashpw

    def hashpw(self, password: bytes, salt: bytes) -> bytes:
        with self._lock:
            self.running += 1
            self.most = max(self.most, self.running)
        try:
            assert self.release.wait(DEADLINE), "the test never released the hashes"
            return self._hashpw(password, salt)
        finally:
            with self._lock:
                self.running -= 1


@pytest.fixture
def held(monkeypatch) -> HeldHashes:  # noqa: ANN001
    hashes = HeldHashes()
    monkeypatch.setattr(bcrypt, "hashpw", hashes.hashpw)
    return hashes


@pytest.fixture
def pool(monkeypatch) -> Iterator[Callable[..., PasswordPool]]:  # noqa: ANN001
    """`pool(workers, queue_max)`: install a pool of that size as the process's own."""
    made: list[PasswordPool] = []

    def install(workers: int = 1, queue_max: int = 64) -> PasswordPool:
        made.append(PasswordPool(workers=workers, queue_max=queue_max))
        monkeypatch.setattr(hashing, "password_pool", made[-1])
        return made[-1]

    yield install
    for each in made:
        each.shutdown()


def _until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not condition():
        assert time.monotonic() < deadline, f"not within {DEADLINE}s: {what}"
        time.sleep(0.005)


def _in_threads(count: int, target: Callable[[], object]) -> tuple[list[threading.Thread], list]:
    results: list = []

    def run() -> None:
        try:
            results.append(target())
        except Exception as exc:  # noqa: BLE001 - reported by the test
            results.append(exc)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    return threads, results


@pytest.mark.django_db(transaction=True)
def test_concurrent_logins_never_hash_in_parallel(alice, held, pool):
    """With PASSWORD_HASH_WORKERS=1, four logins at once hash one after the other."""
    installed = pool(workers=1)
    threads, results = _in_threads(
        4, lambda: user_login(email=alice.email, password=PASSWORD, ip="10.0.0.1")
    )
    # One hashes, three wait their turn (today all four would be hashing at once).
    _until(lambda: held.running + installed.waiting >= 4 or held.running > 1, "all four arrive")
    assert held.running == 1
    held.release.set()
    for thread in threads:
        thread.join(DEADLINE)
    assert [getattr(user, "pk", user) for user in results] == [alice.pk] * 4
    assert held.most == 1


@pytest.mark.django_db(transaction=True)
def test_a_full_waiting_line_answers_503_with_retry_after(alice, held, pool):
    """More than PASSWORD_HASH_QUEUE_MAX logins waiting: the next one gets 503 and Retry-After."""
    installed = pool(workers=1, queue_max=2)
    threads, results = _in_threads(3, lambda: make_password("held-in-line"))
    _until(lambda: held.running == 1 and installed.waiting == 2, "one hashing, two waiting")

    response = ApiClient().call("post", "/api/auth/login", {"email": alice.email, "password": "x"})
    assert response.status_code == 503
    assert response.json() == {"message": PASSWORD_HASHING_BUSY}
    assert int(response["Retry-After"]) >= 1

    held.release.set()
    for thread in threads:
        thread.join(DEADLINE)
    assert all(isinstance(result, str) for result in results)
    assert (
        ApiClient()
        .call("post", "/api/auth/login", {"email": alice.email, "password": PASSWORD})
        .status_code
        == 200
    )  # the line has cleared: logins are served again


@pytest.mark.django_db(transaction=True)
def test_the_login_page_and_signup_are_refused_politely_too(client, held, pool):
    """The HTML login page answers the same 503 page-side, with Retry-After."""
    installed = pool(workers=1, queue_max=0)
    threads, _ = _in_threads(1, lambda: make_password("held"))
    _until(lambda: held.running == 1, "the worker is busy")
    assert installed.waiting == 0

    page = client.post("/login/", {"email": "a@example.com", "password": "whatever"})
    assert page.status_code == 503
    assert PASSWORD_HASHING_BUSY in page.content.decode()
    assert int(page["Retry-After"]) >= 1
    signup = ApiClient().call(
        "post",
        "/api/auth/signup",
        {"fullName": "New", "email": "new@example.com", "password": "secret12"},
    )
    assert signup.status_code == 503

    held.release.set()
    for thread in threads:
        thread.join(DEADLINE)


def test_hashing_runs_on_the_pool_threads(db, pool):
    """make_password, as every login, sign-up and admin check uses it, hashes on the pool."""
    pool(workers=1)
    seen: list[str] = []
    original = bcrypt.hashpw

    def spy(password: bytes, salt: bytes) -> bytes:
        seen.append(threading.current_thread().name)
        return original(password, salt)

    bcrypt.hashpw = spy
    try:
        make_password("anything-1")
    finally:
        bcrypt.hashpw = original
    assert seen and all(name.startswith("password-hash") for name in seen)


def test_a_busy_pool_is_a_service_error():
    """The refusal is a ServiceError (503), so every page and API turns it into an answer."""
    pool = PasswordPool(workers=1, queue_max=0)
    release = threading.Event()
    try:
        running = threading.Thread(target=lambda: pool.run(lambda: release.wait(DEADLINE)))
        running.start()
        _until(lambda: pool.running == 1, "the worker is taken")
        with pytest.raises(ServiceError) as refused:
            pool.run(lambda: None)
        assert refused.value.status == 503 and refused.value.retry_after >= 1
    finally:
        release.set()
        running.join(DEADLINE)
        pool.shutdown()

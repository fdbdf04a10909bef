"""Decoding uploads within bounds: a few at a time per process, and never more memory than the
decode budget allows (avatars and chat images share `chatproject.images.image_decode`)."""

import threading
from collections.abc import Callable

import pytest
from PIL import Image, JpegImagePlugin

from accounts import services
from accounts.services import AVATAR_MAX_SIDE
from chatproject import image_slots
from chatproject import images as images_module
from chatproject.errors import ServiceError
from chatproject.image_slots import DECODE_BUSY, LARGE_BODY
from chatproject.images import TOO_MANY_PIXELS, CleanImage, image_decode
from tests.accounts import images

UPDATE = "/api/auth/update-profile"


class DecodeWatch:
    """Stands in for `chatproject.images._reencode` (the pixel work): counts the decodes running
    at once and holds each one until told to go, or until more than `limit` are running (which
    the code under test must never allow)."""

    def __init__(self, real: Callable[..., CleanImage], limit: int) -> None:
        self.real, self.limit = real, limit
        self.cond = threading.Condition()
        self.running = self.peak = 0
        self.released = False

    def __call__(self, raw: bytes, **kwargs: object) -> CleanImage:
        with self.cond:
            self.running += 1
            self.peak = max(self.peak, self.running)
            self.cond.notify_all()
            self.cond.wait_for(lambda: self.released or self.running > self.limit, timeout=30)
        try:
            return self.real(raw, **kwargs)
        finally:
            with self.cond:
                self.running -= 1
                self.cond.notify_all()

    def wait_for(self, predicate: Callable[[], bool]) -> None:
        with self.cond:
            assert self.cond.wait_for(predicate, timeout=30), "the uploads never got there"

    def release(self) -> None:
        with self.cond:
            self.released = True
            self.cond.notify_all()


@pytest.fixture
def watch(monkeypatch, settings) -> Callable[[int], DecodeWatch]:  # noqa: ANN001
    def make(limit: int) -> DecodeWatch:
        settings.IMAGE_DECODE_CONCURRENCY = limit
        decode_watch = DecodeWatch(images_module._reencode, limit)
        monkeypatch.setattr(images_module, "_reencode", decode_watch)
        return decode_watch

    return make


@pytest.fixture
def client(login_client, alice, media_root):  # noqa: ANN001
    return login_client(alice)


# --- a few decodes at a time ---------------------------------------------------------------------
def test_uploads_beyond_the_decode_limit_wait_then_get_503(watch, settings, monkeypatch):
    """Six uploads at once with IMAGE_DECODE_CONCURRENCY=2: two decode, the other four wait for a
    slot and, as none frees within IMAGE_DECODE_WAIT, give up with 503 and Retry-After. Once
    the last one is done (not before), the freed memory is handed back to the OS."""
    settings.IMAGE_DECODE_WAIT = 0.2
    decodes = watch(2)
    trims = []
    monkeypatch.setattr(image_slots, "memory_trim", lambda: trims.append(decodes.running))
    payload = images.b64(images.picture())
    results: list[object] = [None] * 6

    def upload(n: int) -> None:
        try:
            results[n] = image_decode(payload, max_side=64)
        except ServiceError as error:
            results[n] = error
        with decodes.cond:
            decodes.cond.notify_all()

    threads = [threading.Thread(target=upload, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    # The two running decodes are held until the other four have given up.
    decodes.wait_for(
        lambda: decodes.peak > 2 or sum(isinstance(r, ServiceError) for r in results) == 4
    )
    decodes.release()
    for thread in threads:
        thread.join(timeout=30)

    assert decodes.peak == 2
    refused = [r for r in results if isinstance(r, ServiceError)]
    assert len(refused) == 4
    assert {(r.status, r.message) for r in refused} == {(503, DECODE_BUSY)}
    assert all(r.retry_after and r.retry_after >= 1 for r in refused)
    assert sum(isinstance(r, CleanImage) for r in results) == 2
    assert trims == [0]


def test_an_avatar_upload_with_no_free_slot_is_503_and_changes_nothing(
    watch, settings, client, alice, stored_files
):
    """While another upload holds the only decode slot past IMAGE_DECODE_WAIT: 503 JSON with
    Retry-After, the profile (name too) unchanged, nothing stored."""
    settings.IMAGE_DECODE_WAIT = 0.1
    decodes = watch(1)
    other = threading.Thread(
        target=image_decode, args=(images.b64(images.picture()),), kwargs={"max_side": 64}
    )
    other.start()
    decodes.wait_for(lambda: decodes.running == 1)
    try:
        body = {"profilePic": images.data_url(images.picture()), "fullName": "Not Saved"}
        response = client.call("put", UPDATE, body)
    finally:
        decodes.release()
        other.join(timeout=30)

    assert response.status_code == 503
    assert response.json() == {"message": DECODE_BUSY}
    assert int(response["Retry-After"]) >= 1
    alice.refresh_from_db()
    assert (alice.full_name, alice.profile_pic) == ("Alice Martin", "")
    assert stored_files() == []


def _large_avatar() -> str:
    """A real picture whose request body is over LARGE_BODY (random pixels don't compress)."""
    payload = images.data_url(images.noisy_png((600, 600)))
    assert len(payload) > LARGE_BODY
    return payload


def test_a_large_upload_waits_for_its_slot_before_its_body_is_read(
    watch, settings, client, alice, stored_files, monkeypatch
):
    """A big upload arriving while every decode slot is busy is answered 503 (JSON, Retry-After)
    before its body is parsed: waiting, it holds no copy of its picture."""
    settings.IMAGE_DECODE_WAIT = 0.1
    decodes = watch(1)

    def never(**kwargs: object) -> None:
        raise AssertionError("the view ran: the body was parsed")

    monkeypatch.setattr(services, "user_update_profile", never)
    other = threading.Thread(
        target=image_decode, args=(images.b64(images.picture()),), kwargs={"max_side": 64}
    )
    other.start()
    decodes.wait_for(lambda: decodes.running == 1)
    try:
        response = client.call("put", UPDATE, {"profilePic": _large_avatar()})
    finally:
        decodes.release()
        other.join(timeout=30)

    assert response.status_code == 503
    assert response.json() == {"message": DECODE_BUSY}
    assert int(response["Retry-After"]) >= 1
    assert stored_files() == []


def test_a_large_upload_decodes_in_the_slot_it_waited_for_and_gives_it_back(
    settings, client, alice, stored_files
):
    """With one slot, large uploads one after another all go through: each decode uses the slot
    its request took before the body was read (a second one would never come), and every
    request gives it back, whether it decoded a picture, failed, or carried none."""
    settings.IMAGE_DECODE_CONCURRENCY = 1
    settings.IMAGE_DECODE_WAIT = 0.1
    padding = "x" * LARGE_BODY
    bodies = [
        ({"profilePic": _large_avatar()}, 200),
        ({"profilePic": images.data_url(images.HTML + padding.encode())}, 400),
        ({"fullName": "Alice Large", "padding": padding}, 200),
        ({"profilePic": _large_avatar()}, 200),
    ]
    for body, status in bodies:
        response = client.call("put", UPDATE, body)
        assert response.status_code == status, response.json()
    assert len(stored_files()) == 2


def test_a_large_upload_does_not_keep_its_body_after_the_response(client, alice):
    """Django's messages framework keeps each request in a reference cycle until the garbage
    collector's next full pass; a large upload's request lets go of its body as soon as it is
    answered, so a burst does not keep every body in memory."""
    response = client.call("put", UPDATE, {"fullName": "Alice", "padding": "x" * LARGE_BODY})
    assert response.status_code == 200
    assert "_body" not in vars(response.wsgi_request)


# --- the decode budget ---------------------------------------------------------------------------
def test_the_issue_png_is_refused_before_any_pixel_is_decoded(client, alice, stored_files):
    """A 6000x6000 RGB PNG (36 Mpx, under IMAGE_MAX_PIXELS) would take 144 MB to decode, far over
    the default budget: 413 "Image dimensions are too large" from its header alone (this one has
    no valid pixel data, so a decode attempt would have answered 400)."""
    payload = images.data_url(images.png_header_claiming(6000, 6000))
    response = client.call("put", UPDATE, {"profilePic": payload})
    assert response.status_code == 413
    assert response.json()["message"] == TOO_MANY_PIXELS
    alice.refresh_from_db()
    assert alice.profile_pic == ""
    assert stored_files() == []


BUDGET = 1_000_000  # 4-byte pixels, i.e. 4 MB of decoded picture
PROGRESSIVE = {"progressive": True}
BUDGET_CASES = {
    # What the decoder holds: 4 bytes a pixel for colour PNG, 1 for greyscale and palette
    # (GIF), ~16 for WEBP (Pillow's decoder keeps several canvases).
    "png-rgb-at-budget": ("PNG", "RGB", (1000, 1000), {}, 200),
    "png-rgb-over-budget": ("PNG", "RGB", (1001, 1000), {}, 413),
    "png-greyscale-4x-larger": ("PNG", "L", (2000, 2000), {}, 200),
    "gif-4x-larger": ("GIF", "RGB", (2000, 2000), {}, 200),
    "webp-quarter-size": ("WEBP", "RGB", (500, 500), {}, 200),
    "webp-same-size": ("WEBP", "RGB", (1000, 1000), {}, 413),
    # A JPEG is scaled while decoded, so its source may be far larger than the budget...
    "jpeg-16x-larger": ("JPEG", "RGB", (4000, 4000), {}, 200),
    # ...unless it is progressive: libjpeg then keeps every coefficient of the full picture.
    "progressive-jpeg-4x-larger": ("JPEG", "RGB", (2000, 2000), PROGRESSIVE, 413),
    "progressive-jpeg-small": ("JPEG", "RGB", (600, 600), PROGRESSIVE, 200),
}


@pytest.mark.parametrize(
    "fmt,mode,size,options,status", BUDGET_CASES.values(), ids=BUDGET_CASES.keys()
)
def test_the_decode_budget_counts_what_the_decoder_holds(
    client, alice, stored_files, settings, fmt, mode, size, options, status
):
    """IMAGE_DECODE_MAX_PIXELS bounds the memory a decode may take, whatever the format: over it,
    413 "Image dimensions are too large" and nothing stored."""
    settings.IMAGE_DECODE_MAX_PIXELS = BUDGET
    raw = images.picture(fmt, size, color="white", mode=mode, **options)
    response = client.call("put", UPDATE, {"profilePic": images.data_url(raw)})
    assert response.status_code == status, response.json()
    if status == 413:
        assert response.json()["message"] == TOO_MANY_PIXELS
        assert stored_files() == []
    else:
        assert len(stored_files()) == 1


def test_a_big_jpeg_is_scaled_down_while_it_is_decoded(client, media_root, monkeypatch):
    """libjpeg scales by 1/2, 1/4 or 1/8 as it decodes: a 4096x3072 photo is decoded straight to
    512x384 (1/64 of the memory) and stored at AVATAR_MAX_SIDE."""
    decoded_at = []
    real_load = JpegImagePlugin.JpegImageFile.load

    def load(self: JpegImagePlugin.JpegImageFile):  # noqa: ANN202
        decoded_at.append(self.size)
        return real_load(self)

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "load", load)
    raw = images.picture("JPEG", (4096, 3072), color="white")
    response = client.call("put", UPDATE, {"profilePic": images.data_url(raw, "image/jpeg")})
    assert response.status_code == 200
    assert decoded_at[0] == (512, 384)
    stored = Image.open(media_root / response.json()["profilePic"].removeprefix("/media/"))
    assert stored.size == (AVATAR_MAX_SIDE, 384)


@pytest.mark.parametrize("fmt", ["GIF", "WEBP"])
def test_animated_pictures_keep_their_first_frame_only(client, media_root, fmt):
    """An animated GIF or WEBP is stored as a still picture of its first frame, so its frames
    never multiply what a decode holds."""
    response = client.call("put", UPDATE, {"profilePic": images.data_url(images.animated(fmt))})
    assert response.status_code == 200
    stored = Image.open(media_root / response.json()["profilePic"].removeprefix("/media/"))
    assert stored.format == fmt
    assert getattr(stored, "n_frames", 1) == 1
    assert stored.convert("RGB").getpixel((0, 0))[0] > 200  # red, the first frame's colour

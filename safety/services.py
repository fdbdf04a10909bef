"""Writes: blocking, unblocking, reporting a message, and what operators do with a report."""

from __future__ import annotations

from typing import Any

from asgiref.sync import async_to_sync
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from chatproject.errors import ServiceError
from chatproject.ids import parse_pk
from chatproject.local_limits import local_windows
from messaging.models import Message
from safety.cache import block_cache_invalidate, blocks_of
from safety.models import NOTE_MAX_LENGTH, Block, Report

USER_NOT_FOUND = "User not found"
NOT_YOURSELF = "You cannot block yourself"
# What a person who is blocked hears: nothing that says they are (docs/SAFETY.md).
CANNOT_MESSAGE = "You cannot message this person"
CANNOT_ADD = "You cannot add this person to a group"
# What the blocker hears: the way out.
UNBLOCK_TO_SEND = "You blocked this person. Unblock to send"
UNBLOCK_TO_ADD = "You blocked this person. Unblock them to add them"

MESSAGE_NOT_FOUND = "Message not found"
REASON_INVALID = "reason must be one of: " + ", ".join(Report.Reason.values)
NOTE_INVALID = f"note must be a string of at most {NOTE_MAX_LENGTH} characters"
NOT_YOUR_OWN = "You cannot report your own message"
NOT_REPORTABLE = "This message cannot be reported (deleted, or a system line)"
TOO_MANY_REPORTS = "You are sending reports too fast, please wait a moment"


# --- Blocks -----------------------------------------------------------------------------------


def send_check(sender_id: Any, receiver_id: Any) -> None:
    """403 when a block stands between the sender and the person a direct message goes to:
    "Unblock to send" for the blocker, a neutral sentence for the person blocked."""
    mine = blocks_of(sender_id)
    other = str(receiver_id)
    if other in mine.blocking:
        raise ServiceError(UNBLOCK_TO_SEND, status=403)
    if other in mine.blocked_by:
        raise ServiceError(CANNOT_MESSAGE, status=403)


def direct_check(user_id: Any, conversation: Any) -> None:
    """`send_check` for an edit or a reaction in a direct conversation (none in a group)."""
    if conversation.kind != "direct":
        return
    from messaging.receipts import direct_members

    other = next((pk for pk in direct_members(conversation) if pk != user_id), None)
    if other is not None:
        send_check(user_id, other)


def invite_check(actor_id: Any, user_ids: list[Any], field: str) -> None:
    """403 naming `field` when the actor and one of the people to add are in a block."""
    mine = blocks_of(actor_id)
    named = [str(pk) for pk in user_ids]
    if any(pk in mine.blocking for pk in named):
        raise ServiceError(UNBLOCK_TO_ADD, status=403, errors={field: [UNBLOCK_TO_ADD]})
    if any(pk in mine.blocked_by for pk in named):
        raise ServiceError(CANNOT_ADD, status=403, errors={field: [CANNOT_ADD]})


def _other(user: User, other_id: object) -> User:
    pk = parse_pk(User, other_id)
    if pk is not None and pk == user.pk:
        raise ServiceError(NOT_YOURSELF, errors={"userId": [NOT_YOURSELF]})
    other = User.objects.filter(pk=pk).defer("password").first() if pk is not None else None
    if other is None:
        raise ServiceError(USER_NOT_FOUND, status=404)
    return other


def _presence_after(blocker: Any, blocked: Any, *, blocked_now: bool) -> None:
    """After the commit: each stops (or starts again) hearing the other's presence."""
    from messaging import realtime
    from messaging.presence import presence_contacts_forget, presence_introduce
    from messaging.selectors import contact_ids

    first, second = str(blocker), str(blocked)

    def tell() -> None:
        presence_contacts_forget([first, second])
        if blocked_now:
            # Shown offline to each other from now on (a hint: their next change is not told).
            realtime.notify_users([blocker], "userOffline", {"userId": second, "lastSeen": None})
            realtime.notify_users([blocked], "userOffline", {"userId": first, "lastSeen": None})
        elif blocked in contact_ids(blocker) and not blocks_of(blocker).either & {second}:
            async_to_sync(presence_introduce)(first, second)

    transaction.on_commit(tell)


def _blocks_changed(blocker: Any, blocked: Any, blocked_now: bool) -> None:
    """After the commit: the blocker's other tabs update (the blocked person hears nothing)."""
    from messaging import realtime

    data = {"userId": str(blocked), "blocked": blocked_now}
    transaction.on_commit(lambda: realtime.notify_users([blocker], "blockChanged", data))


def block_add(*, user: User, other_id: object) -> tuple[Block, bool]:
    """`user` blocks `other_id` (any account, active or not); (the block, whether it is new)."""
    other = _other(user, other_id)
    with transaction.atomic():
        existing = Block.objects.filter(blocker_id=user.pk, blocked_id=other.pk).first()
        if existing is not None:
            return existing, False
        try:
            with transaction.atomic():
                block = Block.objects.create(blocker_id=user.pk, blocked_id=other.pk)
        except IntegrityError:  # the same block from another tab at the same moment
            return Block.objects.get(blocker_id=user.pk, blocked_id=other.pk), False
        block.blocked = other
        block_cache_invalidate(user.pk, other.pk)
        _presence_after(user.pk, other.pk, blocked_now=True)
        _blocks_changed(user.pk, other.pk, True)
    return block, True


def block_remove(*, user: User, other_id: object) -> bool:
    """Lift `user`'s block on `other_id`; False when there was none (404 for the API)."""
    pk = parse_pk(User, other_id)
    if pk is None:
        return False
    with transaction.atomic():
        deleted, _ = Block.objects.filter(blocker_id=user.pk, blocked_id=pk).delete()
        if deleted:
            block_cache_invalidate(user.pk, pk)
            _presence_after(user.pk, pk, blocked_now=False)
            _blocks_changed(user.pk, pk, False)
    return bool(deleted)


# --- Reports ----------------------------------------------------------------------------------


def _report_limit(user_id: Any) -> None:
    wait = local_windows.hit(
        f"report:{user_id}",
        limit=settings.REPORT_RATE_PER_USER,
        window=settings.REPORT_RATE_WINDOW,
    )
    if wait is not None:
        raise ServiceError(TOO_MANY_REPORTS, status=429, retry_after=wait)


def report_create(
    *, reporter: User, message_id: object, reason: object, note: object = None
) -> tuple[Report, bool]:
    """Report a message the reporter can see (a member, inside their window): (the report,
    whether it is new). One open report per reporter and message: again returns the first."""
    from messaging.conversation_selectors import conversation_message_mine

    if reason not in Report.Reason.values:
        raise ServiceError(REASON_INVALID, errors={"reason": [REASON_INVALID]})
    if note is not None and (not isinstance(note, str) or len(note) > NOTE_MAX_LENGTH):
        raise ServiceError(NOTE_INVALID, errors={"note": [NOTE_INVALID]})
    pk = parse_pk(Message, message_id)
    found = Message.objects.filter(pk=pk).values_list("conversation_id", flat=True).first()
    if pk is None or found is None:
        raise ServiceError(MESSAGE_NOT_FOUND, status=404)
    _, _, message = conversation_message_mine(
        user=reporter, conversation_id=found, message_id=pk
    )  # 404 when not theirs to see
    if message.sender_id == reporter.pk:
        raise ServiceError(NOT_YOUR_OWN)
    if message.deleted_at is not None or message.kind != Message.Kind.TEXT:
        raise ServiceError(NOT_REPORTABLE)
    key = f"{reporter.pk}:{message.pk}"
    existing = Report.objects.filter(open_key=key).first()
    if existing is not None:
        return existing, False
    _report_limit(reporter.pk)
    try:
        with transaction.atomic():
            report = Report.objects.create(
                message=message,
                reporter=reporter,
                reason=reason,
                note=(note or "").strip(),
                open_key=key,
            )
    except IntegrityError:  # the same report twice at the same moment
        return Report.objects.get(open_key=key), False
    return report, True


def _close(reports: list[Report], *, operator: User, status: str) -> int:
    ids = [r.pk for r in reports if r.status == Report.Status.OPEN]
    if not ids:
        return 0
    return Report.objects.filter(pk__in=ids, status=Report.Status.OPEN).update(
        status=status, open_key=None, resolved_at=timezone.now(), resolved_by_id=operator.pk
    )


def reports_dismiss(*, operator: User, reports: list[Report]) -> int:
    """Nothing to do about them: closed as dismissed."""
    return _close(reports, operator=operator, status=Report.Status.DISMISSED)


def reports_delete_messages(*, operator: User, reports: list[Report]) -> int:
    """Delete the reported messages for everyone (members hear `messageDeleted`), and close
    every open report on them. How many messages went."""
    from messaging.editing import messages_delete_for_everyone

    message_ids = list({r.message_id for r in reports})
    with transaction.atomic():
        deleted = messages_delete_for_everyone(
            operator=operator, messages=Message.objects.filter(pk__in=message_ids)
        )
        _close(
            list(Report.objects.filter(message_id__in=message_ids, status=Report.Status.OPEN)),
            operator=operator,
            status=Report.Status.DELETED,
        )
    return deleted


def reports_deactivate_senders(*, operator: User, reports: list[Report]) -> int:
    """Deactivate the reported messages' senders (logged out everywhere, as from the users
    admin), and close the reports. Never the operator themselves. How many accounts."""
    from accounts.services import user_set_active

    sender_ids = {r.message.sender_id for r in reports} - {operator.pk}
    senders = list(User.objects.filter(pk__in=sender_ids, is_active=True))
    with transaction.atomic():
        for sender in senders:
            user_set_active(user=sender, active=False)
        _close(
            [r for r in reports if r.message.sender_id in sender_ids],
            operator=operator,
            status=Report.Status.DEACTIVATED,
        )
    return len(senders)

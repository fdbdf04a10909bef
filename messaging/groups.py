"""Group conversations: create, rename, picture, add, remove, leave, roles.

Each change is checked (`_check_*`), written in one transaction together with the system line
that records it ("Alice added Dan", a message of kind "system"), and announced after the commit
to everyone concerned. Rules (docs/MESSAGING.md, "Groups"):
- any member may rename the group, change its picture and add people; only admins remove
  people and change roles; anyone may leave; the creator is the first admin;
- a group left by its last admin makes its longest-standing member admin;
- someone removed or gone receives nothing more, reads nothing sent after, and keeps what they
  had (read-only); someone added reads from the moment they were added.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from asgiref.sync import async_to_sync
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from chatproject.errors import ServiceError
from chatproject.ids import parse_pk
from chatproject.images import image_decode, image_store, image_url, images_delete
from messaging import realtime, selectors
from messaging.announce import conversation_created_announce
from messaging.members import member_ids
from messaging.models import TITLE_MAX_LENGTH, Conversation, Membership, Message
from messaging.presence import presence_contacts_forget, presence_introduce_members
from messaging.sending import message_append
from messaging.shapes import message_event
from safety.services import invite_check

TITLE_REQUIRED = "A group needs a title"
TITLE_TOO_LONG = f"The title must be at most {TITLE_MAX_LENGTH} characters"
TOO_MANY_MEMBERS = "A group can have at most {limit} members"
MEMBERS_REQUIRED = "Give a list of user ids"
ALREADY_MEMBER = "Already a member of this group"
NOT_A_MEMBER = "Not a member of this group"
USER_UNAVAILABLE = "User not found or deactivated"
ADMINS_ONLY = "Only group admins can do this"
NOT_A_GROUP = "Only groups have members to change"
UNKNOWN_ROLE = "role must be 'admin' or 'member'"
NOTHING_TO_CHANGE = "Give a title and/or a picture"
USE_LEAVE = "To leave a group, leave it"

PICTURE_MAX_SIDE = 512


# --- Checks ----------------------------------------------------------------------------------


def _title(title: object, *, required: bool) -> str | None:
    if title is None and not required:
        return None
    if not isinstance(title, str) or not " ".join(title.split()):
        raise ServiceError(TITLE_REQUIRED, errors={"title": [TITLE_REQUIRED]})
    title = " ".join(title.split())
    if len(title) > TITLE_MAX_LENGTH:
        raise ServiceError(TITLE_TOO_LONG, errors={"title": [TITLE_TOO_LONG]})
    return title


def _too_many(field: str) -> ServiceError:
    message = TOO_MANY_MEMBERS.format(limit=settings.GROUP_MAX_MEMBERS)
    return ServiceError(message, errors={field: [message]})


def _user_pks(values: object, field: str) -> list[Any]:
    """Distinct user pks from a list of ids (`field` names it in errors)."""
    if not isinstance(values, list):
        raise ServiceError(MEMBERS_REQUIRED, errors={field: [MEMBERS_REQUIRED]})
    if len(values) > settings.GROUP_MAX_MEMBERS + 1:  # the creator may name themselves
        raise _too_many(field)
    pks = []
    for value in values:
        pk = parse_pk(User, value)
        if pk is None:
            raise ServiceError(USER_UNAVAILABLE, status=404, errors={field: [str(value)]})
        if pk not in pks:
            pks.append(pk)
    return pks


def _active_users(pks: list[Any], field: str) -> None:
    found = set(User.objects.filter(pk__in=pks, is_active=True).values_list("pk", flat=True))
    missing = [str(pk) for pk in pks if pk not in found]
    if missing:
        raise ServiceError(USER_UNAVAILABLE, status=404, errors={field: missing})


def _group_for(user: User, conversation_id: object) -> tuple[Conversation, Membership]:
    """The group and the user's active membership; 404 for anything else (another's group,
    an unknown id, a direct conversation, a group they left)."""
    pk = parse_pk(Conversation, conversation_id)
    conversation = selectors.conversations_by_ids_qs([pk]).first() if pk is not None else None
    mine = (
        selectors.membership_qs(conversation_id=pk, user_id=user.pk).first()
        if conversation is not None
        else None
    )
    if conversation is None or mine is None:
        raise ServiceError(selectors.CONVERSATION_NOT_FOUND, status=404)
    if not conversation.is_group:
        raise ServiceError(NOT_A_GROUP)
    if not mine.active:
        raise ServiceError(NOT_A_MEMBER, status=403)
    return conversation, mine


def _admin(mine: Membership) -> None:
    if mine.role != Membership.Role.ADMIN:
        raise ServiceError(ADMINS_ONLY, status=403)


# --- Writing ----------------------------------------------------------------------------------


def _system_line(
    conversation: Conversation, actor_id: Any, event: dict[str, Any], *, joining: Sequence[Any] = ()
) -> Message:
    """Record what happened as a message of the conversation (announced after commit to its
    members, and to `joining`: people added by it, whose window starts with this line)."""
    line = Message(sender_id=actor_id, kind=Message.Kind.SYSTEM, event=event)
    prev_id = message_append(conversation.pk, line)
    payload = message_event(line, prev_id)
    users = [*member_ids(conversation.pk), *joining]
    transaction.on_commit(lambda: realtime.notify_users(users, "newMessage", payload))
    return line


def _tell(users: list[Any], event: str, data: dict[str, Any]) -> None:
    realtime.notify_users(users, event, data)


def _contacts_changed(user_ids: list[Any]) -> None:
    transaction.on_commit(lambda: presence_contacts_forget([str(u) for u in user_ids]))


def _introduce(newcomers: list[Any], members: list[Any]) -> None:
    """After the commit: who is online, between the people who now share the group."""
    new, everyone = [str(u) for u in newcomers], [str(u) for u in members]
    transaction.on_commit(lambda: async_to_sync(presence_introduce_members)(new, everyone))


def group_create(
    *, creator: User, title: object, member_ids_: object, picture: object = None
) -> Conversation:
    """A new group with `creator` (its first admin) and the people named; everyone in it sees
    it at once (`conversationCreated`)."""
    title = _title(title, required=True)
    pks = [pk for pk in _user_pks(member_ids_, "memberIds") if pk != creator.pk]
    if len(pks) + 1 > settings.GROUP_MAX_MEMBERS:
        raise _too_many("memberIds")
    _active_users(pks, "memberIds")
    invite_check(creator.pk, pks, "memberIds")
    stored = _picture(picture)
    try:
        with transaction.atomic():
            conversation = Conversation.objects.create(
                kind=Conversation.Kind.GROUP, title=title, picture=stored, created_by=creator
            )
            Membership.objects.bulk_create(
                [Membership(conversation=conversation, user=creator, role=Membership.Role.ADMIN)]
                + [Membership(conversation=conversation, user_id=pk) for pk in pks]
            )
            _system_line(
                conversation,
                creator.pk,
                {"type": "created", "actor": str(creator.pk), "title": title},
            )
            everyone = [creator.pk, *pks]
            transaction.on_commit(lambda: conversation_created_announce(conversation.pk, everyone))
            _introduce(everyone, everyone)
    except BaseException:
        images_delete([stored])
        raise
    return conversation


def _picture(picture: object) -> str:
    if not picture:
        return ""
    return image_store(image_decode(picture, max_side=PICTURE_MAX_SIDE), folder="groups")


def group_update(
    *, actor: User, conversation_id: object, title: object = None, picture: object = None
) -> Conversation:
    """Rename the group and/or change its picture (any member)."""
    conversation, _ = _group_for(actor, conversation_id)
    title = _title(title, required=False)
    if title is None and not picture:
        raise ServiceError(NOTHING_TO_CHANGE)
    stored = _picture(picture)
    old_picture = conversation.picture
    try:
        with transaction.atomic():
            changes: dict[str, Any] = {"updated_at": timezone.now()}
            if title is not None and title != conversation.title:
                changes["title"] = title
                _system_line(
                    conversation,
                    actor.pk,
                    {"type": "renamed", "actor": str(actor.pk), "title": title},
                )
            if stored:
                changes["picture"] = stored
                _system_line(conversation, actor.pk, {"type": "picture", "actor": str(actor.pk)})
            Conversation.objects.filter(pk=conversation.pk).update(**changes)
            conversation.refresh_from_db()
            users = member_ids(conversation.pk)
            data = {
                "conversationId": str(conversation.pk),
                "title": conversation.title,
                "picture": image_url(conversation.picture) or None,
                "by": str(actor.pk),
            }
            transaction.on_commit(lambda: _tell(users, "conversationUpdated", data))
            if stored and old_picture:
                transaction.on_commit(lambda: images_delete([old_picture]))
    except BaseException:
        images_delete([stored])
        raise
    return conversation


def members_add(*, actor: User, conversation_id: object, user_ids: object) -> list[Any]:
    """Add people (any member); they read from now on, and see the group in their sidebar."""
    conversation, _ = _group_for(actor, conversation_id)
    pks = _user_pks(user_ids, "userIds")
    if not pks:
        raise ServiceError(MEMBERS_REQUIRED, errors={"userIds": [MEMBERS_REQUIRED]})
    _active_users(pks, "userIds")
    invite_check(actor.pk, pks, "userIds")
    with transaction.atomic():
        existing = {
            m.user_id: m
            for m in selectors.members_qs(conversation_ids=[conversation.pk]).filter(
                user_id__in=pks
            )
        }
        if any(m.active for m in existing.values()):
            raise ServiceError(
                ALREADY_MEMBER,
                errors={"userIds": [str(pk) for pk, m in existing.items() if m.active]},
            )
        active = len(member_ids(conversation.pk))
        if active + len(pks) > settings.GROUP_MAX_MEMBERS:
            raise _too_many("userIds")
        line = _system_line(
            conversation,
            actor.pk,
            {"type": "added", "actor": str(actor.pk), "users": [str(pk) for pk in pks]},
            joining=pks,
        )
        now = timezone.now()
        # They read from the line that says they were added.
        starts = {"visible_from_seq": line.seq - 1, "read_seq": line.seq - 1}
        for pk in pks:
            if pk in existing:  # back again: their earlier window stays theirs too
                selectors.membership_qs(conversation_id=conversation.pk, user_id=pk).update(
                    left_at=None, visible_until_seq=None, joined_at=now, role=Membership.Role.MEMBER
                )
            else:
                Membership.objects.create(
                    conversation=conversation, user_id=pk, joined_at=now, **starts
                )
        users = member_ids(conversation.pk)
        data = {
            "conversationId": str(conversation.pk),
            "userIds": [str(pk) for pk in pks],
            "by": str(actor.pk),
        }
        transaction.on_commit(lambda: _tell(users, "memberAdded", data))
        transaction.on_commit(lambda: conversation_created_announce(conversation.pk, pks))
        _introduce(pks, users)
    return pks


def member_remove(
    *, actor: User | None, conversation_id: object, user_id: object, by_operator: bool = False
) -> None:
    """Take someone out (group admins; operators from the admin with `by_operator`)."""
    pk = parse_pk(User, user_id)
    if by_operator:
        cid = parse_pk(Conversation, conversation_id)
        conversation = selectors.conversations_by_ids_qs([cid]).first() if cid else None
        if conversation is None or not conversation.is_group:
            raise ServiceError(selectors.CONVERSATION_NOT_FOUND, status=404)
    else:
        conversation, mine = _group_for(actor, conversation_id)
        _admin(mine)
        if pk == actor.pk:
            raise ServiceError(USE_LEAVE)
    _leave(conversation, pk, actor_id=actor.pk if actor else pk, removed=True)


def group_leave(*, user: User, conversation_id: object) -> None:
    """Leave a group: what they had stays visible to them, read-only."""
    conversation, _ = _group_for(user, conversation_id)
    _leave(conversation, user.pk, actor_id=user.pk, removed=False)


def _leave(conversation: Conversation, user_pk: Any, *, actor_id: Any, removed: bool) -> None:
    with transaction.atomic():
        them = (
            selectors.membership_qs(conversation_id=conversation.pk, user_id=user_pk)
            .filter(left_at__isnull=True)
            .first()
        )
        if them is None:
            raise ServiceError(NOT_A_MEMBER, status=404)
        told = member_ids(conversation.pk)  # they hear it too, a last time
        event = {
            "type": "removed" if removed else "left",
            "actor": str(actor_id),
            "users": [str(user_pk)],
        }
        line = _system_line(conversation, actor_id, event)
        selectors.membership_qs(conversation_id=conversation.pk, user_id=user_pk).update(
            left_at=timezone.now(), visible_until_seq=line.seq, role=Membership.Role.MEMBER
        )
        if them.role == Membership.Role.ADMIN:
            _hand_over_admin(conversation)
        data = {
            "conversationId": str(conversation.pk),
            "userId": str(user_pk),
            "by": str(actor_id),
            "removed": removed,
        }
        transaction.on_commit(lambda: _tell(told, "memberRemoved", data))
        _contacts_changed(told)


def _hand_over_admin(conversation: Conversation) -> None:
    """No admin left: the longest-standing member becomes one (a system line says so)."""
    active = selectors.members_qs(conversation_ids=[conversation.pk]).filter(left_at__isnull=True)
    if active.filter(role=Membership.Role.ADMIN).exists():
        return
    heir = active.order_by("joined_at", "id").first()
    if heir is None:
        return  # nobody left in the group
    active.filter(pk=heir.pk).update(role=Membership.Role.ADMIN)
    _system_line(
        conversation,
        heir.user_id,
        {"type": "admin", "actor": None, "users": [str(heir.user_id)]},
    )
    users = member_ids(conversation.pk)
    data = {
        "conversationId": str(conversation.pk),
        "userId": str(heir.user_id),
        "role": Membership.Role.ADMIN,
        "by": None,
    }
    transaction.on_commit(lambda: _tell(users, "memberUpdated", data))


def member_role(*, actor: User, conversation_id: object, user_id: object, role: object) -> None:
    """Make someone an admin or a member again (admins)."""
    conversation, mine = _group_for(actor, conversation_id)
    _admin(mine)
    if role not in Membership.Role.values:
        raise ServiceError(UNKNOWN_ROLE, errors={"role": [UNKNOWN_ROLE]})
    pk = parse_pk(User, user_id)
    with transaction.atomic():
        them = (
            selectors.membership_qs(conversation_id=conversation.pk, user_id=pk)
            .filter(left_at__isnull=True)
            .first()
            if pk is not None
            else None
        )
        if them is None:
            raise ServiceError(NOT_A_MEMBER, status=404)
        if them.role == role:
            return
        selectors.membership_qs(conversation_id=conversation.pk, user_id=pk).update(role=role)
        _system_line(
            conversation,
            actor.pk,
            {
                "type": "admin" if role == Membership.Role.ADMIN else "unadmin",
                "actor": str(actor.pk),
                "users": [str(pk)],
            },
        )
        if role == Membership.Role.MEMBER:
            _hand_over_admin(conversation)  # demoting oneself, the last admin
        users = member_ids(conversation.pk)
        data = {
            "conversationId": str(conversation.pk),
            "userId": str(pk),
            "role": role,
            "by": str(actor.pk),
        }
        transaction.on_commit(lambda: _tell(users, "memberUpdated", data))

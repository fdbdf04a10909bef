from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import UserChangeForm, UserCreationForm
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.html import format_html
from django.views.decorators.cache import never_cache

from accounts.hashing import PasswordHashingBusy
from accounts.limits import TooManyAttempts
from accounts.models import User, normalize_email
from accounts.services import user_revoke_tokens, user_set_active
from chatproject.images import image_url


class NormalizedEmailMixin:
    """Lower-case the email before the form's unique check.

    Stored emails are lower-case; without this, "Ann@X.io" passes the exact-match unique
    check against "ann@x.io" and the save then fails on the database constraint (a 500).
    """

    def clean_email(self) -> str:
        return normalize_email(self.cleaned_data.get("email") or "")


class ParleyUserCreationForm(NormalizedEmailMixin, UserCreationForm):
    class Meta:
        model = User
        fields = ("email", "full_name")


class ParleyUserChangeForm(NormalizedEmailMixin, UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    form = ParleyUserChangeForm
    add_form = ParleyUserCreationForm
    list_display = (
        "avatar",
        "email",
        "full_name",
        "is_active",
        "is_staff",
        "created_at",
        "last_seen",
    )
    list_display_links = ("avatar", "email")
    list_filter = ("is_active", "is_staff", "is_superuser")
    search_fields = ("email", "full_name")
    ordering = ("-created_at",)
    readonly_fields = ("avatar_large", "created_at", "updated_at", "last_seen", "last_login")
    actions = ("deactivate", "reactivate")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("full_name", "avatar_large", "profile_pic", "theme")}),
        (
            "Permissions",
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        ("Dates", {"fields": ("created_at", "updated_at", "last_seen", "last_login")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("email", "full_name", "password1", "password2")}),
    )

    @admin.display(description="Avatar")
    def avatar(self, obj: User) -> str:
        url = image_url(obj.profile_pic) or "/static/img/avatar.svg"
        return format_html(
            '<img src="{}" alt="" width="32" height="32" class="parley-avatar">', url
        )

    @admin.display(description="Avatar")
    def avatar_large(self, obj: User) -> str:
        url = image_url(obj.profile_pic) or "/static/img/avatar.svg"
        return format_html('<img src="{}" alt="" width="96" height="96">', url)

    def save_model(self, request: HttpRequest, obj: User, form: object, change: bool) -> None:
        was_active = User.objects.filter(pk=obj.pk).values_list("is_active", flat=True).first()
        super().save_model(request, obj, form, change)
        if change and was_active and not obj.is_active:
            user_set_active(user=obj, active=False)  # also closes their sockets

    def user_change_password(
        self, request: HttpRequest, id: str, form_url: str = ""
    ) -> HttpResponse:
        """An operator resetting a password also ends every session the old one opened."""
        response = super().user_change_password(request, id, form_url)
        if request.method == "POST" and response.status_code == 302:
            user = self.get_object(request, unquote(id))
            if user is not None:
                user_revoke_tokens(user=user)
        return response

    @admin.action(description="Deactivate selected users (logs them out everywhere)")
    def deactivate(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        count = 0
        for user in queryset.exclude(pk=request.user.pk):
            user_set_active(user=user, active=False)
            count += 1
        self.message_user(request, f"Deactivated {count} user(s).", messages.SUCCESS)

    @admin.action(description="Reactivate selected users")
    def reactivate(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        for user in queryset:
            user_set_active(user=user, active=True)
        self.message_user(request, f"Reactivated {queryset.count()} user(s).", messages.SUCCESS)


@never_cache
def admin_login(request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
    """The admin's login page, answering 429 when the credential limiter refuses the attempt
    (503 when the password hashing pool is full).

    The limit is enforced by the authentication backend (`accounts.backends`); this only turns
    its refusal into a page, since the login form would otherwise show it as a 200 that looks
    like one more wrong password.
    """
    try:
        return admin.site.login(request, extra_context)
    except (TooManyAttempts, PasswordHashingBusy) as error:
        context = {"status": error.status, "message": error.message}
        response = render(request, "error.html", context, status=error.status)
        response["Retry-After"] = str(error.retry_after)
        return response

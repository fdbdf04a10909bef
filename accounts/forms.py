"""HTML forms for the account pages.

The forms only check presence and shape; the rules and their sentences live in
`accounts.services`, so a page and the JSON API always answer alike. The views call the
service and hand any `ServiceError` back to the form with `apply_service_error`.
"""

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile

from accounts import services
from chatproject.errors import ServiceError
from chatproject.images import TOO_LARGE

# The API names fields in camelCase; the forms use Django's snake_case.
API_FIELD_NAMES = {
    "fullName": "full_name",
    "email": "email",
    "password": "password",
    "currentPassword": "current_password",
    "newPassword": "new_password",
    "profilePic": "avatar",
    "theme": "theme",
}


FULL_NAME_REQUIRED = "Full name is required"


def _required(label: str) -> dict[str, str]:
    return {"required": f"{label} is required"}


class ServiceForm(forms.Form):
    """A form whose final checks are made by a service raising `ServiceError`."""

    # When a required field is empty, also show the API's sentence for it above the form.
    all_fields_required = True

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)

    def focus_first_error(self) -> None:
        """Move `autofocus` to the first field with an error, so the keyboard lands there."""
        invalid = [name for name in self.fields if name in self.errors]
        for name, field in self.fields.items():
            field.widget.attrs.pop("autofocus", None)
            if invalid and name == invalid[0]:
                field.widget.attrs["autofocus"] = True

    def clean(self) -> dict:
        cleaned = super().clean()
        if self.all_fields_required and any(
            self.has_error(name, code="required") for name in self.fields
        ):
            self.add_error(None, services.ALL_FIELDS_REQUIRED)
        return cleaned

    def apply_service_error(self, error: ServiceError) -> None:
        """Show the service's sentences on their fields, or above the form."""
        placed = False
        for api_name, sentences in (error.errors or {}).items():
            field = API_FIELD_NAMES.get(api_name)
            if field in self.fields:
                for sentence in sentences:
                    self.add_error(field, sentence)
                placed = True
        if not placed:
            self.add_error(None, error.message)


class SignupForm(ServiceForm):
    full_name = forms.CharField(
        label="Full name",
        max_length=100,
        error_messages={**_required("Full name"), "max_length": services.NAME_TOO_LONG},
        widget=forms.TextInput(attrs={"autocomplete": "name", "autofocus": True}),
    )
    email = forms.CharField(
        label="Email",
        max_length=254,
        error_messages={**_required("Email"), "max_length": services.INVALID_EMAIL},
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    password = forms.CharField(
        label="Password",
        strip=False,
        max_length=services.PASSWORD_MAX_LENGTH,
        error_messages={**_required("Password"), "max_length": services.PASSWORD_TOO_LONG},
        help_text="At least 6 characters.",
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )


class LoginForm(ServiceForm):
    email = forms.CharField(
        label="Email",
        max_length=254,
        error_messages=_required("Email"),
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )
    password = forms.CharField(
        label="Password",
        strip=False,
        max_length=services.PASSWORD_MAX_LENGTH,
        error_messages=_required("Password"),
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class ProfileForm(ServiceForm):
    """Name and avatar; either may be left as it is (the service wants at least one)."""

    all_fields_required = False

    full_name = forms.CharField(
        label="Full name",
        max_length=100,
        required=False,
        error_messages={"max_length": services.NAME_TOO_LONG},
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    avatar = forms.FileField(
        label="Profile picture",
        required=False,
        help_text="JPEG, PNG, WEBP or GIF, up to 5 MB.",
        widget=forms.FileInput(attrs={"accept": "image/jpeg,image/png,image/webp,image/gif"}),
    )

    def clean(self) -> dict:
        cleaned = super().clean()
        empty = not cleaned.get("full_name", "").strip() and not cleaned.get("avatar")
        if empty and not self.has_error("full_name") and not self.has_error("avatar"):
            self.add_error("full_name", FULL_NAME_REQUIRED)
        return cleaned

    def clean_avatar(self) -> UploadedFile | None:
        avatar = self.cleaned_data.get("avatar")
        # Refuse before reading it into memory; the service re-checks the decoded bytes.
        if avatar and avatar.size > settings.IMAGE_MAX_BYTES:
            raise forms.ValidationError(TOO_LARGE, code="too_large")
        return avatar


class ThemeForm(ServiceForm):
    all_fields_required = False

    theme = forms.ChoiceField(
        label="Theme",
        choices=[(theme, theme.title()) for theme in services.THEMES],
        widget=forms.RadioSelect,
        error_messages={
            "invalid_choice": services.UNKNOWN_THEME,
            "required": services.UNKNOWN_THEME,
        },
    )


class PasswordChangeForm(ServiceForm):
    current_password = forms.CharField(
        label="Current password",
        strip=False,
        max_length=services.PASSWORD_MAX_LENGTH,
        error_messages=_required("Current password"),
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    new_password = forms.CharField(
        label="New password",
        strip=False,
        max_length=services.PASSWORD_MAX_LENGTH,
        error_messages={**_required("New password"), "max_length": services.PASSWORD_TOO_LONG},
        help_text="At least 6 characters. Other devices will be signed out.",
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

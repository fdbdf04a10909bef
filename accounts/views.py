"""Account pages: sign up, log in, log out, profile and settings.

Plain HTML forms that work with JavaScript off; the JavaScript on the profile and settings
pages only adds live previews and progress on top. Each view checks the form, calls one
service and either redirects (post/redirect/get) or renders the form with its errors.
"""

import base64

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from accounts import services
from accounts.forms import (
    LoginForm,
    PasswordChangeForm,
    ProfileForm,
    ServiceForm,
    SignupForm,
    ThemeForm,
)
from accounts.tokens import clear_token_cookie, set_token_cookie
from chatproject.errors import ServiceError
from chatproject.net import client_ip

PROFILE_SAVED = "Profile updated"
NOTHING_CHANGED = "Nothing to save"
THEME_SAVED = "Theme saved"
PASSWORD_CHANGED = "Password changed. Your other devices have been signed out."
LOGGED_OUT = "You have been logged out."


def _render_form(
    request: HttpRequest, template: str, context: dict, error: ServiceError | None = None
) -> HttpResponse:
    """Render a page whose form was refused, with the status the API would answer."""
    for value in context.values():
        if isinstance(value, ServiceForm) and value.errors:
            value.focus_first_error()
    response = render(request, template, context, status=error.status if error else 400)
    if error is not None and error.retry_after is not None:
        response["Retry-After"] = str(error.retry_after)
    return response


def _next_url(request: HttpRequest) -> str:
    """Where to go after logging in: `next` when it stays on this site, else the chat."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return "/"


@require_http_methods(["GET", "POST"])
def signup_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("messaging:chat")
    form = SignupForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if form.is_valid():
            try:
                user = services.user_signup(
                    full_name=form.cleaned_data["full_name"],
                    email=form.cleaned_data["email"],
                    password=form.cleaned_data["password"],
                    ip=client_ip(request),
                )
            except ServiceError as error:
                form.apply_service_error(error)
                return _render_form(request, "accounts/signup.html", {"form": form}, error)
            response = redirect("messaging:chat")
            set_token_cookie(response, user)
            return response
        return _render_form(request, "accounts/signup.html", {"form": form})
    return render(request, "accounts/signup.html", {"form": form})


@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    next_url = _next_url(request)
    if request.user.is_authenticated:
        return HttpResponseRedirect(next_url)
    form = LoginForm(request.POST if request.method == "POST" else None)
    context = {"form": form, "next": next_url if next_url != "/" else ""}
    if request.method == "POST":
        if form.is_valid():
            try:
                user = services.user_login(
                    email=form.cleaned_data["email"],
                    password=form.cleaned_data["password"],
                    ip=client_ip(request),
                )
            except ServiceError as error:
                form.apply_service_error(error)
                return _render_form(request, "accounts/login.html", context, error)
            response = HttpResponseRedirect(next_url)
            set_token_cookie(response, user)
            return response
        return _render_form(request, "accounts/login.html", context)
    return render(request, "accounts/login.html", context)


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    # Django's CSRF check has already run: a foreign page cannot log people out.
    if request.user.is_authenticated:
        services.user_logout(user=request.user)
    messages.info(request, LOGGED_OUT)
    response = redirect("accounts:login")
    clear_token_cookie(response)
    return response


@login_required
@require_http_methods(["GET", "POST"])
def profile_view(request: HttpRequest) -> HttpResponse:
    user = request.user
    if request.method == "POST":
        form = ProfileForm(request.POST, request.FILES)
        if form.is_valid():
            avatar = form.cleaned_data.get("avatar")
            full_name = form.cleaned_data.get("full_name") or None
            if full_name == user.full_name and not avatar:
                messages.info(request, NOTHING_CHANGED)
                return redirect("accounts:profile")
            try:
                services.user_update_profile(
                    user=user,
                    full_name=full_name,
                    profile_pic=base64.b64encode(avatar.read()).decode() if avatar else None,
                )
            except ServiceError as error:
                form.apply_service_error(error)
                return _render_form(request, "accounts/profile.html", _profile_context(form), error)
            messages.success(request, PROFILE_SAVED)
            return redirect("accounts:profile")
        return _render_form(request, "accounts/profile.html", _profile_context(form))
    form = ProfileForm(initial={"full_name": user.full_name})
    return render(request, "accounts/profile.html", _profile_context(form))


def _profile_context(form: ProfileForm) -> dict:
    return {"form": form, "image_max_bytes": settings.IMAGE_MAX_BYTES}


def _settings_context(
    request: HttpRequest,
    theme_form: ThemeForm | None = None,
    password_form: PasswordChangeForm | None = None,
) -> dict:
    return {
        "theme_form": theme_form or ThemeForm(initial={"theme": request.user.theme}),
        "password_form": password_form or PasswordChangeForm(),
        "themes": services.THEMES,
    }


@login_required
@require_http_methods(["GET", "POST"])
def settings_view(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = ThemeForm(request.POST)
        if form.is_valid():
            try:
                services.user_set_theme(user=request.user, theme=form.cleaned_data["theme"])
            except ServiceError as error:
                form.apply_service_error(error)
                context = _settings_context(request, theme_form=form)
                return _render_form(request, "accounts/settings.html", context, error)
            messages.success(request, THEME_SAVED)
            return redirect("accounts:settings")
        context = _settings_context(request, theme_form=form)
        return _render_form(request, "accounts/settings.html", context)
    return render(request, "accounts/settings.html", _settings_context(request))


@login_required
@require_POST
def password_view(request: HttpRequest) -> HttpResponse:
    form = PasswordChangeForm(request.POST)
    if form.is_valid():
        try:
            user = services.user_change_password(
                user=request.user,
                current_password=form.cleaned_data["current_password"],
                new_password=form.cleaned_data["new_password"],
                ip=client_ip(request),
            )
        except ServiceError as error:
            form.apply_service_error(error)
            context = _settings_context(request, password_form=form)
            return _render_form(request, "accounts/settings.html", context, error)
        messages.success(request, PASSWORD_CHANGED)
        response = redirect("accounts:settings")
        set_token_cookie(response, user)  # every older token was just revoked; keep this one
        return response
    context = _settings_context(request, password_form=form)
    return _render_form(request, "accounts/settings.html", context)

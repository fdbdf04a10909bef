"""`/api/auth/`: the seed app's auth endpoints (see shared/API.md)."""

from django.http import HttpRequest, HttpResponse
from ninja import Router, Status

from accounts import services
from accounts.auth import cookie_auth
from accounts.schemas import LoginIn, MessageOut, PasswordIn, ProfileIn, SignupIn, ThemeIn, UserOut
from accounts.selectors import user_public
from accounts.tokens import clear_token_cookie, set_token_cookie
from chatproject.net import client_ip

router = Router(tags=["auth"])

LOGGED_OUT = "Logged out successfully"


@router.post("signup", response={201: UserOut}, by_alias=True)
def signup(request: HttpRequest, response: HttpResponse, body: SignupIn) -> Status:
    user = services.user_signup(
        full_name=body.fullName, email=body.email, password=body.password, ip=client_ip(request)
    )
    set_token_cookie(response, user)
    return Status(201, user_public(user, online=True))


@router.post("login", response=UserOut, by_alias=True)
def login(request: HttpRequest, response: HttpResponse, body: LoginIn) -> dict:
    user = services.user_login(email=body.email, password=body.password, ip=client_ip(request))
    set_token_cookie(response, user)
    return user_public(user, online=True)


@router.post("logout", response=MessageOut)
def logout(request: HttpRequest, response: HttpResponse) -> dict:
    # Logging out without a valid token still clears the cookie: the person wants out.
    user = cookie_auth(request)
    if user is not None:
        services.user_logout(user=user)
    clear_token_cookie(response)
    return {"message": LOGGED_OUT}


@router.put("update-profile", response=UserOut, by_alias=True, auth=cookie_auth)
def update_profile(request: HttpRequest, body: ProfileIn) -> dict:
    user = services.user_update_profile(
        user=request.auth, full_name=body.fullName, profile_pic=body.profilePic
    )
    return user_public(user, online=True)


@router.put("change-password", response=UserOut, by_alias=True, auth=cookie_auth)
def change_password(request: HttpRequest, response: HttpResponse, body: PasswordIn) -> dict:
    user = services.user_change_password(
        user=request.auth,
        current_password=body.currentPassword,
        new_password=body.newPassword,
        ip=client_ip(request),
    )
    set_token_cookie(response, user)  # this session continues; every other token is revoked
    return user_public(user, online=True)


@router.put("theme", response=UserOut, by_alias=True, auth=cookie_auth)
def theme(request: HttpRequest, body: ThemeIn) -> dict:
    return user_public(services.user_set_theme(user=request.auth, theme=body.theme), online=True)


@router.get("check", response=UserOut, by_alias=True, auth=cookie_auth)
def check(request: HttpRequest) -> dict:
    return user_public(request.auth, online=True)


@router.get("check-auth", response=UserOut, by_alias=True, auth=cookie_auth)
def check_auth(request: HttpRequest) -> dict:
    return user_public(request.auth, online=True)

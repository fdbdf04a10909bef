"""`/api/auth/`: the seed app's auth endpoints (see shared/API.md)."""

from django.http import HttpRequest, HttpResponse
from ninja import Router, Status

from accounts import services
from accounts.auth import cookie_auth
from accounts.schemas import LoginIn, LogoutOut, PasswordIn, ProfileIn, SignupIn, ThemeIn, UserOut
from accounts.selectors import user_public
from accounts.tokens import clear_token_cookie, set_token_cookie
from chatproject.net import client_ip
from chatproject.schemas import error_responses

router = Router(tags=["auth"])

LOGGED_OUT = "Logged out successfully"


@router.post(
    "signup",
    response={201: UserOut, **error_responses(400, 403, 413, 429)},
    by_alias=True,
    summary="Create an account and log in",
    description="Sets the `jwt` cookie. 400 names the field at fault in `errors` when it can;"
    " 429 (with `Retry-After`) after too many sign-ups from one address.",
)
def signup(request: HttpRequest, response: HttpResponse, body: SignupIn) -> Status:
    user = services.user_signup(
        full_name=body.fullName, email=body.email, password=body.password, ip=client_ip(request)
    )
    set_token_cookie(response, user)
    return Status(201, user_public(user, online=True))


@router.post(
    "login",
    response={200: UserOut, **error_responses(400, 403, 413, 429)},
    by_alias=True,
    summary="Log in with email and password",
    description="Sets the `jwt` cookie. An unknown email and a wrong password both answer 400"
    " `Invalid credentials`; 429 (with `Retry-After`) after too many attempts.",
)
def login(request: HttpRequest, response: HttpResponse, body: LoginIn) -> dict:
    user = services.user_login(email=body.email, password=body.password, ip=client_ip(request))
    set_token_cookie(response, user)
    return user_public(user, online=True)


@router.post(
    "logout",
    response={200: LogoutOut, **error_responses(403)},
    summary="Log out on every device",
    description="Clears the cookie and revokes every token of the user. Succeeds even without"
    " a valid cookie.",
)
def logout(request: HttpRequest, response: HttpResponse) -> dict:
    # Logging out without a valid token still clears the cookie: the person wants out.
    user = cookie_auth(request)
    if user is not None:
        services.user_logout(user=user)
    clear_token_cookie(response)
    return {"message": LOGGED_OUT}


@router.put(
    "update-profile",
    response={200: UserOut, **error_responses(400, 401, 403, 413, 503)},
    by_alias=True,
    auth=cookie_auth,
    summary="Change the avatar and/or the name",
    description="`profilePic` is an image as a data URL or base64 (413 when too large). 503 when"
    " image storage is unavailable; the profile is then left unchanged.",
)
def update_profile(request: HttpRequest, body: ProfileIn) -> dict:
    user = services.user_update_profile(
        user=request.auth, full_name=body.fullName, profile_pic=body.profilePic
    )
    return user_public(user, online=True)


@router.put(
    "change-password",
    response={200: UserOut, **error_responses(400, 401, 403, 413)},
    by_alias=True,
    auth=cookie_auth,
    summary="Change the password",
    description="Answers with a fresh cookie for this session; every other token is revoked.",
)
def change_password(request: HttpRequest, response: HttpResponse, body: PasswordIn) -> dict:
    user = services.user_change_password(
        user=request.auth,
        current_password=body.currentPassword,
        new_password=body.newPassword,
        ip=client_ip(request),
    )
    set_token_cookie(response, user)  # this session continues; every other token is revoked
    return user_public(user, online=True)


@router.put(
    "theme",
    response={200: UserOut, **error_responses(400, 401, 403, 413)},
    by_alias=True,
    auth=cookie_auth,
    summary="Choose the colour theme",
)
def theme(request: HttpRequest, body: ThemeIn) -> dict:
    return user_public(services.user_set_theme(user=request.auth, theme=body.theme), online=True)


@router.get(
    "check",
    response={200: UserOut, **error_responses(401)},
    by_alias=True,
    auth=cookie_auth,
    summary="Get the logged-in user",
)
def check(request: HttpRequest) -> dict:
    return user_public(request.auth, online=True)


@router.get(
    "check-auth",
    response={200: UserOut, **error_responses(401)},
    by_alias=True,
    auth=cookie_auth,
    summary="Get the logged-in user (same as check)",
)
def check_auth(request: HttpRequest) -> dict:
    return user_public(request.auth, online=True)

def test_signup_then_check_returns_the_same_user(api, db):
    """A new account is logged in straight away and `check` returns it."""
    response = api.call(
        "post", "/api/auth/signup", {"fullName": "Ann", "email": "Ann@X.io", "password": "secret1"}
    )
    assert response.status_code == 201
    assert response.json()["email"] == "ann@x.io"
    assert api.call("get", "/api/auth/check").json()["_id"] == response.json()["_id"]

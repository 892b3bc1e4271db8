"""GitHub App authentication against the loopback GitHub stand-in: real JWTs signed with keys made
here, real sockets, `requests` not patched. The stand-in checks what GitHub checks."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from security.leaks import leaks

from intake_dev.clock import FixedClock
from intake_dev.fake_github import (
    ECHO_CREDENTIAL,
    JWT_EXP_TOO_FAR,
    JWT_EXPIRED,
    JWT_UNREADABLE,
    FakeGitHub,
    RecordedRequest,
)
from tracker_intake.adapters.github import GitHubTracker
from tracker_intake.adapters.github_app import GitHubApp, forget_cached_credentials
from tracker_intake.domain.errors import AuthFailed, PrimaryRateLimited, RepoNotFound
from tracker_intake.domain.tracker import IssueQuery

APP_ID = "123"
UA = {"User-Agent": "github-app-test"}


def _pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> str:
    # GitHub hands out PKCS#1 ("BEGIN RSA PRIVATE KEY") files.
    fmt = serialization.PrivateFormat.TraditionalOpenSSL
    return key.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption()).decode()


def _public_pem(key: rsa.RSAPrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


APP_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
APP_PEM = _pem(APP_KEY)


@pytest.fixture(autouse=True)
def fresh_caches() -> Iterator[None]:
    """Installation ids and tokens are cached per process: each test starts with none."""
    forget_cached_credentials()
    yield
    forget_cached_credentials()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def stand_in(clock: FixedClock) -> Iterator[FakeGitHub]:
    """The stand-in on the test's clock, with app 123 installed (11) on acme/app and (12) on acme/tools."""
    with FakeGitHub(clock=lambda: clock.now().timestamp()) as github:
        github.add_app(APP_ID, _public_pem(APP_KEY))
        github.add_installation(APP_ID, 11, ["acme/app"])
        github.add_installation(APP_ID, 12, ["acme/tools"])
        github.add_repo("acme", "app").add_issue("app issue", labels=["agent"])
        github.add_repo("acme", "tools").add_issue("tools issue", labels=["agent"])
        github.add_repo("acme", "private-elsewhere")
        yield github


def _app(github: FakeGitHub, clock: FixedClock, pem: str = APP_PEM, app_id: str = APP_ID) -> GitHubApp:
    return GitHubApp(github.base_url, app_id, pem, user_agent="github-app-test", now=clock.now)


def _titles(tracker: GitHubTracker, owner: str = "acme", repo: str = "app") -> list[str]:
    return [issue.title for page in tracker.pages(IssueQuery(owner, repo), {}) for issue in page.issues]


def _mints(github: FakeGitHub) -> list[RecordedRequest]:
    return [r for r in github.requests if r.method == "POST" and r.path.endswith("/access_tokens")]


def _lookups(github: FakeGitHub) -> list[RecordedRequest]:
    return [r for r in github.requests if r.path.endswith("/installation")]


def _jwt_for(clock: FixedClock, key: rsa.RSAPrivateKey = APP_KEY, **claims: Any) -> str:
    now = int(clock.now().timestamp())
    return jwt.encode({"iat": now - 60, "exp": now + 540, "iss": APP_ID, **claims}, key, algorithm="RS256")


# --- the JWT -------------------------------------------------------------------------


def test_the_jwt_is_rs256_with_iat_a_minute_back_exp_nine_minutes_ahead_and_the_app_id(
    stand_in: FakeGitHub, clock: FixedClock
) -> None:
    # GIVEN an app with its private key
    app = _app(stand_in, clock)

    # WHEN it signs a JWT
    token = app.jwt()

    # THEN the app's public key verifies it, and its claims are GitHub's
    claims = jwt.decode(token, APP_KEY.public_key(), algorithms=["RS256"], options={"verify_exp": False})
    now = int(clock.now().timestamp())
    assert jwt.get_unverified_header(token)["alg"] == "RS256"
    assert claims == {"iat": now - 60, "exp": now + 540, "iss": APP_ID}


def test_a_jwt_signed_with_another_key_is_refused_as_auth_failed(stand_in: FakeGitHub, clock: FixedClock) -> None:
    # GIVEN the app configured with a key that is not the one registered with GitHub
    app = _app(stand_in, clock, pem=_pem(OTHER_KEY))

    # WHEN it looks for its installation
    with pytest.raises(AuthFailed) as caught:
        app.installation_for("acme", "app")

    # THEN the stand-in refused the signature, and the error says what to check
    assert "the GitHub App's JWT was refused: check the app id (123) and private key" in str(caught.value)
    assert JWT_UNREADABLE in str(caught.value)
    assert [r.status for r in _lookups(stand_in)] == [401]


@pytest.mark.parametrize(
    ("claims", "message"),
    [
        ({"exp_ahead": 20 * 60}, JWT_EXP_TOO_FAR),
        ({"exp_ahead": -5}, JWT_EXPIRED),
        ({"iss": "999"}, JWT_UNREADABLE),
    ],
    ids=["exp-twenty-minutes-ahead", "expired", "unknown-app"],
)
def test_the_stand_in_refuses_a_jwt_github_would_refuse(
    stand_in: FakeGitHub, clock: FixedClock, claims: dict[str, Any], message: str
) -> None:
    # GIVEN a JWT whose exp is too far ahead, already past, or whose issuer is unknown
    now = int(clock.now().timestamp())
    shaped: dict[str, Any] = {"iss": claims.get("iss", APP_ID)}
    if "exp_ahead" in claims:
        shaped["exp"] = now + claims["exp_ahead"]
    token = _jwt_for(clock, **shaped)

    # WHEN it asks for the repository's installation
    response = requests.get(
        f"{stand_in.base_url}/repos/acme/app/installation",
        headers={**UA, "Authorization": f"Bearer {token}"},
        timeout=5,
    )

    # THEN GitHub's 401, in GitHub's words
    assert response.status_code == 401
    assert response.json()["message"] == message


def test_the_stand_in_refuses_a_jwt_on_repository_endpoints(stand_in: FakeGitHub, clock: FixedClock) -> None:
    # GIVEN a valid app JWT
    token = _jwt_for(clock)

    # WHEN it is used to list issues, which only an installation token may do
    response = requests.get(
        f"{stand_in.base_url}/repos/acme/app/issues", headers={**UA, "Authorization": f"Bearer {token}"}, timeout=5
    )

    # THEN 401
    assert response.status_code == 401


def test_the_stand_in_refuses_get_user_to_an_installation_token(stand_in: FakeGitHub, clock: FixedClock) -> None:
    # GIVEN an installation token
    header = _app(stand_in, clock).installation_auth(11).header()
    assert header is not None

    # WHEN it asks who it is
    response = requests.get(f"{stand_in.base_url}/user", headers={**UA, "Authorization": header}, timeout=5)

    # THEN GitHub's 403 for integrations
    assert response.status_code == 403
    assert response.json()["message"] == "Resource not accessible by integration"


def test_the_stand_in_keeps_secondary_limits_per_installation(clock: FixedClock) -> None:
    # GIVEN a stand-in allowing two requests a minute per credential, and two installations
    with FakeGitHub(clock=lambda: clock.now().timestamp(), secondary_points_per_minute=2) as github:
        github.add_app(APP_ID, _public_pem(APP_KEY))
        github.add_installation(APP_ID, 11, ["acme/app"])
        github.add_installation(APP_ID, 12, ["acme/app"])
        github.add_repo("acme", "app")
        app = _app(github, clock)
        first, second = app.installation_auth(11).header(), app.installation_auth(12).header()

        # WHEN installation 11 asks three times, then installation 12 and a plain token once each
        def ask(header: str | None) -> int:
            headers = {**UA, **({"Authorization": header} if header else {})}
            return requests.get(f"{github.base_url}/repos/acme/app", headers=headers, timeout=5).status_code

        statuses = [ask(first), ask(first), ask(first), ask(second), ask("Bearer ghp_plain")]

    # THEN only 11's third request met the secondary limit
    assert statuses == [200, 200, 403, 200, 200]


def test_the_stand_in_takes_installation_tokens_until_they_expire_whatever_tokens_it_allows(
    clock: FixedClock,
) -> None:
    # GIVEN a stand-in that knows one plain token, and an installation token minted at 12:00
    with FakeGitHub(clock=lambda: clock.now().timestamp(), tokens=["ghp_known"]) as github:
        github.add_app(APP_ID, _public_pem(APP_KEY))
        github.add_installation(APP_ID, 11, ["acme/app"])
        github.add_repo("acme", "app")
        header = _app(github, clock).installation_auth(11).header()
        assert header is not None

        # WHEN the token is used before and after its hour
        def ask() -> int:
            headers = {**UA, "Authorization": header}
            return requests.get(f"{github.base_url}/repos/acme/app", headers=headers, timeout=5).status_code

        before = ask()
        clock.advance(3600)
        after = ask()

    # THEN it is taken, then it is Bad credentials
    assert (before, after) == (200, 401)


def test_the_stand_in_lists_every_installation_token_it_issued(stand_in: FakeGitHub, clock: FixedClock) -> None:
    # GIVEN tokens minted for two installations, one of them twice (the first expired)
    app = _app(stand_in, clock)
    first = app.installation_auth(11).header()
    stand_in.expire_installation_tokens()
    forget_cached_credentials()
    second = app.installation_auth(11).header()
    other = app.installation_auth(12).header()

    # WHEN the stand-in is asked which it issued
    issued = stand_in.issued_installation_tokens()

    # THEN all three, expired or not, and nothing else
    assert sorted(issued) == sorted(h.partition(" ")[2] for h in (first, second, other) if h)
    assert len(set(issued)) == 3


def test_the_stand_in_moves_a_repository_between_installations_and_tokens_follow(
    stand_in: FakeGitHub, clock: FixedClock
) -> None:
    # GIVEN installation 11's token, minted while 11 covered acme/app
    header = _app(stand_in, clock).installation_auth(11).header()
    assert header is not None

    # WHEN acme/app moves to installation 12
    stand_in.set_installation_repos(11, [])
    stand_in.set_installation_repos(12, ["acme/tools", "acme/app"])
    listing = requests.get(
        f"{stand_in.base_url}/repos/acme/app/issues", headers={**UA, "Authorization": header}, timeout=5
    )

    # THEN 11's token no longer sees it, and the app's lookup finds 12
    assert listing.status_code == 404
    assert _app(stand_in, clock).installation_for("acme", "app") == 12


def test_the_stand_in_uninstalls_an_installation_refusing_its_tokens_and_mints(
    stand_in: FakeGitHub, clock: FixedClock
) -> None:
    # GIVEN installation 11's token
    app = _app(stand_in, clock)
    header = app.installation_auth(11).header()
    assert header is not None

    # WHEN the app is uninstalled from 11
    stand_in.uninstall(11)
    listing = requests.get(
        f"{stand_in.base_url}/repos/acme/app/issues", headers={**UA, "Authorization": header}, timeout=5
    )

    # THEN its token is refused, no new one can be minted, and no installation covers acme/app
    assert listing.status_code == 401
    forget_cached_credentials()  # the cached token and installation
    with pytest.raises(AuthFailed, match="has no installation 11"):
        _app(stand_in, clock).installation_auth(11).header()
    with pytest.raises(RepoNotFound):
        _app(stand_in, clock).installation_for("acme", "app")


# --- installations and tokens --------------------------------------------------------


def test_the_app_finds_the_installation_mints_a_token_and_lists_with_it(
    stand_in: FakeGitHub, clock: FixedClock
) -> None:
    # GIVEN app 123, installed (11) on acme/app
    app = _app(stand_in, clock)

    # WHEN a tracker lists acme/app with the installation's credential
    auth = app.auth_for("acme", "app")
    titles = _titles(GitHubTracker(stand_in.base_url, auth))

    # THEN: the installation by JWT, a token by JWT, the issues by that token, on the installation's budget
    lookup, mint, listing = stand_in.requests
    assert (lookup.method, lookup.path, lookup.status) == ("GET", "/repos/acme/app/installation", 200)
    assert (mint.method, mint.path, mint.status) == ("POST", "/app/installations/11/access_tokens", 201)
    assert (listing.path, listing.status, listing.identity) == ("/repos/acme/app/issues", 200, "installation:11")
    assert (lookup.header("Authorization") or "").startswith("Bearer ey")
    assert (listing.header("Authorization") or "").startswith("Bearer ghs_")
    assert titles == ["app issue"]
    assert auth.key == "app-123-11"


def test_a_second_use_mints_no_new_token_and_asks_no_installation_again(
    stand_in: FakeGitHub, clock: FixedClock
) -> None:
    # GIVEN a tracker that has listed acme/app once as the app
    _titles(GitHubTracker(stand_in.base_url, _app(stand_in, clock).auth_for("acme", "app")))

    # WHEN another GitHubApp of the same app (a later poll in the same container) lists it again
    clock.advance(30 * 60)
    second = _app(stand_in, clock)
    titles = _titles(GitHubTracker(stand_in.base_url, second.auth_for("acme", "app")))

    # THEN the cached installation and token served it
    assert titles == ["app issue"]
    assert len(_lookups(stand_in)) == 1
    assert len(_mints(stand_in)) == 1


def test_a_token_is_replaced_five_minutes_before_it_expires(stand_in: FakeGitHub, clock: FixedClock) -> None:
    # GIVEN a token minted now, which GitHub says expires in an hour
    tracker = GitHubTracker(stand_in.base_url, _app(stand_in, clock).auth_for("acme", "app"))
    _titles(tracker)

    # WHEN the tracker lists again just before, then just after, five minutes before the hour
    clock.advance(55 * 60 - 1)
    _titles(tracker)
    before = len(_mints(stand_in))
    clock.advance(2)
    _titles(tracker)

    # THEN the first still used the token, the second minted a new one
    assert before == 1
    assert len(_mints(stand_in)) == 2
    assert all(r.status == 200 for r in stand_in.requests if r.path.endswith("/issues"))


def test_an_expired_token_is_refreshed_once_and_the_request_succeeds(stand_in: FakeGitHub, clock: FixedClock) -> None:
    # GIVEN a cached token that GitHub has since expired (revoked, or a clock that ran slow)
    tracker = GitHubTracker(stand_in.base_url, _app(stand_in, clock).auth_for("acme", "app"))
    _titles(tracker)
    stand_in.expire_installation_tokens()
    stand_in.clear_requests()

    # WHEN the tracker lists again
    titles = _titles(tracker)

    # THEN a 401, a fresh token, the same request again, answered
    assert [(r.method, r.path, r.status) for r in stand_in.requests] == [
        ("GET", "/repos/acme/app/issues", 401),
        ("POST", "/app/installations/11/access_tokens", 201),
        ("GET", "/repos/acme/app/issues", 200),
    ]
    assert titles == ["app issue"]


def test_a_second_401_after_the_refresh_is_auth_failed(stand_in: FakeGitHub, clock: FixedClock) -> None:
    # GIVEN a tracker that has listed once, and GitHub now refusing every token for acme/app twice
    tracker = GitHubTracker(stand_in.base_url, _app(stand_in, clock).auth_for("acme", "app"))
    _titles(tracker)
    stand_in.inject("unauthorized", repo="acme/app", times=2)
    stand_in.clear_requests()

    # WHEN it lists again
    with pytest.raises(AuthFailed) as caught:
        _titles(tracker)

    # THEN one fresh token was tried, once, and the failure is about authentication
    assert [(r.method, r.status) for r in stand_in.requests] == [("GET", 401), ("POST", 201), ("GET", 401)]
    assert "GitHub refused access to acme/app (401" in str(caught.value)


def test_two_installations_have_separate_budgets(stand_in: FakeGitHub, clock: FixedClock) -> None:
    # GIVEN installation 11 has spent its primary limit, and 12 has not
    app = _app(stand_in, clock)
    spent, fresh = app.auth_for("acme", "app"), app.auth_for("acme", "tools")
    stand_in.set_installation_rate_limit(11, remaining=0)
    left = stand_in.installation_rate_remaining(12)

    # WHEN each lists its own repository
    with pytest.raises(PrimaryRateLimited):
        _titles(GitHubTracker(stand_in.base_url, spent))
    titles = _titles(GitHubTracker(stand_in.base_url, fresh), repo="tools")

    # THEN only 11 is limited: 12 spent one request of its own budget, and the keys name each
    assert titles == ["tools issue"]
    assert stand_in.installation_rate_remaining(12) == left - 1
    assert (spent.key, fresh.key) == ("app-123-11", "app-123-12")


# --- what the app cannot see ---------------------------------------------------------


def test_an_app_not_installed_on_a_repo_is_repo_not_found_in_a_sentence(
    stand_in: FakeGitHub, clock: FixedClock
) -> None:
    # GIVEN app 123, installed on acme/app and acme/tools only
    app = _app(stand_in, clock)

    # WHEN it looks for an installation on another repository
    with pytest.raises(RepoNotFound) as caught:
        app.installation_for("acme", "private-elsewhere")

    # THEN the error says so in one sentence
    assert str(caught.value) == "the GitHub App 123 is not installed on acme/private-elsewhere (or cannot see it)"


def test_an_installation_token_cannot_list_a_repo_outside_its_installation(
    stand_in: FakeGitHub, clock: FixedClock
) -> None:
    # GIVEN installation 11's credential, which covers acme/app only
    tracker = GitHubTracker(stand_in.base_url, _app(stand_in, clock).installation_auth(11))

    # WHEN it lists acme/tools
    with pytest.raises(RepoNotFound):
        _titles(tracker, repo="tools")

    # THEN GitHub hid it (404), as it does for what an installation cannot see
    assert [r.status for r in stand_in.requests_for("acme/tools")] == [404]


def test_check_repo_is_none_for_a_visible_repo_and_a_sentence_for_another(
    stand_in: FakeGitHub, clock: FixedClock
) -> None:
    # GIVEN installation 11's credential
    tracker = GitHubTracker(stand_in.base_url, _app(stand_in, clock).installation_auth(11))

    # WHEN it checks the repository it covers, and one it does not
    visible = tracker.check_repo("acme", "app")
    hidden = tracker.check_repo("acme", "tools")

    # THEN None, and one sentence naming the repository
    assert visible is None
    assert hidden == "repository acme/tools not found or not visible to this token (404)"
    assert [r.path for r in stand_in.requests if r.method == "GET" and "/repos/" in r.path] == [
        "/repos/acme/app",
        "/repos/acme/tools",
    ]


def test_check_repo_names_an_app_whose_key_github_refuses(stand_in: FakeGitHub, clock: FixedClock) -> None:
    # GIVEN an installation credential of an app whose configured key is not the registered one
    tracker = GitHubTracker(stand_in.base_url, _app(stand_in, clock, pem=_pem(OTHER_KEY)).installation_auth(11))

    # WHEN it checks a repository
    reason = tracker.check_repo("acme", "app")

    # THEN the reason is the refused JWT, not an exception
    assert reason is not None and "the GitHub App's JWT was refused" in reason


def test_no_request_ever_asks_get_user(stand_in: FakeGitHub, clock: FixedClock) -> None:
    # GIVEN everything the app does: lookups, mints, lists, refreshes, checks, and failures
    app = _app(stand_in, clock)
    tracker = GitHubTracker(stand_in.base_url, app.auth_for("acme", "app"))
    _titles(tracker)
    stand_in.expire_installation_tokens()
    _titles(tracker)
    tracker.check_repo("acme", "tools")
    with pytest.raises(RepoNotFound):
        app.installation_for("acme", "private-elsewhere")

    # WHEN the stand-in's log is read
    paths = [r.path for r in stand_in.requests]

    # THEN none of it asked who the credential is
    assert paths and not any(path.rstrip("/").endswith("/user") for path in paths)


# --- secrets -------------------------------------------------------------------------


def test_a_private_key_that_is_not_pem_is_auth_failed_in_a_sentence(stand_in: FakeGitHub, clock: FixedClock) -> None:
    # GIVEN an app configured with something that is not a PEM key
    app = _app(stand_in, clock, pem="not a key at all")

    # WHEN it signs a JWT
    with pytest.raises(AuthFailed) as caught:
        app.jwt()

    # THEN the error says what the key must be
    assert str(caught.value) == (
        "the GitHub App 123's private key cannot be read: it must be the PEM file GitHub issued, without a passphrase"
    )


def test_a_private_key_that_is_not_rsa_is_auth_failed(stand_in: FakeGitHub, clock: FixedClock) -> None:
    # GIVEN an app configured with an elliptic-curve key
    app = _app(stand_in, clock, pem=_pem(ec.generate_private_key(ec.SECP256R1())))

    # WHEN it signs a JWT
    with pytest.raises(AuthFailed) as caught:
        app.jwt()

    # THEN the error names the key type GitHub needs
    assert "is not an RSA key" in str(caught.value)


def test_a_key_with_escaped_newlines_is_read(stand_in: FakeGitHub, clock: FixedClock) -> None:
    # GIVEN the PEM as an environment variable or JSON secret often holds it: newlines as \n
    app = _app(stand_in, clock, pem=APP_PEM.replace("\n", "\\n"))

    # WHEN the app looks for its installation
    installation = app.installation_for("acme", "app")

    # THEN the key signed a JWT the stand-in accepted
    assert installation == 11


def _chain(error: BaseException) -> list[str]:
    texts = []
    current: BaseException | None = error
    while current is not None:
        texts += [str(current), repr(current)]
        current = current.__cause__ or current.__context__
    return texts


def test_no_private_key_jwt_or_installation_token_appears_in_errors_or_reprs(
    stand_in: FakeGitHub, clock: FixedClock
) -> None:
    # GIVEN every way app authentication fails, with its objects in play
    app = _app(stand_in, clock)
    auth = app.auth_for("acme", "app")
    tracker = GitHubTracker(stand_in.base_url, auth)
    _titles(tracker)
    stand_in.inject("unauthorized", repo="acme/app", times=2)
    failures: list[Exception] = []
    attempts: list[Callable[[], object]] = [
        lambda: _titles(tracker),
        lambda: _app(stand_in, clock, pem=_pem(OTHER_KEY)).installation_for("acme", "tools"),
        lambda: _app(stand_in, clock, pem=APP_PEM[:200]).jwt(),
        lambda: _app(stand_in, clock, pem=APP_PEM.replace("A", "B")).jwt(),
        lambda: app.installation_for("acme", "private-elsewhere"),
        lambda: _titles(GitHubTracker(stand_in.base_url, auth), repo="tools"),
    ]
    for attempt in attempts:
        with pytest.raises((AuthFailed, RepoNotFound)) as caught:
            attempt()
        failures.append(caught.value)

    # WHEN every message, repr and cause is read
    texts = [text for failure in failures for text in _chain(failure)]
    texts += [repr(app), repr(auth), repr(tracker), str(tracker)]

    # THEN none holds the key, a JWT or an installation token the stand-in saw
    sent = {r.header("Authorization") or "" for r in stand_in.requests}
    secrets = {f"credential {n}": header.partition(" ")[2] for n, header in enumerate(sorted(sent)) if header}
    secrets["private key"] = "".join(APP_PEM.splitlines()[1:-1])
    secrets["other private key"] = "".join(_pem(OTHER_KEY).splitlines()[1:-1])
    assert any(value.startswith("ghs_") for value in secrets.values())
    assert any(value.startswith("ey") for value in secrets.values())
    assert len(failures) == len(attempts)
    assert leaks(secrets, texts) == []


def test_a_jwt_github_quotes_back_is_not_in_the_error_even_where_the_message_is_cut(
    stand_in: FakeGitHub, clock: FixedClock
) -> None:
    # GIVEN GitHub refusing the installation lookup with a message that quotes the JWT (longer
    # than the 200 characters of a message intake keeps)
    stand_in.inject("forbidden", repo="acme/app", message=f"Forbidden to {ECHO_CREDENTIAL}")

    # WHEN the app looks for its installation
    with pytest.raises(AuthFailed) as caught:
        _app(stand_in, clock).installation_for("acme", "app")

    # THEN the error keeps GitHub's words, and no piece of the JWT
    sent = (_lookups(stand_in)[0].header("Authorization") or "").partition(" ")[2]
    assert sent.startswith("ey") and len(sent) > 200
    assert "Forbidden to ***" in str(caught.value)
    assert leaks({"JWT": sent}, _chain(caught.value)) == []


def test_an_installation_token_is_never_in_a_rate_limit_message(stand_in: FakeGitHub, clock: FixedClock) -> None:
    # GIVEN an installation whose budget is spent
    tracker = GitHubTracker(stand_in.base_url, _app(stand_in, clock).auth_for("acme", "app"))
    stand_in.set_installation_rate_limit(11, remaining=0, reset_in=int(timedelta(minutes=10).total_seconds()))

    # WHEN it lists
    with pytest.raises(PrimaryRateLimited) as caught:
        _titles(tracker)

    # THEN the error names the limit, not the token
    token = (stand_in.requests[-1].header("Authorization") or "").partition(" ")[2]
    assert token.startswith("ghs_")
    assert leaks({"installation token": token}, _chain(caught.value)) == []

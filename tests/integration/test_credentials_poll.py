"""Credentials through the deployed wiring (issue 16): each credential on its own budget and ETags.

The real dispatcher and poller handlers with the ports their composition roots build, moto's
DynamoDB and Secrets Manager, and the loopback stand-in playing GitHub and a GitHub App. What
GitHub saw is read from the stand-in's request log; what AWS saw, from each container's client.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from aws_lambda_powertools.utilities import parameters
from credentials_support import APP_ID, APP_PUBLIC_PEM, TOKEN, CredentialWorld, _pem, _public_pem, identity_of_token
from cryptography.hazmat.primitives.asymmetric import rsa

from intake_dev.fake_github import FakeGitHub
from tracker_intake.adapters.github_app import forget_cached_credentials
from tracker_intake.adapters.github_token import token_key
from tracker_intake.domain.records import PRIMARY_COST_HISTORY, Installation, PollState

CI_TOKEN = "ghp_ciBotCredential0123456789abcdefABCD"
NARROW_TOKEN = "ghp_narrowCredential0123456789abcdefAB"
REVOKED_TOKEN = "ghp_revokedCredential0123456789abcdefA"


@pytest.fixture(autouse=True)
def fresh_caches() -> Iterator[None]:
    """Installation ids, installation tokens and secrets are cached per process: none carried over."""
    forget_cached_credentials()
    parameters.clear_caches()  # type: ignore[no-untyped-call]
    yield
    forget_cached_credentials()
    parameters.clear_caches()  # type: ignore[no-untyped-call]


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    """The stand-in knowing three plain tokens (any other is 401) and app 123 with two installations:
    11 on acme/alpha and acme/alpha-2, 12 on acme/beta."""
    with FakeGitHub(tokens=[TOKEN, CI_TOKEN, NARROW_TOKEN]) as fake:
        fake.add_app(APP_ID, APP_PUBLIC_PEM)
        fake.add_installation(APP_ID, 11, ["acme/alpha", "acme/alpha-2"])
        fake.add_installation(APP_ID, 12, ["acme/beta"])
        yield fake


@pytest.fixture
def world(aws: dict[str, Any], github: FakeGitHub) -> CredentialWorld:
    world = CredentialWorld(aws, github)
    world.register_app("bot-app")
    return world


# --- each installation its own budget ---------------------------------------------------------


def test_a_spent_installation_pauses_only_its_own_projects_and_the_next_tick_polls_the_other(
    world: CredentialWorld, github: FakeGitHub
) -> None:
    # GIVEN two projects on installation 11 and one on installation 12 of the same app, polled
    # until each has found its installation and answered 304
    world.add_project("a1", "acme/alpha", "bot-app")
    world.add_project("a2", "acme/alpha-2", "bot-app")
    world.add_project("b", "acme/beta", "bot-app")
    world.settle()
    assert [world.project(p).installation for p in ("a1", "a2", "b")] == [
        Installation(APP_ID, 11),
        Installation(APP_ID, 11),
        Installation(APP_ID, 12),
    ]
    # AND installation 11's primary limit then spent, for ten minutes
    github.set_installation_rate_limit(11, remaining=0, reset_in=600)
    github.clear_requests()

    # WHEN a tick meets the limit, and the next tick runs a minute later
    met = world.tick()
    limited = github.requests
    world.clock.advance(60)
    github.clear_requests()
    after = world.tick()

    # THEN the first tick asked installation 11 once (its 403) and nothing more of it, and 12 as usual
    assert [(r.identity, r.status) for r in limited] == [("installation:11", 403), ("installation:12", 304)]
    assert met["dispatched"] == 3
    # AND the next tick skipped 11's two projects for the budget, and polled 12's (a 304)
    assert (after["skippedBudget"], after["dispatched"]) == (2, 1)
    assert [(r.identity, r.repo, r.status) for r in github.requests] == [("installation:12", "acme/beta", 304)]
    # AND the pause is on installation 11's own budget item, none on 12's; each paced on its own
    assert world.store.get_pace("app-123-11") is not None and world.store.get_pace("app-123-12") is not None
    spent = world.store.get_budget("app-123-11")
    assert spent is not None and spent.paused_until is not None
    assert spent.paused_until >= world.clock.now() + timedelta(minutes=8)
    other = world.store.get_budget("app-123-12")  # what its 304 said of its own window, no pause
    assert other is None or other.blocked_until(world.clock.now()) is None
    # AND the pause is no project's failure
    for project_id in ("a1", "a2", "b"):
        poll = world.project(project_id).poll
        assert (poll.consecutive_failures, poll.backoff_until) == (0, None), project_id


# --- a project moved to another credential -------------------------------------------------------


def test_a_project_moved_to_another_token_asks_unconditionally_once_then_304s_on_its_new_etag(
    world: CredentialWorld, github: FakeGitHub
) -> None:
    # GIVEN a project on the default token, at rest (its ETag got by that token)
    world.add_project("moving", "acme/moving")
    world.settle()
    assert [page.credential for page in world.pages("moving")] == [token_key(TOKEN)]
    # AND a token credential `ci-bot` registered, and the project moved to it
    world.register_token("ci-bot", CI_TOKEN)
    world.move("moving", "ci-bot")
    github.clear_requests()

    # WHEN the next tick polls it
    world.tick()
    first = world.issue_requests("acme/moving")

    # THEN it asked with the new token and no If-None-Match, and got a 200
    assert [(r.identity, r.header("If-None-Match"), r.status) for r in first] == [
        (identity_of_token(CI_TOKEN), None, 200)
    ]
    # AND its ETag is now the new token's, under the new credential's key
    pages = world.pages("moving")
    assert [page.credential for page in pages] == [token_key(CI_TOKEN)]
    # AND the issue it had already enqueued was not enqueued again
    assert world.drain() == []

    # WHEN the tick after that polls it
    world.clock.advance(60)
    github.clear_requests()
    world.tick()

    # THEN it asked conditionally, with that ETag and the new token, and got a 304
    assert [(r.identity, r.header("If-None-Match"), r.status) for r in world.issue_requests("acme/moving")] == [
        (identity_of_token(CI_TOKEN), pages[0].etag, 304)
    ]


# --- a credential that cannot see the repository --------------------------------------------------


@pytest.mark.parametrize(
    ("credential", "repo", "why"),
    [
        ("bot-app", "acme/elsewhere", "repo_not_found: the GitHub App 123 is not installed on acme/elsewhere"),
        (
            "revoked-bot",
            "acme/elsewhere",
            "auth_failed: GitHub refused access to acme/elsewhere (401: Bad credentials)",
        ),
        ("narrow-bot", "acme/hidden", "repo_not_found: repository acme/hidden not found or not visible"),
    ],
    ids=["app-not-installed", "token-refused-401", "repo-hidden-404"],
)
def test_a_credential_that_cannot_see_the_repository_backs_off_that_project_alone_saying_why(
    world: CredentialWorld, github: FakeGitHub, credential: str, repo: str, why: str
) -> None:
    # GIVEN a project whose credential cannot see its repository: the app is not installed on it,
    # the token is one GitHub refuses, or the repository is hidden from the token (404)
    world.register_token("revoked-bot", REVOKED_TOKEN)
    world.register_token("narrow-bot", NARROW_TOKEN)
    world.add_project("blind", repo, credential)
    if repo == "acme/hidden":
        github.inject("not_found", repo=repo, times=None)
    # AND beside it a project on the default token, one on the same app's installation, one on
    # the same token credential
    world.add_project("plain", "acme/plain")
    world.add_project("app", "acme/beta", "bot-app")
    world.add_project("same-token", "acme/alpha", "narrow-bot" if credential == "narrow-bot" else None)

    # WHEN a tick polls them all
    summary = world.tick()

    # THEN the blind project alone backs off, its status saying why
    blind = world.project("blind").poll
    assert blind.consecutive_failures == 1
    assert blind.backoff_until is not None and blind.backoff_until > world.clock.now()
    assert blind.last_error is not None and blind.last_error.startswith(why), blind.last_error
    # AND the others polled normally: a 200 each, their sessions enqueued, nothing held against them
    assert summary["dispatched"] == 4
    for project_id, polled in (("plain", "acme/plain"), ("app", "acme/beta"), ("same-token", "acme/alpha")):
        assert [r.status for r in world.issue_requests(polled)] == [200], project_id
        state = world.project(project_id).poll
        assert (state.consecutive_failures, state.backoff_until, state.last_error) == (0, None, None), project_id
    assert len(world.drain()) == 3

    # WHEN the next tick runs a minute later
    world.clock.advance(60)
    github.clear_requests()
    later = world.tick()

    # THEN the blind project waits out its backoff, asking GitHub nothing, and the others poll (304)
    assert later["skippedBackoff"] == 1
    assert world.issue_requests(repo) == []
    assert sorted(r.status for r in github.requests) == [304, 304, 304]


# --- steady state costs what it did ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("credential", "repo", "identity"),
    [(None, "acme/plain", identity_of_token(TOKEN)), ("bot-app", "acme/alpha", "installation:11")],
    ids=["default-token", "app-installation"],
)
def test_a_steady_state_poll_is_one_304_one_query_and_the_budget_read_whatever_the_credential(
    world: CredentialWorld, github: FakeGitHub, credential: str | None, repo: str, identity: str
) -> None:
    # GIVEN a one-page project on the credential, polled until it is at rest: its polls answer 304
    # and its recent costs are all zeros (an app's project has found its installation and minted
    # its token by then)
    world.add_project("steady", repo, credential)
    world.settle()
    for _ in range(PRIMARY_COST_HISTORY - 1):  # within the registry's five-minute cache
        world.tick()
    world.reset_counts()

    # WHEN the next tick polls it
    summary = world.tick()

    # THEN GitHub saw one request, a 304 on the project's own credential: no lookup, no mint
    assert summary["dispatched"] == 1
    assert [(r.path.rsplit("/", 1)[-1], r.identity, r.status) for r in github.requests] == [("issues", identity, 304)]
    # AND the poller's container made one Query (the project and its ETags) and one GetItem (the
    # credential's budget), no write, no send; and did not read the registry
    assert dict(world.poller_container.counter.calls) == {"Query": 1, "GetItem": 1}
    assert world.sqs_counter.sqs_sends == 0
    assert not world.poller_container.registry.names


def test_each_container_reads_a_registered_credential_at_most_once_in_five_minutes(
    world: CredentialWorld, github: FakeGitHub
) -> None:
    # GIVEN two projects on a registered token credential and one on a registered app, in warm containers
    world.register_token("ci-bot", CI_TOKEN)
    world.add_project("ci-1", "acme/one", "ci-bot")
    world.add_project("ci-2", "acme/two", "ci-bot")
    world.add_project("app", "acme/alpha", "bot-app")
    world.reset_counts()

    # WHEN the dispatcher ticks every minute for ten minutes (30 polls)
    polls = 0
    for _ in range(10):
        polls += world.tick()["dispatched"]
        world.clock.advance(60)

    # THEN each container read each credential twice (at minutes 0 and 5), never once per poll
    assert polls == 30
    assert dict(world.poller_container.registry.names) == {"ci-bot": 2, "bot-app": 2}
    assert dict(world.dispatcher_container.registry.names) == {"ci-bot": 2, "bot-app": 2}


# --- an installation that no longer sees the repository -------------------------------------------


def test_a_repository_moved_to_another_installation_is_found_again_after_one_backoff(
    world: CredentialWorld, github: FakeGitHub
) -> None:
    # GIVEN a project on installation 11, at rest
    world.add_project("a1", "acme/alpha", "bot-app")
    world.settle()
    # AND its repository then moved to installation 12 of the same app
    github.set_installation_repos(11, ["acme/alpha-2"])
    github.set_installation_repos(12, ["acme/beta", "acme/alpha"])
    github.clear_requests()

    # WHEN a tick polls it with 11's token, and a tick polls it again once its backoff is over
    world.tick()
    failed = world.project("a1")
    first = [(r.path, r.identity, r.status) for r in github.requests]
    world.clock.advance(5 * 60)
    github.clear_requests()
    world.tick()

    # THEN the first poll met a 404 and backed off saying so
    assert first == [("/repos/acme/alpha/issues", "installation:11", 404)]
    assert (failed.poll.last_error or "").startswith("repo_not_found: repository acme/alpha not found")
    # AND the next one looked the installation up again, minted 12's token, and listed with it
    assert [(r.method, r.path, r.status) for r in github.requests] == [
        ("GET", "/repos/acme/alpha/installation", 200),
        ("POST", "/app/installations/12/access_tokens", 201),
        ("GET", "/repos/acme/alpha/issues", 200),
    ]
    recovered = world.project("a1")
    assert recovered.installation == Installation(APP_ID, 12)
    assert (recovered.poll.consecutive_failures, recovered.poll.last_error) == (0, None)


def test_an_app_reinstalled_under_a_new_id_is_found_again_after_one_backoff(
    world: CredentialWorld, github: FakeGitHub
) -> None:
    # GIVEN a project on installation 11, at rest
    world.add_project("a1", "acme/alpha", "bot-app")
    world.settle()
    # AND the app then uninstalled, and installed again (as 13) on the same repositories
    github.uninstall(11)
    github.add_installation(APP_ID, 13, ["acme/alpha", "acme/alpha-2"])
    github.clear_requests()

    # WHEN a tick polls it, and a tick polls it again once its backoff is over
    world.tick()
    failed = world.project("a1")
    first = [(r.method, r.path, r.status) for r in github.requests]
    world.clock.advance(5 * 60)
    github.clear_requests()
    world.tick()

    # THEN the first poll's token was refused, a fresh one could not be minted, and it said why
    assert first == [("GET", "/repos/acme/alpha/issues", 401), ("POST", "/app/installations/11/access_tokens", 404)]
    assert failed.poll.last_error == ("auth_failed: the GitHub App 123 has no installation 11 (was it uninstalled?)")
    # AND the next one found installation 13 and listed with its token
    assert [(r.method, r.path, r.status) for r in github.requests] == [
        ("GET", "/repos/acme/alpha/installation", 200),
        ("POST", "/app/installations/13/access_tokens", 201),
        ("GET", "/repos/acme/alpha/issues", 200),
    ]
    recovered = world.project("a1")
    assert recovered.installation == Installation(APP_ID, 13)
    assert (recovered.poll.consecutive_failures, recovered.poll.last_error) == (0, None)


# --- projects joining an installation ---------------------------------------------------------------


def test_projects_joining_an_installation_at_its_budget_wait_for_its_minute_and_meet_no_secondary_limit(
    aws: dict[str, Any],
) -> None:
    # GIVEN an installation whose budget is 4 requests a minute, as is GitHub's own secondary limit
    # here, and 4 one-page projects on it, polled before (cost and installation known)
    with FakeGitHub(secondary_points_per_minute=4) as github:
        github.add_app(APP_ID, APP_PUBLIC_PEM)
        repos = [f"acme/known-{n}" for n in range(4)] + ["acme/new-0", "acme/new-1"]
        github.add_installation(APP_ID, 11, repos)
        world = CredentialWorld(aws, github, requests_per_minute=4)
        world.register_app("bot-app")
        for n in range(4):
            world.add_project(f"known-{n}", f"acme/known-{n}", "bot-app")
            world.store.save_poll_state(f"known-{n}", PollState(pages_read=1))
            world.store.set_installation(f"known-{n}", Installation(APP_ID, 11))
        world.tick()
        world.clock.advance(60)
        # AND two new projects of the same account joining it, their installation not known yet
        world.add_project("new-0", "acme/new-0", "bot-app")
        world.add_project("new-1", "acme/new-1", "bot-app")

        # WHEN the dispatcher ticks every minute for four minutes
        summaries = []
        for _ in range(4):
            summaries.append(world.tick())
            world.clock.advance(60)
        log = github.requests
        refusals = github.secondary_refusals()

    # THEN GitHub refused nothing: the newcomers were paced on the installation's own minute
    assert refusals == 0
    assert all(r.status in (200, 304) for r in log if r.identity == "installation:11")
    # AND they waited their turn (deferred) and were then polled, their installation found
    assert max(s["deferred"] for s in summaries) > 0
    assert {r.repo for r in log if r.path.endswith("/issues")} >= {"acme/new-0", "acme/new-1"}
    assert world.project("new-0").installation == Installation(APP_ID, 11)


def test_a_private_key_rotated_in_its_secret_is_used_once_the_secret_cache_expires(
    world: CredentialWorld, github: FakeGitHub
) -> None:
    # GIVEN an app project polled in a warm container with the app's first key
    world.add_project("app", "acme/alpha", "bot-app")
    world.settle()
    assert world.project("app").poll.healthy()

    # WHEN the key is rotated: a new one in the same secret, GitHub knowing only the new one, the
    # installation's tokens expired, and five minutes gone (the secret cache's age)
    new_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    registered = world.store.get_credential("bot-app")
    assert registered is not None
    world.secrets.put_secret_value(SecretId=registered.secret_arn, SecretString=_pem(new_key))
    github.add_app(APP_ID, _public_pem(new_key))
    github.expire_installation_tokens()
    parameters.clear_caches()  # type: ignore[no-untyped-call]
    world.reset_counts()
    world.github.repo("acme/alpha").add_issue("after the rotation", labels=["agent"])
    world.settle()

    # THEN the next mint is signed with the new key: accepted, and the new issue is taken
    mints = [r for r in github.requests if r.path.endswith("/access_tokens")]
    assert mints and {r.status for r in mints} == {201}
    assert world.project("app").poll.healthy()

"""The GitHub stand-in itself behaves as GitHub documents it (other tests lean on it)."""

from __future__ import annotations

import json
import os
import subprocess
from typing import Any

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from intake_dev.fake_github import ECHO_CREDENTIAL, LOCKED_COMMENT, FakeGitHub
from intake_dev.sample_repo import load_sample
from intake_dev.template import REPO_ROOT

UA = {"User-Agent": "stand-in-test"}
APP_ID = "123"
APP_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _get(github: FakeGitHub, path: str, token: str | None = None, **headers: str) -> requests.Response:
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return requests.get(github.base_url + path, headers={**UA, **headers}, timeout=5)


def _post(github: FakeGitHub, path: str, payload: Any, token: str | None = "t") -> requests.Response:
    headers = {**UA, **({"Authorization": f"Bearer {token}"} if token is not None else {})}
    return requests.post(github.base_url + path, json=payload, headers=headers, timeout=5)


def _install(github: FakeGitHub, installation_id: int, repos: list[str], **permissions: str) -> str:
    """App APP_ID installed on `repos` with `permissions` (default: GitHub's read-only); a token of it."""
    public = APP_KEY.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    github.add_app(APP_ID, public)
    github.add_installation(APP_ID, installation_id, repos, permissions=permissions or None)
    now = int(github.clock())
    app_jwt = jwt.encode({"iss": APP_ID, "iat": now - 30, "exp": now + 300}, APP_KEY, algorithm="RS256")
    minted = requests.post(
        f"{github.base_url}/app/installations/{installation_id}/access_tokens",
        headers={**UA, "Authorization": f"Bearer {app_jwt}"},
        timeout=5,
    )
    assert minted.status_code == 201
    token: str = minted.json()["token"]
    return token


def _numbers(response: requests.Response) -> list[int]:
    body: list[dict[str, Any]] = response.json()
    return [item["number"] for item in body]


def test_default_listing_is_open_issues_newest_first_thirty_a_page(github: FakeGitHub) -> None:
    # GIVEN 35 open issues and a closed one
    repo = github.add_repo("acme", "widgets")
    for n in range(35):
        repo.add_issue(f"issue {n}")
    repo.close_issue(1)

    # WHEN the list is asked without parameters
    response = _get(github, "/repos/acme/widgets/issues")

    # THEN it is GitHub's default: open, by created date descending, 30 per page
    assert response.status_code == 200
    assert _numbers(response) == list(range(35, 5, -1))
    assert 'rel="next"' in response.headers["Link"] and 'rel="last"' in response.headers["Link"]


def test_labels_filter_needs_every_label_case_insensitively(github: FakeGitHub) -> None:
    # GIVEN issues with different label sets
    repo = github.add_repo("acme", "widgets")
    repo.add_issue("both", labels=["Agent", "bug"])
    repo.add_issue("one", labels=["agent"])
    repo.add_issue("none")

    # WHEN two labels are asked for
    response = _get(github, "/repos/acme/widgets/issues?labels=agent,BUG")

    # THEN only the issue with both matches
    assert _numbers(response) == [1]


def test_assignee_filter_takes_a_login_star_or_none(github: FakeGitHub) -> None:
    # GIVEN an issue assigned to Dev-Bot, one to ana, one to nobody
    repo = github.add_repo("acme", "widgets")
    repo.add_issue("bot", assignees=["Dev-Bot"])
    repo.add_issue("ana", assignees=["ana"])
    repo.add_issue("nobody")

    # WHEN each assignee form is asked
    by = {
        a: _numbers(_get(github, f"/repos/acme/widgets/issues?assignee={a}&direction=asc"))
        for a in ["dev-bot", "*", "none"]
    }

    # THEN a login matches case-insensitively, * means anyone, none means nobody
    assert by == {"dev-bot": [1], "*": [1, 2], "none": [3]}


def test_pull_requests_are_listed_with_a_pull_request_key(github: FakeGitHub) -> None:
    # GIVEN an issue and a pull request
    repo = github.add_repo("acme", "widgets")
    repo.add_issue("issue")
    repo.add_issue("pr", pull_request=True)

    # WHEN the issues are listed
    body = _get(github, "/repos/acme/widgets/issues?direction=asc").json()

    # THEN both are there, only the pull request with the key
    assert ["pull_request" in item for item in body] == [False, True]


def test_links_are_absolute_repositories_id_urls_keeping_the_query(github: FakeGitHub) -> None:
    # GIVEN three pages of two
    repo = github.add_repo("acme", "widgets", repo_id=77)
    for n in range(6):
        repo.add_issue(f"issue {n}", labels=["good first issue"])

    # WHEN page 2 is asked
    response = _get(github, "/repos/acme/widgets/issues?labels=good%20first%20issue&per_page=2&page=2")

    # THEN every relation points at /repositories/77 with the same filter
    links = {rel: link["url"] for rel, link in response.links.items()}
    base = f"{github.base_url}/repositories/77/issues?labels=good%20first%20issue&per_page=2"
    assert links == {
        "prev": base + "&page=1",
        "next": base + "&page=3",
        "last": base + "&page=3",
        "first": base + "&page=1",
    }


def test_matching_if_none_match_gives_304_without_spending_rate_limit(github: FakeGitHub) -> None:
    # GIVEN a listing and its ETag
    github.add_repo("acme", "widgets", weak_etags=True).add_issue("one")
    first = _get(github, "/repos/acme/widgets/issues", token="t")

    # WHEN it is asked again with that ETag
    second = _get(github, "/repos/acme/widgets/issues", token="t", **{"If-None-Match": first.headers["ETag"]})

    # THEN it is a 304 with the same weak ETag, and the remaining count did not drop
    assert first.headers["ETag"].startswith('W/"')
    assert second.status_code == 304 and second.content == b""
    assert second.headers["ETag"] == first.headers["ETag"]
    assert second.headers["x-ratelimit-remaining"] == first.headers["x-ratelimit-remaining"] == "4999"


def test_etag_changes_when_the_listed_content_changes(github: FakeGitHub) -> None:
    # GIVEN a listing and its ETag
    repo = github.add_repo("acme", "widgets")
    repo.add_issue("one")
    before = _get(github, "/repos/acme/widgets/issues").headers["ETag"]

    # WHEN the issue is edited
    repo.update_issue(1, title="one, edited")
    after = _get(github, "/repos/acme/widgets/issues", **{"If-None-Match": before})

    # THEN the old ETag no longer matches
    assert after.status_code == 200
    assert after.headers["ETag"] != before


def test_anonymous_calls_get_sixty_an_hour(github: FakeGitHub) -> None:
    # GIVEN a public repository
    github.add_repo("acme", "widgets")

    # WHEN it is listed without a token
    response = _get(github, "/repos/acme/widgets/issues")

    # THEN the anonymous limit applies
    assert response.headers["x-ratelimit-limit"] == "60"
    assert response.headers["x-ratelimit-remaining"] == "59"
    assert response.headers["x-ratelimit-resource"] == "core"


def test_unknown_repository_is_githubs_json_404(github: FakeGitHub) -> None:
    # GIVEN no repositories
    # WHEN one is asked for
    response = _get(github, "/repos/acme/nothing/issues")

    # THEN GitHub's 404 body comes back
    assert response.status_code == 404
    assert response.json()["message"] == "Not Found"


def test_requests_are_recorded_per_repository(github: FakeGitHub) -> None:
    # GIVEN two repositories
    github.add_repo("acme", "a", repo_id=1)
    github.add_repo("acme", "b")

    # WHEN one is asked twice, once through its id
    _get(github, "/repos/acme/a/issues")
    _get(github, "/repositories/1/issues?page=2")
    _get(github, "/repos/acme/b/issues")

    # THEN the log attributes each request to its repository
    assert [r.query.get("page") for r in github.requests_for("ACME/A")] == [None, "2"]
    assert len(github.requests_for("acme/b")) == 1


def test_a_fault_scoped_to_a_repository_and_page_fires_only_there(github: FakeGitHub) -> None:
    # GIVEN two repositories and a 500 for acme/a page 2
    github.add_repo("acme", "a")
    github.add_repo("acme", "b")
    github.inject("server_error", repo="acme/a", page=2)

    # WHEN several pages are asked
    statuses = [
        _get(github, path).status_code
        for path in ["/repos/acme/b/issues?page=2", "/repos/acme/a/issues", "/repos/acme/a/issues?page=2"]
    ]

    # THEN only the matching request failed, once
    assert statuses == [200, 200, 500]
    assert _get(github, "/repos/acme/a/issues?page=2").status_code == 200


def test_a_fault_can_echo_the_token_the_request_carried(github: FakeGitHub) -> None:
    # GIVEN two faults on acme/app that quote the request's token, in a message and in a raw body
    github.add_repo("acme", "app")
    github.inject("forbidden", repo="acme/app", message=f"not for {ECHO_CREDENTIAL}")
    github.inject("status", repo="acme/app", status=503, body=f"proxy saw Bearer {ECHO_CREDENTIAL}")

    # WHEN two requests carry two tokens
    first = _get(github, "/repos/acme/app/issues", "ghp_first")
    second = _get(github, "/repos/acme/app/issues", "ghp_second")

    # THEN each answer quotes its own request's token
    assert (first.status_code, first.json()["message"]) == (403, "not for ghp_first")
    assert (second.status_code, second.text) == (503, "proxy saw Bearer ghp_second")


def test_sample_repository_has_the_cases_the_demo_needs(github: FakeGitHub) -> None:
    # GIVEN the bundled sample
    repo = load_sample(github)

    # WHEN its issues are read
    issues = repo.issues()

    # THEN it holds a pull request, an in-progress issue, a closed one and a long unicode body
    assert repo.full_name == "acme/widgets"
    assert 10 <= len(issues) <= 15
    assert any("pull_request" in i for i in issues)
    assert any("in-progress" in [label["name"] for label in i["labels"]] for i in issues)
    assert any(i["state"] == "closed" for i in issues)
    long_body = max((i["body"] or "" for i in issues), key=len)
    assert len(long_body.encode()) > 5 * 1024 and not long_body.isascii()
    # AND its authors are the owner, members, and one stranger whose issue carries the label
    associations = {i["author_association"] for i in issues}
    assert associations == {"OWNER", "MEMBER", "NONE"}
    (stranger,) = [i for i in issues if i["author_association"] == "NONE"]
    assert "agent" in [label["name"] for label in stranger["labels"]] and stranger["state"] == "open"
    # AND the member may write (a maintainer), so the demo's member issues start sessions
    (member,) = {i["user"]["login"] for i in issues if i["author_association"] == "MEMBER"}
    assert repo.permission_of(member) == ("maintain", "write")


def test_author_association_is_served_per_issue_as_set(github: FakeGitHub) -> None:
    # GIVEN issues by the owner, by someone with no association given, and by a stranger
    repo = github.add_repo("acme", "app")
    repo.add_issue("by the owner", user="acme")
    repo.add_issue("by a collaborator")
    repo.add_issue("by a stranger", user="drive-by", author_association="NONE")
    # WHEN the stranger becomes a contributor
    repo.update_issue(3, author_association="CONTRIBUTOR")
    # THEN each issue carries GitHub's field: OWNER for the owner, COLLABORATOR by default, else as set
    assert [i["author_association"] for i in repo.issues()] == ["OWNER", "COLLABORATOR", "CONTRIBUTOR"]


# --- GitHub's behaviour the poll pipeline must survive (issue: GitHub as it really behaves) ---------


class SimClock:
    """Epoch seconds a test moves by hand, for the stand-in's rolling windows."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


def test_etag_covers_the_body_only_so_a_full_page_keeps_it_when_a_next_page_appears() -> None:
    # GIVEN exactly 100 open issues: one full page, no next link
    with FakeGitHub() as github:
        repo = github.add_repo("acme", "widgets")
        for n in range(100):
            repo.add_issue(f"issue {n}")
        query = "/repos/acme/widgets/issues?state=open&sort=created&direction=asc&per_page=100"
        first = _get(github, query, token="t")
        assert "next" not in first.links
        # WHEN a 101st issue opens a second page
        repo.add_issue("issue 100")
        again = _get(github, query, token="t", **{"If-None-Match": first.headers["ETag"]})
        fresh = _get(github, query, token="t")
    # THEN page 1 still answers 304 to its old ETag, although its Link now names a next page
    assert again.status_code == 304
    assert fresh.headers["ETag"] == first.headers["ETag"]
    assert "next" in fresh.links


def test_secondary_limit_counts_every_request_per_token_in_a_rolling_minute_304s_included() -> None:
    # GIVEN a stand-in allowing 5 points a minute per token, on a clock the test moves
    clock = SimClock()
    with FakeGitHub(clock=clock, secondary_points_per_minute=5) as github:
        github.add_repo("acme", "widgets").add_issue("one")
        etag = _get(github, "/repos/acme/widgets/issues", token="a").headers["ETag"]
        # WHEN the same token asks 4 more times conditionally (304s) and then once more
        statuses = [
            _get(github, "/repos/acme/widgets/issues", token="a", **{"If-None-Match": etag}).status_code
            for _ in range(4)
        ]
        refused = _get(github, "/repos/acme/widgets/issues", token="a", **{"If-None-Match": etag})
        other_token = _get(github, "/repos/acme/widgets/issues", token="b")
        # AND a minute later it asks again
        clock.now += 60
        later = _get(github, "/repos/acme/widgets/issues", token="a", **{"If-None-Match": etag})
        refusals = github.secondary_refusals()
    # THEN the 304s counted, the sixth request was GitHub's secondary-limit 403 with retry-after,
    # another token was unaffected, and the window rolled on
    assert statuses == [304, 304, 304, 304]
    assert refused.status_code == 403
    assert refused.headers["retry-after"] == "60"
    assert "secondary rate limit" in refused.json()["message"]
    assert other_token.status_code == 200
    assert later.status_code == 304
    assert refusals == 1


def test_secondary_limit_refuses_requests_beyond_the_concurrency_bound() -> None:
    # GIVEN a stand-in allowing 2 requests in flight per token, whose answers are slow
    import threading

    with FakeGitHub(secondary_concurrency=2) as github:
        github.add_repo("acme", "widgets").add_issue("one")
        github.inject("slow", times=3, seconds=0.5)
        results: list[int] = []

        def ask() -> None:
            results.append(_get(github, "/repos/acme/widgets/issues", token="a").status_code)

        # WHEN three requests of one token are in flight at once
        threads = [threading.Thread(target=ask) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        peak = github.max_in_flight
    # THEN one of them was refused as a secondary limit
    assert sorted(results) == [200, 200, 403]
    assert max(peak.values()) == 3


def test_an_anonymous_304_spends_primary_rate_limit_an_authorized_one_does_not(github: FakeGitHub) -> None:
    # GIVEN a listing asked once without a token and once with one
    github.add_repo("acme", "widgets").add_issue("one")
    anonymous = _get(github, "/repos/acme/widgets/issues")
    authorized = _get(github, "/repos/acme/widgets/issues", token="t")
    # WHEN each asks again conditionally
    anonymous_304 = _get(github, "/repos/acme/widgets/issues", **{"If-None-Match": anonymous.headers["ETag"]})
    authorized_304 = _get(
        github, "/repos/acme/widgets/issues", token="t", **{"If-None-Match": authorized.headers["ETag"]}
    )
    # THEN only the anonymous 304 cost a request of the primary budget
    assert anonymous_304.status_code == authorized_304.status_code == 304
    assert int(anonymous_304.headers["x-ratelimit-remaining"]) == int(anonymous.headers["x-ratelimit-remaining"]) - 1
    assert authorized_304.headers["x-ratelimit-remaining"] == authorized.headers["x-ratelimit-remaining"]


# --- writes to an issue (the acknowledgement a launch leaves) --------------------------------


def test_a_comment_is_created_with_its_location_and_bumps_the_issue(github: FakeGitHub) -> None:
    # GIVEN an issue and the listing's ETag
    repo = github.add_repo("acme", "widgets")
    repo.add_issue("one")
    before = _get(github, "/repos/acme/widgets/issues", token="t")

    # WHEN a token comments on it
    response = _post(github, "/repos/acme/widgets/issues/1/comments", {"body": "On it: session 7"})

    # THEN GitHub's 201 with the comment, its API URL in Location, written by the token's user
    assert response.status_code == 201
    comment = response.json()
    assert response.headers["Location"] == comment["url"]
    assert comment["url"] == f"{github.base_url}/repos/acme/widgets/issues/comments/{comment['id']}"
    assert comment["html_url"] == f"https://github.com/acme/widgets/issues/1#issuecomment-{comment['id']}"
    assert comment["issue_url"] == f"{github.base_url}/repos/acme/widgets/issues/1"
    assert (comment["body"], comment["user"]["login"], comment["author_association"]) == (
        "On it: session 7",
        "intake-bot",
        "COLLABORATOR",
    )
    assert {"node_id", "created_at", "updated_at"} <= comment.keys()
    # AND the issue counts it and moved, so the listing's old ETag no longer matches
    assert repo.issue(1)["comments"] == 1
    assert repo.issue(1)["updated_at"] > before.json()[0]["updated_at"]
    again = _get(github, "/repos/acme/widgets/issues", token="t", **{"If-None-Match": before.headers["ETag"]})
    assert again.status_code == 200
    # AND the stand-in keeps it and logs the write with its body
    assert repo.comments(1) == [comment]
    (write,) = github.writes("acme/widgets")
    assert (write.method, json.loads(write.body)) == ("POST", {"body": "On it: session 7"})


def test_a_comment_without_a_body_is_422_and_a_body_that_is_not_json_400(github: FakeGitHub) -> None:
    # GIVEN an issue
    github.add_repo("acme", "widgets").add_issue("one")

    # WHEN comments are posted without a body, with an empty one, and with broken JSON
    missing = _post(github, "/repos/acme/widgets/issues/1/comments", {})
    empty = _post(github, "/repos/acme/widgets/issues/1/comments", {"body": ""})
    broken = requests.post(
        github.base_url + "/repos/acme/widgets/issues/1/comments",
        data=b'{"body": ',
        headers={**UA, "Authorization": "Bearer t"},
        timeout=5,
    )

    # THEN GitHub's validation failure twice, and its parse error
    assert [missing.status_code, empty.status_code, broken.status_code] == [422, 422, 400]
    assert missing.json()["message"] == "Validation Failed"
    assert github.repo("acme/widgets").comments(1) == []


def test_a_repeated_reaction_is_200_with_the_reaction_that_exists(github: FakeGitHub) -> None:
    # GIVEN an issue, and two tokens of two users
    repo = github.add_repo("acme", "widgets")
    repo.add_issue("one")
    github.set_login("t2", "ana")

    # WHEN the first reacts with eyes twice, then the second once
    first = _post(github, "/repos/acme/widgets/issues/1/reactions", {"content": "eyes"})
    repeated = _post(github, "/repos/acme/widgets/issues/1/reactions", {"content": "eyes"})
    other = _post(github, "/repos/acme/widgets/issues/1/reactions", {"content": "eyes"}, token="t2")

    # THEN 201 created, 200 with the same reaction, 201 for the other user; two reactions kept
    assert [first.status_code, repeated.status_code, other.status_code] == [201, 200, 201]
    assert repeated.json() == first.json()
    assert set(first.json()) == {"id", "node_id", "user", "content", "created_at"}
    assert [(r["user"]["login"], r["content"]) for r in repo.reactions(1)] == [("intake-bot", "eyes"), ("ana", "eyes")]


def test_a_reaction_github_does_not_know_is_422(github: FakeGitHub) -> None:
    # GIVEN an issue
    github.add_repo("acme", "widgets").add_issue("one")

    # WHEN a reaction outside GitHub's eight is posted
    response = _post(github, "/repos/acme/widgets/issues/1/reactions", {"content": "thumbsup"})

    # THEN GitHub's validation failure, and nothing is kept
    assert response.status_code == 422
    assert response.json()["message"] == "Validation Failed"
    assert github.repo("acme/widgets").reactions(1) == []


def test_adding_labels_creates_a_missing_label_and_never_duplicates_one(github: FakeGitHub) -> None:
    # GIVEN an issue labelled agent, in a repository that has no in-progress label yet
    repo = github.add_repo("acme", "widgets")
    repo.add_issue("one", labels=["agent"])
    updated = repo.issue(1)["updated_at"]

    # WHEN in-progress is added, then added again with agent, as a bare array in other case
    first = _post(github, "/repos/acme/widgets/issues/1/labels", {"labels": ["in-progress"]})
    moved = repo.issue(1)["updated_at"]
    second = _post(github, "/repos/acme/widgets/issues/1/labels", ["IN-PROGRESS", "agent"])

    # THEN both answer 200 with the issue's full label objects, each label once
    assert first.status_code == second.status_code == 200
    assert [label["name"] for label in first.json()] == ["agent", "in-progress"]
    assert second.json() == first.json()
    assert first.json()[1] == repo.label("in-progress")
    # AND only the change moved updated_at
    assert moved > updated
    assert repo.issue(1)["updated_at"] == moved


def test_comment_listing_takes_since_and_pages_ascending_with_links(github: FakeGitHub) -> None:
    # GIVEN five comments on an issue
    repo = github.add_repo("acme", "widgets", repo_id=77)
    repo.add_issue("one")
    comments = [repo.add_comment(1, f"comment {n}") for n in range(5)]

    # WHEN comments since the third are asked, then all of them two a page
    since = _get(github, f"/repos/acme/widgets/issues/1/comments?since={comments[2]['updated_at']}")
    page_1 = _get(github, "/repos/acme/widgets/issues/1/comments?per_page=2")
    page_3 = _get(github, "/repos/acme/widgets/issues/1/comments?per_page=2&page=3")

    # THEN since keeps comments updated at or after it; pages go by ascending id with Links
    assert [c["body"] for c in since.json()] == ["comment 2", "comment 3", "comment 4"]
    assert "Link" not in since.headers
    assert [c["id"] for c in page_1.json()] == [c["id"] for c in comments[:2]]
    base = f"{github.base_url}/repositories/77/issues/1/comments?per_page=2"
    assert {rel: link["url"] for rel, link in page_1.links.items()} == {
        "next": base + "&page=2",
        "last": base + "&page=3",
    }
    assert [c["body"] for c in page_3.json()] == ["comment 4"]
    assert set(page_3.links) == {"prev", "first"}


def test_an_installation_writes_only_with_issues_write_and_as_its_bot(github: FakeGitHub) -> None:
    # GIVEN one installation with GitHub's default read permissions and one with issues: write
    github.add_repo("acme", "widgets").add_issue("one")
    reader = _install(github, 11, ["acme/widgets"])
    writer = _install(github, 12, ["acme/widgets"], issues="write", metadata="read")

    # WHEN each comments, and the reader lists the comments
    refused = _post(github, "/repos/acme/widgets/issues/1/comments", {"body": "hi"}, token=reader)
    written = _post(github, "/repos/acme/widgets/issues/1/comments", {"body": "hi"}, token=writer)
    listed = _get(github, "/repos/acme/widgets/issues/1/comments", token=reader)

    # THEN the reader gets GitHub's 403 for integrations but may read; the writer writes as the bot
    assert refused.status_code == 403
    assert refused.json()["message"] == "Resource not accessible by integration"
    assert written.status_code == 201
    user = written.json()["user"]
    assert (user["login"], user["type"]) == (f"app-{APP_ID}[bot]", "Bot")
    assert listed.status_code == 200 and len(listed.json()) == 1


def test_an_installation_serves_the_permissions_it_was_given(github: FakeGitHub) -> None:
    # GIVEN an app installed with issues: write
    github.add_repo("acme", "widgets")
    _install(github, 12, ["acme/widgets"], issues="write", metadata="read")
    now = int(github.clock())
    app_jwt = jwt.encode({"iss": APP_ID, "iat": now - 30, "exp": now + 300}, APP_KEY, algorithm="RS256")

    # WHEN the app looks its installation up and mints a token
    headers = {**UA, "Authorization": f"Bearer {app_jwt}"}
    installation = requests.get(f"{github.base_url}/repos/acme/widgets/installation", headers=headers, timeout=5)
    minted = requests.post(f"{github.base_url}/app/installations/12/access_tokens", headers=headers, timeout=5)

    # THEN both carry those permissions
    assert installation.json()["permissions"] == minted.json()["permissions"] == {"issues": "write", "metadata": "read"}


def test_a_read_only_token_reads_but_its_writes_are_403() -> None:
    # GIVEN a stand-in where one token is read-only
    with FakeGitHub(read_only_tokens=["ghp_reader"]) as github:
        github.add_repo("acme", "widgets").add_issue("one")

        # WHEN it lists the issues and reacts to one
        listed = _get(github, "/repos/acme/widgets/issues", token="ghp_reader")
        refused = _post(github, "/repos/acme/widgets/issues/1/reactions", {"content": "eyes"}, token="ghp_reader")

    # THEN the read works and the write is GitHub's 403 for a personal access token
    assert listed.status_code == 200
    assert refused.status_code == 403
    assert refused.json()["message"] == "Resource not accessible by personal access token"


def test_an_anonymous_write_needs_authentication(github: FakeGitHub) -> None:
    # GIVEN a public repository's issue
    github.add_repo("acme", "widgets").add_issue("one")

    # WHEN it is commented on without a token
    response = _post(github, "/repos/acme/widgets/issues/1/comments", {"body": "hi"}, token=None)

    # THEN GitHub's 401
    assert response.status_code == 401
    assert response.json()["message"] == "Requires authentication"


def test_writes_to_a_missing_issue_are_404_and_to_a_repository_without_issues_410(github: FakeGitHub) -> None:
    # GIVEN a repository with issue 1 and one with issues turned off
    github.add_repo("acme", "widgets").add_issue("one")
    github.add_repo("acme", "quiet", has_issues=False)

    # WHEN each kind of write goes to issue 2 of the first and issue 1 of the second
    missing = [
        _post(github, "/repos/acme/widgets/issues/2/comments", {"body": "hi"}).status_code,
        _post(github, "/repos/acme/widgets/issues/2/reactions", {"content": "eyes"}).status_code,
        _post(github, "/repos/acme/widgets/issues/2/labels", {"labels": ["x"]}).status_code,
    ]
    gone = _post(github, "/repos/acme/quiet/issues/1/comments", {"body": "hi"})

    # THEN 404s, and GitHub's 410
    assert missing == [404, 404, 404]
    assert gone.status_code == 410
    assert gone.json()["message"] == "Issues are disabled for this repo"


def test_a_locked_issue_refuses_an_apps_comment_and_every_reaction_but_takes_labels(github: FakeGitHub) -> None:
    # GIVEN a locked issue, an installation with issues: write and a collaborator's token
    repo = github.add_repo("acme", "widgets")
    repo.add_issue("heated", locked=True)
    app = _install(github, 12, ["acme/widgets"], issues="write", metadata="read")

    # WHEN each comments and reacts, and the app adds a label
    app_comment = _post(github, "/repos/acme/widgets/issues/1/comments", {"body": "hi"}, token=app)
    collaborator_comment = _post(github, "/repos/acme/widgets/issues/1/comments", {"body": "hi"})
    reactions = [
        _post(github, "/repos/acme/widgets/issues/1/reactions", {"content": "eyes"}, token=t).status_code
        for t in (app, "t")
    ]
    labels = _post(github, "/repos/acme/widgets/issues/1/labels", {"labels": ["in-progress"]}, token=app)

    # THEN the app's comment is GitHub's locked-issue 403, a person with write access may comment,
    # reactions are off for everyone, and labels are not part of the conversation
    assert (app_comment.status_code, app_comment.json()["message"]) == (403, LOCKED_COMMENT)
    assert collaborator_comment.status_code == 201
    assert reactions == [403, 403]
    assert labels.status_code == 200
    assert repo.issue(1)["locked"] is True


def test_writes_spend_the_primary_limit_and_carry_its_headers(github: FakeGitHub) -> None:
    # GIVEN an issue
    github.add_repo("acme", "widgets").add_issue("one")

    # WHEN a token writes, then reads
    written = _post(github, "/repos/acme/widgets/issues/1/reactions", {"content": "rocket"})
    read = _get(github, "/repos/acme/widgets/issues", token="t")

    # THEN each spent one request of the token's hour
    assert written.headers["x-ratelimit-remaining"] == "4999"
    assert read.headers["x-ratelimit-remaining"] == "4998"


def test_a_write_costs_five_secondary_points() -> None:
    # GIVEN a stand-in allowing 11 points a minute, on a clock the test moves
    clock = SimClock()
    with FakeGitHub(clock=clock, secondary_points_per_minute=11) as github:
        github.add_repo("acme", "widgets").add_issue("one")
        # WHEN a token writes twice (10 points), reads once (11), then reads again
        writes = [
            _post(github, "/repos/acme/widgets/issues/1/comments", {"body": f"hi {n}"}).status_code for n in range(2)
        ]
        read = _get(github, "/repos/acme/widgets/issues", token="t")
        refused = _get(github, "/repos/acme/widgets/issues", token="t")
        # AND, a minute later, writes once more
        clock.now += 60
        later = _post(github, "/repos/acme/widgets/issues/1/comments", {"body": "later"})
    # THEN only the twelfth point was refused, as GitHub's secondary limit
    assert writes == [201, 201]
    assert read.status_code == 200
    assert refused.status_code == 403 and "secondary rate limit" in refused.json()["message"]
    assert later.status_code == 201


def test_content_creation_limit_refuses_the_fourth_write_in_a_minute_until_the_window_passes() -> None:
    # GIVEN a stand-in allowing 3 content-generating requests a minute, on a clock the test moves
    clock = SimClock()
    with FakeGitHub(clock=clock, secondary_content_per_minute=3) as github:
        github.add_repo("acme", "widgets").add_issue("one")
        # WHEN a token comments, reacts and labels, then comments again 10 seconds later
        first = [
            _post(github, "/repos/acme/widgets/issues/1/comments", {"body": "hi"}).status_code,
            _post(github, "/repos/acme/widgets/issues/1/reactions", {"content": "eyes"}).status_code,
            _post(github, "/repos/acme/widgets/issues/1/labels", {"labels": ["in-progress"]}).status_code,
        ]
        clock.now += 10
        fourth = _post(github, "/repos/acme/widgets/issues/1/comments", {"body": "again"})
        read = _get(github, "/repos/acme/widgets/issues", token="t")
        # AND once the minute since the first has passed
        clock.now += 50
        after = _post(github, "/repos/acme/widgets/issues/1/comments", {"body": "again"})
        refusals = github.secondary_refusals()
    # THEN the fourth is GitHub's secondary limit with the wait left; reads go on; then it is taken
    assert first == [201, 201, 200]
    assert fourth.status_code == 403
    assert "secondary rate limit" in fourth.json()["message"]
    assert fourth.headers["retry-after"] == "50"
    assert read.status_code == 200
    assert after.status_code == 201
    assert refusals == 1


def test_content_creation_limit_also_counts_an_hour() -> None:
    # GIVEN a stand-in allowing 2 content-generating requests an hour
    clock = SimClock()
    with FakeGitHub(clock=clock, secondary_content_per_hour=2) as github:
        github.add_repo("acme", "widgets").add_issue("one")
        # WHEN a token comments every ten minutes, three times, then an hour after its first
        statuses = []
        for _ in range(3):
            statuses.append(_post(github, "/repos/acme/widgets/issues/1/comments", {"body": "hi"}))
            clock.now += 600
        clock.now += 1800
        later = _post(github, "/repos/acme/widgets/issues/1/comments", {"body": "hi"})
    # THEN the third waits for the first to leave the hour; an hour on, writing goes on
    assert [r.status_code for r in statuses] == [201, 201, 403]
    assert statuses[2].headers["retry-after"] == str(3600 - 1200)
    assert later.status_code == 201


def test_a_fault_injected_for_posts_fails_the_write_and_not_the_poll(github: FakeGitHub) -> None:
    # GIVEN an issue and a 500 for the next POST to acme/widgets
    github.add_repo("acme", "widgets").add_issue("one")
    github.inject("server_error", repo="acme/widgets", method="POST")

    # WHEN the poller lists, a write follows, then both again
    statuses = [
        _get(github, "/repos/acme/widgets/issues", token="t").status_code,
        _post(github, "/repos/acme/widgets/issues/1/reactions", {"content": "eyes"}).status_code,
        _get(github, "/repos/acme/widgets/issues", token="t").status_code,
        _post(github, "/repos/acme/widgets/issues/1/reactions", {"content": "eyes"}).status_code,
    ]

    # THEN only the first write failed, and the log tells writes apart
    assert statuses == [200, 500, 200, 201]
    assert [(r.method, r.status) for r in github.writes()] == [("POST", 500), ("POST", 201)]


# --- the primary window per credential, on the stand-in's clock (issue 23) ------------------------

ISSUES = "/repos/acme/widgets/issues"


def _rate(response: requests.Response) -> tuple[str, str, str, str, str]:
    """(limit, remaining, used, reset, resource) as the answer carries them."""
    h = response.headers
    return (
        h["x-ratelimit-limit"],
        h["x-ratelimit-remaining"],
        h["x-ratelimit-used"],
        h["x-ratelimit-reset"],
        h["x-ratelimit-resource"],
    )


def test_a_primary_window_opens_at_the_credentials_first_request_and_its_reset_is_the_windows_end() -> None:
    # GIVEN a stand-in with 3 requests per 180 s window, on a clock the test moves
    clock = SimClock()
    with FakeGitHub(clock=clock, primary_limit=3, primary_window_seconds=180) as github:
        github.add_repo("acme", "widgets").add_issue("one")
        # WHEN a token first asks 50 s later, then again 100 s after that
        clock.now += 50
        opened = clock.now
        first = _get(github, ISSUES, token="a")
        clock.now += 100
        second = _get(github, ISSUES, token="a")
        # AND another token first asks then
        other = _get(github, ISSUES, token="b")
        log = [(r.at - opened, r.status) for r in github.requests_for("acme/widgets")]
        whose = [r.identity for r in github.requests]
    # THEN the window ends 180 s after the token's first request, and every answer says so
    assert _rate(first) == ("3", "2", "1", str(int(opened) + 180), "core")
    assert _rate(second) == ("3", "1", "2", str(int(opened) + 180), "core")
    # AND the other token's window is its own, from its own first request
    assert _rate(other) == ("3", "2", "1", str(int(opened) + 100 + 180), "core")
    # AND the log dates each request of the repository by the stand-in's clock, and names whose it was
    assert log == [(0, 200), (100, 200), (100, 200)]
    assert whose[0] == whose[1] != whose[2]


def test_a_200_spends_one_request_and_an_authorized_304_none() -> None:
    # GIVEN a small window and a listing's ETag, which cost one request
    clock = SimClock()
    with FakeGitHub(clock=clock, primary_limit=3, primary_window_seconds=180) as github:
        github.add_repo("acme", "widgets").add_issue("one")
        first = _get(github, ISSUES, token="a")
        # WHEN it is asked three times with that ETag, then once without
        not_modified = [_get(github, ISSUES, token="a", **{"If-None-Match": first.headers["ETag"]}) for _ in range(3)]
        fresh = _get(github, ISSUES, token="a")
    # THEN the 304s spent nothing and carried the window; the 200 spent one more
    assert [r.status_code for r in not_modified] == [304, 304, 304]
    assert {_rate(r)[1:3] for r in not_modified} == {("2", "1")}
    assert fresh.status_code == 200 and _rate(fresh)[1:3] == ("1", "2")


def test_a_200_once_the_window_is_spent_is_refused_403_with_remaining_0_and_the_reset() -> None:
    # GIVEN a token that spent its 2 requests of a 180 s window
    clock = SimClock()
    with FakeGitHub(clock=clock, primary_limit=2, primary_window_seconds=180) as github:
        github.add_repo("acme", "widgets").add_issue("one")
        spent = [_get(github, ISSUES, token="a").status_code for _ in range(2)]
        reset = int(clock.now) + 180
        # WHEN it asks again 60 s later, checks its limit, and another token asks
        clock.now += 60
        refused = _get(github, ISSUES, token="a")
        rate_limit = _get(github, "/rate_limit", token="a")
        other = _get(github, ISSUES, token="b")
        refusals = github.primary_refusals()
        (logged,) = [r for r in github.requests if r.status == 403]
    # THEN GitHub's primary-limit refusal: 403, remaining 0, the window's end, its message
    assert spent == [200, 200]
    assert refused.status_code == 403
    assert _rate(refused) == ("2", "0", "2", str(reset), "core")
    assert refused.json()["message"].startswith("API rate limit exceeded for user ID ")
    assert "retry-after" not in refused.headers
    # AND it is counted and logged as the stand-in's own primary refusal, not a secondary one
    assert refusals == 1
    assert logged.primary_limited and not logged.secondary_limited
    # AND GET /rate_limit still answers, and another token has its own window
    assert rate_limit.status_code == 200 and rate_limit.json()["rate"]["remaining"] == 0
    assert other.status_code == 200


def test_a_conditional_request_once_the_window_is_spent_is_refused_as_github_documents_no_exemption() -> None:
    # GIVEN a listing's ETag, and a token that then spent its window
    clock = SimClock()
    with FakeGitHub(clock=clock, primary_limit=2, primary_window_seconds=180) as github:
        github.add_repo("acme", "widgets").add_issue("one")
        etag = _get(github, ISSUES, token="a").headers["ETag"]
        _get(github, "/repos/acme/widgets/issues?page=2", token="a")
        # WHEN it asks conditionally with an ETag that still matches
        refused = _get(github, ISSUES, token="a", **{"If-None-Match": etag})
        # AND again once the clock reaches the reset
        clock.now += 180
        after = _get(github, ISSUES, token="a", **{"If-None-Match": etag})
        refusals = github.primary_refusals()
    # THEN the conditional request is refused like any other (GitHub: do not make another
    # request until the reset), and after the reset it is a free 304 in a new, full window
    assert refused.status_code == 403 and refused.headers["x-ratelimit-remaining"] == "0"
    assert after.status_code == 304
    assert _rate(after)[:3] == ("2", "2", "0")
    assert refusals == 1


def test_a_new_window_after_the_reset_restores_the_full_limit_and_ends_a_window_later() -> None:
    # GIVEN a token refused for a spent window of 2 requests per 180 s
    clock = SimClock()
    with FakeGitHub(clock=clock, primary_limit=2, primary_window_seconds=180) as github:
        github.add_repo("acme", "widgets").add_issue("one")
        first_reset = int(_get(github, ISSUES, token="a").headers["x-ratelimit-reset"])
        _get(github, ISSUES, token="a")
        clock.now += 179
        last_second = _get(github, ISSUES, token="a")
        # WHEN the clock passes the reset by 20 s and the token asks again
        clock.now += 21
        renewed = _get(github, ISSUES, token="a")
    # THEN it was refused up to the reset, and the new window is whole and ends 180 s on
    assert last_second.status_code == 403
    assert renewed.status_code == 200
    assert _rate(renewed) == ("2", "1", "1", str(first_reset + 20 + 180), "core")


def test_an_installation_has_its_own_window_of_its_own_limit() -> None:
    # GIVEN an installation limited to 1 request per 180 s, and the token default of 3
    clock = SimClock()
    with FakeGitHub(clock=clock, primary_limit=3, primary_window_seconds=180) as github:
        github.add_repo("acme", "widgets").add_issue("one")
        public = APP_KEY.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        github.add_app(APP_ID, public)
        github.add_installation(APP_ID, 11, ["acme/widgets"], limit=1)
        now = int(clock.now)
        app_jwt = jwt.encode({"iss": APP_ID, "iat": now - 30, "exp": now + 300}, APP_KEY, algorithm="RS256")
        minted = requests.post(
            f"{github.base_url}/app/installations/11/access_tokens",
            headers={**UA, "Authorization": f"Bearer {app_jwt}"},
            timeout=5,
        )
        token = minted.json()["token"]
        # WHEN its token asks twice, 30 s after the install
        clock.now += 30
        answers = [_get(github, ISSUES, token=token) for _ in range(2)]
    # THEN its window opened at its first request, and the second is refused for installation 11
    assert [a.status_code for a in answers] == [200, 403]
    assert _rate(answers[0]) == ("1", "0", "1", str(now + 30 + 180), "core")
    assert answers[1].json()["message"] == "API rate limit exceeded for installation ID 11."


def test_set_rate_limit_sets_the_current_window_and_keeps_its_limit_for_the_next() -> None:
    # GIVEN a token set to 1 left of 10, resetting in 60 s, on a 180 s window
    clock = SimClock()
    with FakeGitHub(clock=clock, primary_window_seconds=180) as github:
        github.add_repo("acme", "widgets").add_issue("one")
        github.set_rate_limit("a", remaining=1, limit=10, reset_in=60)
        # WHEN it asks twice, then once the reset has come
        answers = [_get(github, ISSUES, token="a").status_code for _ in range(2)]
        clock.now += 60
        renewed = _get(github, ISSUES, token="a")
    # THEN the set window held, and the next one is whole at the set limit
    assert answers == [200, 403]
    assert _rate(renewed)[:4] == ("10", "9", "1", str(int(clock.now) + 180))


def test_a_secondary_limit_refusal_carries_the_primary_window_and_spends_none_of_it() -> None:
    # GIVEN a stand-in allowing 1 point a minute, on a clock the test moves
    clock = SimClock()
    with FakeGitHub(clock=clock, secondary_points_per_minute=1, primary_limit=10) as github:
        github.add_repo("acme", "widgets").add_issue("one")
        # WHEN a token asks twice in the same minute
        served = _get(github, ISSUES, token="a")
        refused = _get(github, ISSUES, token="a")
        refusals = (github.secondary_refusals(), github.primary_refusals())
    # THEN the secondary refusal says the primary window as it stands, untouched by it
    assert refused.status_code == 403 and refused.headers["retry-after"] == "60"
    assert _rate(refused) == _rate(served) == ("10", "9", "1", served.headers["x-ratelimit-reset"], "core")
    assert refusals == (1, 0)


# --- a GitHub blip: transient faults and outages (issue 23) ------------------------------------


def test_a_503_and_a_504_answer_in_githubs_front_end_words_without_spending_or_rate_headers(
    github: FakeGitHub,
) -> None:
    # GIVEN a 503 and a 504 for the next two requests
    github.add_repo("acme", "widgets").add_issue("one")
    github.inject("service_unavailable")
    github.inject("gateway_timeout")

    # WHEN the token asks three times
    answers = [_get(github, ISSUES, token="t") for _ in range(3)]

    # THEN GitHub's front end answered the first two, which spent nothing of the window
    assert [a.status_code for a in answers] == [503, 504, 200]
    assert answers[0].json()["message"].startswith("No server is currently available to service your request.")
    assert answers[1].json()["message"].startswith("We couldn't respond to your request in time.")
    assert not any("x-ratelimit-limit" in a.headers for a in answers[:2])
    assert answers[2].headers["x-ratelimit-remaining"] == "4999"


def test_a_connection_reset_gives_no_answer_so_requests_raises_connection_error(github: FakeGitHub) -> None:
    # GIVEN a session with an open keep-alive connection, and a reset for the next request
    github.add_repo("acme", "widgets").add_issue("one")
    session = requests.Session()
    headers = {**UA, "Authorization": "Bearer t"}
    before = session.get(github.base_url + ISSUES, headers=headers, timeout=5)
    github.inject("connection_reset")

    # WHEN the session asks again, and then once more
    with pytest.raises(requests.ConnectionError):
        session.get(github.base_url + ISSUES, headers=headers, timeout=5)
    after = session.get(github.base_url + ISSUES, headers=headers, timeout=5)
    session.close()

    # THEN only the reset request failed, it spent nothing, and the log shows it with status 0
    assert (before.status_code, after.status_code) == (200, 200)
    assert after.headers["x-ratelimit-remaining"] == "4998"
    assert [r.status for r in github.requests] == [200, 0, 200]


def test_an_outage_fails_every_request_in_turn_until_the_clock_reaches_its_end() -> None:
    # GIVEN an 8 s outage of 502, 500 and resets from now, on a clock the test moves
    clock = SimClock()
    with FakeGitHub(clock=clock) as github:
        github.add_repo("acme", "a").add_issue("one")
        github.add_repo("acme", "b").add_issue("one")
        start = clock.now
        github.outage(until=start + 8)
        # WHEN the two repositories are asked once a second
        outcomes: list[int | str] = []
        for second in range(10):
            clock.now = start + second
            try:
                outcomes.append(_get(github, f"/repos/acme/{'ab'[second % 2]}/issues", token="t").status_code)
            except requests.ConnectionError:
                outcomes.append("reset")
        log = [(r.at - start, r.repo, r.status) for r in github.requests]
    # THEN every request inside the span failed, the kinds in turn, and none once it ended
    assert outcomes == [502, 500, "reset", 502, 500, "reset", 502, 500, 200, 200]
    # AND the log tells each repository's failures and recovery apart by the stand-in's clock
    assert log[-3:] == [(7, "acme/b", 500), (8, "acme/a", 200), (9, "acme/b", 200)]


def test_an_outage_can_be_narrowed_to_a_repository_and_given_its_kinds() -> None:
    # GIVEN a 60 s outage of 503s and 504s on acme/a only
    clock = SimClock()
    with FakeGitHub(clock=clock) as github:
        github.add_repo("acme", "a").add_issue("one")
        github.add_repo("acme", "b").add_issue("one")
        github.outage(until=clock.now + 60, kinds=("service_unavailable", "gateway_timeout"), repo="acme/a")
        # WHEN both are asked twice during it, and acme/a once after it
        during = [_get(github, f"/repos/acme/{name}/issues", token="t").status_code for name in "aabb"]
        clock.now += 60
        after = _get(github, "/repos/acme/a/issues", token="t").status_code
        # AND an outage of a kind the stand-in does not know is refused at once
        with pytest.raises(ValueError, match="meltdown"):
            github.outage(until=clock.now + 60, kinds=("meltdown",))
    # THEN only acme/a failed, with the kinds in turn, until the clock reached the end
    assert during == [503, 504, 200, 200]
    assert after == 200


# --- who may write: GET /repos/{owner}/{repo}/collaborators/{username}/permission -----------------


@pytest.mark.parametrize(
    ("role", "permission", "push"),
    [("admin", "admin", True), ("maintain", "write", True), ("write", "write", True), ("triage", "read", False)],
)
def test_a_collaborators_permission_is_served_as_github_documents_it(
    github: FakeGitHub, role: str, permission: str, push: bool
) -> None:
    # GIVEN a login with this role on the repository
    github.add_repo("acme", "app").set_permission("ana", role)
    # WHEN their permission is asked for with a token
    answer = _get(github, "/repos/acme/app/collaborators/ana/permission", "t")
    # THEN 200 with the base permission (maintain as write, triage as read), the role, and the user
    # with the permissions hash; the answer carries the rate-limit headers and spent a point
    body = answer.json()
    assert answer.status_code == 200
    assert (body["permission"], body["role_name"]) == (permission, role)
    assert (body["user"]["login"], body["user"]["permissions"]["push"]) == ("ana", push)
    assert answer.headers["x-ratelimit-remaining"] == str(github.rate_remaining("t"))
    assert answer.headers["x-ratelimit-resource"] == "core" and int(answer.headers["x-ratelimit-used"]) == 1


def test_the_owner_is_admin_and_anyone_else_none_unless_set(github: FakeGitHub) -> None:
    repo = github.add_repo("acme", "app")
    repo.set_permission("docs-team", "docs-writer", base="read")  # a custom role on a base role
    owner = _get(github, "/repos/acme/app/collaborators/acme/permission", "t").json()
    stranger = _get(github, "/repos/acme/app/collaborators/stranger/permission", "t").json()
    custom = _get(github, "/repos/acme/app/collaborators/Docs-Team/permission", "t").json()
    assert (owner["permission"], stranger["permission"]) == ("admin", "none")
    assert (custom["permission"], custom["role_name"]) == ("read", "docs-writer")
    repo.set_permission("docs-team", None)
    assert _get(github, "/repos/acme/app/collaborators/docs-team/permission", "t").json()["permission"] == "none"


@pytest.mark.parametrize("token", [None, "read-only"], ids=["anonymous", "a token whose user cannot push"])
def test_a_credential_whose_user_cannot_push_is_refused_in_githubs_words(github: FakeGitHub, token: str | None) -> None:
    github.add_repo("acme", "app").set_permission("ana", "write")
    github.set_read_only("read-only")
    answer = _get(github, "/repos/acme/app/collaborators/ana/permission", token)
    assert answer.status_code == 403
    assert answer.json()["message"] == "Must have push access to view collaborator permission."
    assert answer.json()["documentation_url"].endswith("#get-repository-permissions-for-a-user")


def test_an_installation_token_may_ask_with_its_metadata_read(github: FakeGitHub) -> None:
    github.add_repo("acme", "app").set_permission("ana", "maintain")
    token = _install(github, 7, ["acme/app"])
    answer = _get(github, "/repos/acme/app/collaborators/ana/permission", token)
    assert answer.status_code == 200 and answer.json()["permission"] == "write"
    assert github.permission_requests("acme/app")[-1].identity == "installation:7"


def _patch(github: FakeGitHub, path: str, payload: Any, token: str | None = "t") -> requests.Response:
    headers = {**UA, **({"Authorization": f"Bearer {token}"} if token is not None else {})}
    return requests.patch(github.base_url + path, json=payload, headers=headers, timeout=5)


def test_an_issue_opened_over_http_is_201_authored_by_the_tokens_user_and_listed() -> None:
    # GIVEN a repository with one issue, and a token whose user is `alice`
    with FakeGitHub(logins={"t": "alice"}, clock=lambda: 1_800_000_000.0) as github:
        repo = github.add_repo("acme", "widgets")
        repo.add_issue("one", labels=["agent"])
        before = _get(github, "/repos/acme/widgets/issues", token="t")

        # WHEN the token opens an issue with a body, a label the repository lacks, and an assignee
        payload = {"title": "Add a dark theme", "body": "Spec.", "labels": ["agent", "ui"], "assignees": ["bob"]}
        opened = _post(github, "/repos/acme/widgets/issues", payload)
        after = _get(github, "/repos/acme/widgets/issues", token="t", **{"If-None-Match": before.headers["ETag"]})

    # THEN it is GitHub's 201 with the issue, its Location, and the rate-limit headers
    assert opened.status_code == 201, opened.text
    issue = opened.json()
    assert (issue["number"], issue["title"], issue["body"], issue["state"]) == (2, "Add a dark theme", "Spec.", "open")
    assert [label["name"] for label in issue["labels"]] == ["agent", "ui"]
    assert [user["login"] for user in issue["assignees"]] == ["bob"]
    assert opened.headers["Location"] == issue["url"] and opened.headers["x-ratelimit-remaining"] == "4998"
    # AND its author is the token's user, with the association the stand-in derives, created now
    assert (issue["user"]["login"], issue["author_association"]) == ("alice", "COLLABORATOR")
    assert issue["created_at"] == "2027-01-15T08:00:00Z"
    # AND the listing's ETag changed: the next poll reads it, and sees the new issue
    assert after.status_code == 200
    assert _numbers(after) == [2, 1]


def test_an_issue_is_closed_relabelled_and_retitled_over_http_and_the_listing_changes(github: FakeGitHub) -> None:
    # GIVEN two open issues, listed
    repo = github.add_repo("acme", "widgets")
    repo.add_issue("one", labels=["agent"])
    repo.add_issue("two", labels=["agent"], assignees=["bob"])
    listed = _get(github, "/repos/acme/widgets/issues", token="t")

    # WHEN issue 1 is closed, and issue 2 retitled, given other labels and no assignee
    closed = _patch(github, "/repos/acme/widgets/issues/1", {"state": "closed"})
    edited = _patch(github, "/repos/acme/widgets/issues/2", {"title": "Two", "labels": ["bug"], "assignees": []})
    relisted = _get(github, "/repos/acme/widgets/issues", token="t", **{"If-None-Match": listed.headers["ETag"]})

    # THEN each answers 200 with the issue as it now is
    assert closed.status_code == edited.status_code == 200
    assert (closed.json()["state"], closed.json()["closed_at"] is not None) == ("closed", True)
    two = edited.json()
    assert (two["title"], [label["name"] for label in two["labels"]], two["assignees"]) == ("Two", ["bug"], [])
    assert two["body"] is None and closed.headers["x-ratelimit-remaining"] == "4998"
    # AND the open listing changed: only issue 2 is left
    assert relisted.status_code == 200 and _numbers(relisted) == [2]


def test_labels_are_added_to_an_issue_opened_over_http(github: FakeGitHub) -> None:
    # GIVEN an issue opened over HTTP without labels
    github.add_repo("acme", "widgets")
    assert _post(github, "/repos/acme/widgets/issues", {"title": "Later"}).status_code == 201

    # WHEN the label agent is added through the add-labels route
    added = _post(github, "/repos/acme/widgets/issues/1/labels", {"labels": ["agent"]})

    # THEN the issue carries it
    assert added.status_code == 200 and [label["name"] for label in added.json()] == ["agent"]


@pytest.mark.parametrize(
    ("method", "path", "payload", "field"),
    [
        ("POST", "/repos/acme/widgets/issues", {"body": "no title"}, "title"),
        ("POST", "/repos/acme/widgets/issues", {"title": "x", "labels": "agent,bug"}, "labels"),
        ("PATCH", "/repos/acme/widgets/issues/1", {"state": "done"}, "state"),
        ("PATCH", "/repos/acme/widgets/issues/1", {"assignees": [1]}, "assignees"),
    ],
    ids=["no title", "labels not a list", "unknown state", "assignee not a login"],
)
def test_an_issue_write_github_would_not_take_is_422_naming_the_field(
    github: FakeGitHub, method: str, path: str, payload: Any, field: str
) -> None:
    # GIVEN an issue
    github.add_repo("acme", "widgets").add_issue("one")
    # WHEN a write with a field GitHub's schema refuses arrives
    call = _post if method == "POST" else _patch
    response = call(github, path, payload)
    # THEN GitHub's 422 names the field, and nothing changed
    assert response.status_code == 422
    assert response.json()["errors"] == [{"resource": "Issue", "code": "invalid", "field": field}]
    assert [issue["title"] for issue in github.repo("acme/widgets").issues()] == ["one"]


def test_opening_or_editing_an_issue_needs_a_token_that_may_write() -> None:
    # GIVEN an issue, and a read-only token
    with FakeGitHub(read_only_tokens=["ghp_reader"]) as github:
        github.add_repo("acme", "widgets").add_issue("one")
        # WHEN an issue is opened without a token, then with the read-only one, and one edited with it
        anonymous = _post(github, "/repos/acme/widgets/issues", {"title": "x"}, token=None)
        reader = _post(github, "/repos/acme/widgets/issues", {"title": "x"}, token="ghp_reader")
        edit = _patch(github, "/repos/acme/widgets/issues/1", {"state": "closed"}, token="ghp_reader")
        # THEN GitHub's 401 and 403s, and the issue is as it was
        assert (anonymous.status_code, reader.status_code, edit.status_code) == (401, 403, 403)
        assert [issue["state"] for issue in github.repo("acme/widgets").issues()] == ["open"]


def test_editing_a_missing_issue_is_404(github: FakeGitHub) -> None:
    # GIVEN a repository without issue 9 WHEN it is closed THEN 404
    github.add_repo("acme", "widgets")
    assert _patch(github, "/repos/acme/widgets/issues/9", {"state": "closed"}).status_code == 404


def test_the_tutorials_curl_opens_an_issue_on_the_sample_repository_as_intake_bot(github: FakeGitHub) -> None:
    # GIVEN the sample repository on the stand-in, and the tutorial's command that opens an issue
    load_sample(github)
    text = (REPO_ROOT / "docs" / "tutorials" / "first-hour.md").read_text(encoding="utf-8")
    (command,) = [
        line.removeprefix("$ ") for line in text.splitlines() if line.startswith("$ curl") and "/issues" in line
    ]
    # WHEN it is run with GH set to the stand-in's URL, as `intake local --offline` prints it
    ran = subprocess.run(
        ["bash", "-c", command], env={**os.environ, "GH": github.base_url}, capture_output=True, text=True, timeout=10
    )
    # THEN the issue is open, labelled agent, by intake-bot as a collaborator: a poll would take it
    assert ran.returncode == 0, ran.stderr
    issue = json.loads(ran.stdout)
    assert ([label["name"] for label in issue["labels"]], issue["state"]) == (["agent"], "open")
    assert (issue["user"]["login"], issue["author_association"]) == ("intake-bot", "COLLABORATOR")
    assert issue["number"] == max(i["number"] for i in github.repo("acme/widgets").issues())

"""`intake preview` against the loopback GitHub stand-in, as a user would run it."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import pytest

from intake_cli.main import build_parser, main
from intake_dev.fake_github import FakeGitHub
from intake_dev.sample_repo import load_sample

TOKEN = "ghp_PreviewSecret000111222333444555"


@pytest.fixture
def sample(github: FakeGitHub, monkeypatch: pytest.MonkeyPatch) -> FakeGitHub:
    """The stand-in serving acme/widgets, with GITHUB_TOKEN set."""
    load_sample(github)
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    return github


def _preview(github: FakeGitHub, *args: str) -> int:
    return main(["preview", "--github-url", github.base_url, *args])


def _numbers(out: str) -> list[int]:
    return [int(n) for n in re.findall(r"^\s+github:acme/widgets#\d+\s+#(\d+)\s", out, re.MULTILINE)]


def test_preview_prints_the_eligible_issues_oldest_first(
    sample: FakeGitHub, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN acme/widgets, whose open issues labelled `agent` are #1, 2, 5 (a PR), 6, 7 and
    # 13 (excluded), 9 and 10
    # WHEN a user previews the label `agent`
    code = _preview(sample, "--repo", "acme/widgets", "--label", "agent")

    # THEN the eligible issues are listed oldest first with canonical id, number and title
    out = capsys.readouterr().out
    assert code == 0
    assert _numbers(out) == [1, 2, 6, 9, 10]
    assert "github:acme/widgets#6   #6   Support Unicode widget names (日本語, émoji 🚀)" in out


def test_preview_lets_github_filter_like_the_poller_does(
    sample: FakeGitHub, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN acme/widgets
    # WHEN a user previews a label and an assignee
    _preview(sample, "--repo", "acme/widgets", "--label", "agent", "--assignee", "marta-k")

    # THEN GitHub was asked with the same filter the poller sends (and, as a poll would, whether
    # the member who wrote the one match may write)
    (request,) = [r for r in sample.requests if r.path.endswith("/issues")]
    assert len(sample.permission_requests("acme/widgets")) == 1
    assert request.query["labels"] == "agent"
    assert request.query["assignee"] == "marta-k"
    assert _numbers(capsys.readouterr().out) == [2]


def test_explain_lists_each_skipped_issue_and_why(sample: FakeGitHub, capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN acme/widgets
    # WHEN a user asks why, for label `agent` and issues assigned to nobody
    code = _preview(sample, "--repo", "acme/widgets", "--label", "agent", "--assignee", "none", "--explain")

    # THEN every open issue that is not eligible is listed with its reason
    out = capsys.readouterr().out
    assert code == 0
    reasons = "pull request|missing label|excluded label|assignee mismatch|untrusted author"
    skipped = dict(re.findall(rf"#(\d+)\s+({reasons})", out))
    assert skipped == {
        "2": "assignee mismatch",
        "3": "missing label",
        "4": "missing label",
        "5": "pull request",
        "7": "excluded label",
        "8": "missing label",
        "10": "assignee mismatch",
        "11": "missing label",
        "13": "excluded label",
        "14": "untrusted author",
    }
    # AND the untrusted author is named, with their association
    assert "untrusted author   Bug report: widgets crash on start (@drive-by-4711, NONE)" in out


def test_author_widens_the_rule_to_the_associations_given(
    sample: FakeGitHub, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN acme/widgets, whose #14 is a stranger's issue labelled `agent`
    # WHEN a user previews the rule widened to NONE, explicitly, with JSON and --explain
    _preview(
        sample,
        "--repo",
        "acme/widgets",
        "--label",
        "agent",
        "--author",
        "OWNER",
        "--author",
        "NONE",
        "--json",
        "--explain",
    )
    out = json.loads(capsys.readouterr().out)
    # THEN #14 is taken, and the members' issues are skipped as untrusted authors, naming them
    assert [row["number"] for row in out["eligible"]] == [1, 10, 14]
    member = next(row for row in out["skipped"] if row["number"] == 2)
    assert (member["reason"], member["author"], member["authorAssociation"]) == (
        "untrusted author",
        "ana-acme",
        "MEMBER",
    )


def test_json_prints_canonical_id_number_title_and_url(sample: FakeGitHub, capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN acme/widgets
    # WHEN a user asks for JSON
    code = _preview(sample, "--repo", "acme/widgets", "--label", "agent", "--json")

    # THEN stdout is a JSON list of the eligible issues
    rows = json.loads(capsys.readouterr().out)
    assert code == 0
    assert rows[0] == {
        "canonicalId": "github:acme/widgets#1",
        "number": 1,
        "title": "Crash when the config file is empty",
        "url": "https://github.com/acme/widgets/issues/1",
    }
    assert [row["number"] for row in rows] == [1, 2, 6, 9, 10]


def test_json_with_explain_has_eligible_and_skipped(sample: FakeGitHub, capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN acme/widgets
    # WHEN a user asks for JSON with explanations
    _preview(sample, "--repo", "acme/widgets", "--label", "agent", "--json", "--explain")

    # THEN the object has both lists, the skipped ones with their reason
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"eligible", "skipped"}
    assert [row["number"] for row in out["eligible"]] == [1, 2, 6, 9, 10]
    assert {"canonicalId": "github:acme/widgets#5", "number": 5, "reason": "pull request"}.items() <= next(
        row for row in out["skipped"] if row["number"] == 5
    ).items()


def test_exclude_labels_replace_the_defaults(sample: FakeGitHub, capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN acme/widgets, where #7 is in-progress and #13 in-review
    # WHEN a user excludes only in-review
    _preview(sample, "--repo", "acme/widgets", "--label", "agent", "--exclude-label", "in-review")

    # THEN #7 becomes eligible and #13 stays out
    assert _numbers(capsys.readouterr().out) == [1, 2, 6, 7, 9, 10]


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (["--repo", "acme"], "--repo"),
        (["--repo", "acme/../etc"], "--repo"),
        (["--repo", "acme/widgets", "--label", "a,b"], "--label"),
        (["--repo", "acme/widgets", "--label", "x", "--label", "X"], "--label"),
        (["--repo", "acme/widgets", "--assignee=-bad-"], "--assignee"),
        (["--repo", "acme/widgets", "--label", "x", "--exclude-label", " padded"], "--exclude-label"),
        (["--repo", "acme/widgets"], "--label or --assignee"),
        (["--repo", "acme/widgets", "--label", "x", "--github-url", "ftp://example.com"], "--github-url"),
        (["--repo", "acme/widgets", "--label", "x", "--author", "owner"], "--author"),
        (["--repo", "acme/widgets", "--label", "x", "--author", "NONE", "--author", "NONE"], "--author"),
    ],
)
def test_bad_arguments_exit_2_naming_the_flag(args: list[str], flag: str, capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN arguments the config model refuses
    # WHEN preview runs
    code = main(["preview", *args])

    # THEN it exits 2 and names the flag at fault, without calling GitHub
    assert code == 2
    assert f"intake preview: {flag}: " in capsys.readouterr().err


def test_a_missing_repo_flag_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN no --repo
    # WHEN preview runs
    with pytest.raises(SystemExit) as caught:
        main(["preview", "--label", "agent"])

    # THEN argparse exits 2
    assert caught.value.code == 2


def test_github_url_defaults_to_api_github_com() -> None:
    # GIVEN the parser
    # WHEN preview is parsed without --github-url
    args = build_parser().parse_args(["preview", "--repo", "acme/widgets", "--label", "agent"])

    # THEN the default is the public API
    assert args.github_url == "https://api.github.com"


@pytest.mark.parametrize(
    ("fault", "params", "sentence"),
    [
        ("primary_rate_limit", {}, r"rate limited until \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"),
        (
            "secondary_rate_limit_seconds",
            {},
            r"rate limited by GitHub's secondary limit until \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ",
        ),
        ("unauthorized", {}, r"authentication failed \(check GITHUB_TOKEN\)"),
        ("forbidden", {}, r"authentication failed \(check GITHUB_TOKEN\)"),
        ("not_found", {}, r"repository acme/widgets not found or not visible to this token"),
        ("server_error", {}, r"GitHub is unavailable \(500\) for acme/widgets"),
    ],
)
def test_a_github_error_exits_3_with_one_sentence(
    sample: FakeGitHub, capsys: pytest.CaptureFixture[str], fault: str, params: dict[str, Any], sentence: str
) -> None:
    # GIVEN GitHub failing
    sample.inject(fault, **params)

    # WHEN preview runs
    code = _preview(sample, "--repo", "acme/widgets", "--label", "agent")

    # THEN it exits 3 with one line on stderr, and prints nothing on stdout
    captured = capsys.readouterr()
    assert code == 3
    assert captured.out == ""
    assert re.fullmatch(sentence + "\n", captured.err)


def test_a_repository_that_does_not_exist_names_it(sample: FakeGitHub, capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN no repository acme/x
    # WHEN preview asks for it
    code = _preview(sample, "--repo", "acme/x", "--label", "agent")

    # THEN the sentence names it
    assert code == 3
    assert capsys.readouterr().err == "repository acme/x not found or not visible to this token\n"


def test_without_a_token_preview_warns_once_and_still_works(
    github: FakeGitHub,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # GIVEN no GITHUB_TOKEN
    load_sample(github)
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)

    # WHEN preview runs
    code = _preview(github, "--repo", "acme/widgets", "--label", "agent")

    # THEN it works anonymously and says once why that is limited
    assert code == 0
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert warnings == ["no GitHub token: unauthenticated requests are limited to 60 an hour"]
    assert github.requests[0].header("Authorization") is None
    # AND the member's issues, whose write access GitHub tells only a token that may push, are
    # not taken: the note says why rather than guess
    out = capsys.readouterr().out
    assert _numbers(out) == [1, 10]
    assert (
        "note: 3 member issues not shown: member: write access not checked: GitHub tells whether a member "
        "may write only to a token whose account can push (set GITHUB_TOKEN)"
    ) in out


def test_reaching_the_page_cap_is_reported(
    github: FakeGitHub, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN 150 labelled issues: two pages
    repo = github.add_repo("acme", "big")
    for n in range(150):
        repo.add_issue(f"issue {n}", labels=["agent"])
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)

    # WHEN preview may read one page
    _preview(github, "--repo", "acme/big", "--label", "agent", "--max-pages", "1")

    # THEN it shows that page and says it stopped
    out = capsys.readouterr().out
    assert "100 issues intake would pick up" in out
    assert "stopped after 1 page," in out


def test_the_token_never_appears_in_preview_output_or_logs(
    sample: FakeGitHub, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN a token, logging at DEBUG, and GitHub answering with each failure in turn
    caplog.set_level(logging.DEBUG)
    seen: list[str] = []
    runs: list[tuple[str | None, dict[str, Any]]] = [
        (None, {}),
        ("unauthorized", {}),
        ("forbidden", {"message": f"token {TOKEN} lacks the issues scope"}),
        ("primary_rate_limit", {}),
        ("secondary_rate_limit_message", {}),
        ("not_found", {}),
        ("malformed_json", {}),
        ("bad_gateway", {}),
    ]

    # WHEN preview runs through all of them, in every output mode
    for fault, params in runs:
        for mode in ([], ["--json"], ["--explain"]):
            if fault is not None:
                sample.inject(fault, **params)
            _preview(sample, "--repo", "acme/widgets", "--label", "agent", *mode)
            captured = capsys.readouterr()
            seen += [captured.out, captured.err]

    # THEN the token appears in no output and no log record
    assert any("github:acme/widgets#1" in text for text in seen)
    assert all(TOKEN not in text for text in seen)
    assert TOKEN not in caplog.text


def test_unreachable_github_is_one_sentence_without_a_class_name(capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN a loopback port nobody listens on
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # WHEN preview is pointed at it
    code = main(["preview", "--repo", "acme/widgets", "--label", "agent", "--github-url", f"http://127.0.0.1:{port}"])
    err = capsys.readouterr().err
    # THEN it says so in one sentence, naming no exception class
    said = [line for line in err.splitlines() if "cannot reach GitHub" in line]
    assert code != 0 and len(said) == 1, err
    assert "Error" not in said[0] and "Exception" not in said[0]


# --- a member's write access, checked as a poll checks it ----------------------------------------------


def test_explain_names_a_member_without_write_access(sample: FakeGitHub, capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN acme/widgets, whose member ana-acme may now only read
    sample.repo("acme/widgets").set_permission("ana-acme", "read")
    # WHEN a user asks why, as text and as JSON
    _preview(sample, "--repo", "acme/widgets", "--label", "agent", "--explain")
    text = capsys.readouterr().out
    _preview(sample, "--repo", "acme/widgets", "--label", "agent", "--explain", "--json")
    rows = json.loads(capsys.readouterr().out)
    # THEN the member's issues are skipped with the reason, naming them, and only the owner's are taken
    assert _numbers(text)[:2] == [1, 10]
    assert "member without write access  Add a --version flag to the CLI (@ana-acme, MEMBER)" in text
    member = next(row for row in rows["skipped"] if row["number"] == 2)
    assert (member["reason"], member["author"], member["authorAssociation"]) == (
        "member without write access",
        "ana-acme",
        "MEMBER",
    )
    # AND each run asked about the member once, however many issues they wrote
    assert len(sample.permission_requests("acme/widgets")) == 2


def test_no_member_write_check_takes_members_issues_without_asking(
    sample: FakeGitHub, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a member who may only read
    sample.repo("acme/widgets").set_permission("ana-acme", "read")
    # WHEN the rule is previewed with the check off
    _preview(sample, "--repo", "acme/widgets", "--label", "agent", "--no-member-write-check")
    # THEN their issues are taken, GitHub was not asked, and the rule says members are unchecked
    out = capsys.readouterr().out
    assert _numbers(out) == [1, 2, 6, 9, 10] and "members unchecked" in out
    assert sample.permission_requests() == []

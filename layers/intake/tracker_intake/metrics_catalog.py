"""What each metric the functions publish means (namespace TrackerIntake): the operator's glossary.

observability.py emits them; the reference page (docs: Parameters, metrics and alarms) lists them
from here, and a test holds this catalog and the names the code emits to the same set.
"""

from __future__ import annotations

METRICS: dict[str, str] = {
    # The poller: one poll of one project.
    "PollsNotModified": "A poll GitHub answered 304 Not Modified: nothing changed, no rate limit spent.",
    "PollsChanged": "A poll that read changed pages (200) and applied the project's rule to them.",
    "PollsFailed": "A poll that failed, or found the stored config invalid; its dimension `ErrorKind` says why "
    "(`auth_failed`, `repo_not_found`, ...).",
    "PollFailuresTransient": "A failed poll whose failure passes by itself (a 5xx, a reset connection, a timeout).",
    "PollFailuresPersistent": "A failed poll that waits for someone to fix it (bad credentials, a repository not "
    "found, an invalid config).",
    "BackoffsEntered": "A failed poll that put its project in backoff: the dispatcher skips it until then.",
    "CredentialPaused": "GitHub rate-limited the credential during a poll: the credential is paused, and every "
    "project using it waits.",
    "PollsSkippedPaused": "A poll that asked GitHub nothing: its credential was paused already.",
    "IssuesClaimed": "Issues a poll claimed for a new session.",
    "IssuesEnqueued": "Session requests a poll sent to the launch queue, one per claimed issue.",
    "IssuesBacklogged": "Issues recorded as `backlog` claims, without a session: they matched when intake was "
    "switched on with `backlog: new`.",
    "ClaimsRecovered": "Stale claims (left by a poll that stopped before sending the request) a poll took over "
    "and sent.",
    "GitHubRequests": "GitHub requests a poll made: its pages, its members' write checks and its retries.",
    "LinearRequests": "Linear queries a Linear project's poll made: its pages and its retries.",
    "LinearRetries": "Linear queries sent again after failing in passing (a 502, 503 or 504, a reset, a timeout).",
    "JiraRequests": "Jira searches a Jira project's poll made: its pages and its retries.",
    "JiraRetries": "Jira searches sent again after failing in passing (a 502, 503 or 504, a reset, a timeout).",
    "GitHubRetries": "Requests a poll sent again after a transient failure.",
    "IssuesSkippedMemberWithoutWrite": "Matching issues skipped because their author, trusted as MEMBER alone, "
    "may not write to the repository (`memberWriteCheck`).",
    "IssuesWaitingWriteCheck": "Matching issues of members held back because their write access could not be "
    "checked this poll.",
    # The dispatcher: one tick over every intake-enabled project.
    "PollsDispatched": "Polls the dispatcher started this tick (one poller invocation per project).",
    "DispatchSkippedBackoff": "Projects left out this tick because they are in backoff after failed polls.",
    "DispatchSkippedBackoffTransient": "Of the projects left out for their backoff (`DispatchSkippedBackoff`), those "
    "whose last failure was transient.",
    "DispatchSkippedBudget": "Projects left out this tick because their credential is paused, or because another "
    "tick was dispatching.",
    "DispatchInvokeFailed": "Poller invocations Lambda did not accept.",
    "PollsDeferred": "Polls due but left for a later tick: the credential's request budget for the minute was spent.",
    "PollsSlowedBusy": "Busy projects (polls that keep answering 200) left for their turn of the primary "
    "budget's share.",
    "GitHubPointsGranted": "GitHub requests the dispatcher granted this tick's polls from the credentials' "
    "budgets for the minute.",
    # The launcher: one session request from the queue.
    "SessionsLaunched": "Sessions the backend started: the claim is `launched`.",
    "LaunchesRejected": "Launches the backend refused for good (a 4xx): the claim is `failed`, with the reason.",
    "LaunchesRetried": "Launches that failed in passing: the claim is `enqueued` again and the queue delivers the "
    "request again.",
    "LaunchDuplicates": "Requests for a session launched or launching already, or for an older claim generation: "
    "nothing starts twice.",
    "LaunchesWithoutClaim": "Requests whose issue holds no claim of the project: nothing launched.",
    "PickupSeconds": "Each launch's pickup: seconds from the issue's update on GitHub (in the answer that first "
    "matched it) to the launch.",
    "PickupEnqueueSeconds": "Seconds from the issue's update on GitHub to the enqueue of its session request.",
    "AcknowledgementsWritten": "Acknowledgements written on issues (`trackerIntake.acknowledge`).",
    "AcknowledgementsRefused": "Acknowledgements GitHub refused (403 or 404): the credential may not write there.",
    "AcknowledgementsFailed": "Acknowledgements given up: out of tries or deliveries, or a credential that cannot "
    "write.",
    "AcknowledgementsDeferred": "Acknowledgements left for a later delivery (their write slot, or a retry); the "
    "session is launched.",
}

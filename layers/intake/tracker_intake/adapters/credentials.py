"""`Credentials`: a project's credential resolved to a tracker and the key of its budget.

The default credential comes from the deployment (a token secret, GITHUB_TOKEN locally, or a
GitHub App); the others from the registry, read at most once a `REGISTRY_MAX_AGE` per container.
Secrets are read through Powertools' cache (five minutes). An app's installation for a project
is looked up once and cached on the project; its installation tokens are cached per container
by `GitHubApp` until shortly before they expire.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..domain.clock import SystemClock
from ..domain.config import intake_repo
from ..domain.credentials import DEFAULT_CREDENTIAL, Credential, CredentialKind, app_key
from ..domain.errors import AuthFailed, ConfigInvalid, CredentialUnknown
from ..domain.ports import Clock, CredentialRegistry, InstallationStore, Resolved
from ..domain.records import Installation, ProjectRecord
from ..domain.tracker import Tracker
from .github import GitHubTracker
from .github_app import GitHubApp
from .github_auth import GitHubAuth, TokenAuth
from .github_token import token_key
from .github_writes import GitHubIssueWriter
from .jira import JiraTracker
from .jira_credentials import JiraCredentials, JiraDefault
from .linear import LinearTracker
from .linear_credentials import LinearCredentials, LinearDefault
from .linear_http import LINEAR_GRAPHQL_URL

REGISTRY_MAX_AGE = timedelta(minutes=5)  # a re-registered credential applies within five minutes


@dataclass(frozen=True)
class TrackerOptions:
    api_url: str
    user_agent: str
    max_concurrency: int = 20
    include_pull_requests: bool = False
    # Linear's GraphQL endpoint, and the OAuth token endpoint beside it.
    linear_url: str = LINEAR_GRAPHQL_URL


class DeploymentCredentials:
    """Resolves `trackerIntake.credential` (or the default) for polls, previews and the dispatcher."""

    def __init__(
        self,
        default: Credential | None,
        registry: CredentialRegistry,
        projects: InstallationStore,
        options: TrackerOptions,
        *,
        read_secret: Callable[[str], str],
        default_token: str | None = None,
        default_tracker: Tracker | None = None,
        clock: Clock | None = None,
        registry_max_age: timedelta = REGISTRY_MAX_AGE,
        linear: LinearDefault | None = None,
        write_secret: Callable[[str, str], None] | None = None,
        jira: JiraDefault | None = None,
        jira_url: str | None = None,
    ) -> None:
        # Keeps an OAuth app's rotated tokens in its secret (None: kept for this container only).
        self._write_secret = write_secret
        self._linear = LinearCredentials(
            self._linear_spec,
            read_secret,
            default=linear or LinearDefault(),
            url=options.linear_url,
            write_secret=write_secret,
            clock=clock,
            user_agent=options.user_agent,
        )
        self._jira = JiraCredentials(
            self._jira_spec,
            read_secret,
            default=jira or JiraDefault(),
            base_url=jira_url,
            write_secret=write_secret,
            clock=clock,
            user_agent=options.user_agent,
        )
        # `default` None: the default is `default_token` (GITHUB_TOKEN, or none, locally).
        self._default = default
        self._default_token = default_token
        # A tracker of the caller's for the local default token (tests inject faults with it).
        self._default_tracker = default_tracker
        self._registry = registry
        self._projects = projects
        self._options = options
        self._read_secret = read_secret
        # The API reads the registry on every use (zero): what it just registered applies at once.
        self._registry_max_age = registry_max_age
        # The apps sign their JWTs and judge their tokens' expiry by it, the trackers GitHub's
        # retry-after and reset times; the registry ages by it.
        self._clock = clock or SystemClock()
        self._lock = threading.Lock()
        self._specs: dict[str, tuple[datetime, Credential | None]] = {}
        self._apps: dict[tuple[str, str, str], GitHubApp] = {}
        self._trackers: dict[tuple[str, int], GitHubTracker] = {}
        self._writers: dict[tuple[str, int], GitHubIssueWriter] = {}
        # (app id, owner) -> the installation a project of that owner was found on (`key_for`).
        self._accounts: dict[tuple[str, str], int] = {}

    # --- Credentials ---------------------------------------------------------------------------

    def for_project(self, record: ProjectRecord, *, remember: bool = True) -> Resolved:
        name = record.credential or DEFAULT_CREDENTIAL
        if _is_linear(record):
            return self._linear.resolve(name)
        if _jira_site(record) is not None:
            return self._jira.resolve(name, _jira_site(record) or "")
        spec = self._spec(name)
        _of_provider(spec, name, "github")
        if spec is None and self._default_tracker is not None:
            tracker = self._default_tracker
            # GitHub's own tracker answers on collaborators too; a stand-in of the caller's may not.
            collaborators = tracker if isinstance(tracker, GitHubTracker) else None
            return Resolved(name, token_key(self._default_token), tracker, collaborators=collaborators)
        if spec is None or spec.kind is CredentialKind.TOKEN:
            auth: GitHubAuth = TokenAuth(self._token(spec))
            own = self._tracker(auth)
            return Resolved(name, auth.key, own, self._writer(auth), own)
        app = self._app(spec)
        auth = self._installation_auth(app, spec, record, remember)
        # A tracker per app object: a rotated key makes a new app, whose tracker mints with it.
        installed = self._tracker(auth, holder=id(app))
        return Resolved(name, auth.key, installed, self._writer(auth, holder=id(app)), installed)

    def key_for(self, record: ProjectRecord) -> str:
        if _is_linear(record):
            return self._linear.key(record.credential or DEFAULT_CREDENTIAL)
        if _jira_site(record) is not None:
            return self._jira.key(record.credential or DEFAULT_CREDENTIAL)
        spec = self._spec(record.credential or DEFAULT_CREDENTIAL)
        if spec is None or spec.kind is CredentialKind.TOKEN:
            return token_key(self._token(spec))
        assert spec.app_id is not None
        known = record.installation
        account = (spec.app_id, _owner(record))
        if known is not None and known.app_id == spec.app_id:
            with self._lock:
                self._accounts[account] = known.installation_id
            return app_key(spec.app_id, known.installation_id)
        # GitHub installs an app once per account: a project not polled yet spends the budget of
        # the installation another project of the same owner found, not a budget of its own.
        with self._lock:
            return app_key(spec.app_id, self._accounts.get(account))

    def forget_installation(self, record: ProjectRecord) -> None:
        known = record.installation
        if known is None:
            return
        self._projects.set_installation(record.project_id, None)
        # This container's own record of the repository's installation goes too.
        owner, name = intake_repo(record.config)
        with self._lock:
            apps = [app for (app_id, _, _), app in self._apps.items() if app_id == known.app_id]
        for app in apps:
            app.forget_installation_for(owner, name)

    @property
    def default(self) -> Credential | None:
        return self._default

    def check_access(self, record: ProjectRecord) -> str | None:
        """Whether the project's credential can see its repository: None, or why not."""
        resolved = self.for_project(record)
        tracker = resolved.tracker
        if isinstance(tracker, LinearTracker):
            intake = record.config.tracker_intake
            return tracker.check_team(intake.team if intake is not None and intake.team else "")
        if isinstance(tracker, JiraTracker):
            intake = record.config.tracker_intake
            return tracker.check_project(intake.project if intake is not None and intake.project else "")
        owner, name = intake_repo(record.config)
        if not isinstance(tracker, GitHubTracker):
            raise TypeError("a repository is checked with GitHub's own tracker")
        return tracker.check_repo(owner, name)

    # --- Jira --------------------------------------------------------------------------------

    def _jira_spec(self, name: str) -> Credential | None:
        spec = self._spec(name)
        _of_provider(spec, name, "jira")
        return spec

    # --- Linear ------------------------------------------------------------------------------

    def _linear_spec(self, name: str) -> Credential | None:
        spec = self._spec(name)
        _of_provider(spec, name, "linear")
        return spec

    # --- what it is made of --------------------------------------------------------------------

    def _spec(self, name: str) -> Credential | None:
        """The credential by name; None for a default that is a plain local token."""
        if name == DEFAULT_CREDENTIAL:
            return self._default
        now = self._clock.now()
        with self._lock:
            cached = self._specs.get(name)
        if cached is None or now - cached[0] >= self._registry_max_age or now < cached[0]:
            cached = (now, self._registry.get_credential(name))
            with self._lock:
                self._specs[name] = cached
        if cached[1] is None:
            raise CredentialUnknown(
                "trackerIntake.credential", f"no credential named {name!r} is registered (see GET /credentials)"
            )
        return cached[1]

    def _token(self, spec: Credential | None) -> str | None:
        if spec is None:
            return self._default_token
        token = self._read_secret(spec.secret_arn)
        if any(c.isspace() for c in token):
            # No token has spaces or line breaks: `requests` would refuse the header, and the poll
            # would only say that nothing could be sent. Most likely an app's key, registered as a token.
            if "PRIVATE KEY" in token:
                raise AuthFailed(
                    f"the secret of the {spec.name} credential holds a private key, not a token: "
                    "register it with kind app and the app's id"
                )
            raise AuthFailed(f"the secret of the {spec.name} credential is not a token: it has spaces or line breaks")
        return token

    def _app(self, spec: Credential) -> GitHubApp:
        assert spec.app_id is not None
        # The secret is read each time (Powertools caches it for five minutes), so a key rotated
        # in the same secret is used within five minutes, as the README promises.
        pem = self._read_secret(spec.secret_arn)
        key = (spec.app_id, spec.secret_arn, hashlib.sha256(pem.encode()).hexdigest())
        with self._lock:
            app = self._apps.get(key)
        if app is None:
            app = GitHubApp(
                self._options.api_url, spec.app_id, pem, user_agent=self._options.user_agent, now=self._clock.now
            )
            with self._lock:
                self._apps[key] = app
        return app

    def _installation_auth(self, app: GitHubApp, spec: Credential, record: ProjectRecord, remember: bool) -> GitHubAuth:
        assert spec.app_id is not None
        known = record.installation if remember else None
        if known is not None and known.app_id == spec.app_id:
            # Asks GitHub nothing: an installation that no longer sees the repository shows only
            # when the poll uses it, and the poll then calls `forget_installation`.
            return app.installation_auth(known.installation_id)
        owner, name = intake_repo(record.config)
        found = Installation(spec.app_id, app.installation_for(owner, name))
        if remember:
            self._projects.set_installation(record.project_id, found)
        return app.installation_auth(found.installation_id)

    def _tracker(self, auth: GitHubAuth, holder: int = 0) -> GitHubTracker:
        """One tracker per budget key (and app key) and container: its HTTP connections."""
        with self._lock:
            tracker = self._trackers.get((auth.key, holder))
            if tracker is None:
                options = self._options
                tracker = GitHubTracker(
                    options.api_url,
                    auth,
                    user_agent=options.user_agent,
                    max_concurrency=options.max_concurrency,
                    include_pull_requests=options.include_pull_requests,
                    clock=self._clock,
                )
                self._trackers[(auth.key, holder)] = tracker
            return tracker

    def _writer(self, auth: GitHubAuth, holder: int = 0) -> GitHubIssueWriter:
        """One writer per budget key (and app key) and container, as `_tracker`."""
        with self._lock:
            writer = self._writers.get((auth.key, holder))
            if writer is None:
                options = self._options
                writer = GitHubIssueWriter(options.api_url, auth, user_agent=options.user_agent, clock=self._clock)
                self._writers[(auth.key, holder)] = writer
            return writer


def _jira_site(record: ProjectRecord) -> str | None:
    """The Jira site a project's rule names (None: not a Jira rule)."""
    intake = record.config.tracker_intake
    return intake.site if intake is not None and intake.is_jira else None


def _is_linear(record: ProjectRecord) -> bool:
    intake = record.config.tracker_intake
    return intake is not None and intake.is_linear


def _of_provider(spec: Credential | None, name: str, provider: str) -> None:
    """A credential of another tracker is the rule's mistake, named at the field."""
    if spec is not None and spec.kind.provider != provider:
        raise ConfigInvalid(
            "trackerIntake.credential",
            f"{name!r} is a {spec.kind.provider.capitalize()} credential (kind {spec.kind}); "
            f"a {provider.capitalize()} rule needs a {provider.capitalize()} one",
        )


def _owner(record: ProjectRecord) -> str:
    """The repository's owner, as GitHub compares it ("" when the config names no repository:
    its poll reports that; its pacing need not)."""
    try:
        return intake_repo(record.config)[0].casefold()
    except ConfigInvalid:
        return ""


__all__ = ["DeploymentCredentials", "TrackerOptions", "app_key"]

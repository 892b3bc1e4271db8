import { useState } from "react";
import { ApiError, checkedAtOf, pollProject, type PollView, type Project } from "./api";
import { backoffReason, chipState, duration, failureKindWords, pollResultWords, repoUrl, sentence, sourceInWords, stateWords } from "./format";
import { RelativeTime, utc } from "./time";
import { When } from "./ui";

/** How a poll went, in a few words: "nothing changed · 1 request, 1 page, 1 × 304". */
export function pollCounts(poll: Pick<PollView, "requests" | "pages" | "notModified">): string {
  const n = (k: number | null | undefined, one: string, many = `${one}s`) => `${k ?? 0} ${(k ?? 0) === 1 ? one : many}`;
  return `${n(poll.requests, "request")}, ${n(poll.pages, "page")}, ${poll.notModified ?? 0} × 304`;
}

/** The top of the project page, health first: the state in words; in backoff the reason, a live
 * countdown to the next poll and "Retry now"; the last poll; the pickup latency; the last change
 * on the tracker. Compact: the sessions start right below it. */
export function HealthHeader({ project, lastPoll, now, onPolled }: { project: Project; lastPoll: PollView | null; now: Date; onPolled: (p: Project) => void }) {
  const [busy, setBusy] = useState(false);
  const [said, setSaid] = useState<string | null>(null);
  const [failure, setFailure] = useState<ApiError | null>(null);
  const intake = project.intake;
  const state = chipState(project);
  const backoffLeft = intake.backoffUntil ? new Date(intake.backoffUntil).getTime() - now.getTime() : 0;
  const inBackoff = backoffLeft > 0;
  const kind = failureKindWords(intake.failureKind);
  const enabled = Boolean(project.trackerIntake?.enabled) && !intake.configError;
  const label = inBackoff ? "Retry now" : "Poll now";
  const checkedAt = lastPoll?.at ?? checkedAtOf(project);
  const provider = project.trackerIntake?.provider ?? "github";
  const url = repoUrl(intake.repo);

  const poll = async () => {
    setBusy(true);
    setSaid(null);
    setFailure(null);
    try {
      onPolled(await pollProject(project.id));
      setSaid(`${inBackoff ? "Backoff cleared: p" : "P"}olled on the next tick (within a minute).`);
    } catch (e) {
      setFailure(e instanceof ApiError ? e : new ApiError(0, String(e)));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="health" aria-label="Project health">
      <div className="health-top">
        <h1>
          {project.id}
          {project.name && <span className="muted"> · {project.name}</span>}
        </h1>
        <span className={`state state-${state.replace(" ", "-")}`}>{stateWords(project)}</span>
        <span className="muted source">
          {provider === "github" ? url ? <a href={url}>{intake.repo}</a> : "no repository" : sourceInWords(project.trackerIntake, null)}
        </span>
        {inBackoff && (
          <strong className="next-poll">
            Next poll in{" "}
            <time className="countdown" dateTime={intake.backoffUntil ?? undefined} title={utc(intake.backoffUntil ?? "")}>
              {duration(backoffLeft)}
            </time>
          </strong>
        )}
        {enabled && (
          <span className="health-actions">
            <button type="button" className={inBackoff ? "primary" : undefined} disabled={busy} onClick={() => void poll()}>
              {label}
            </button>
            <span role="status" aria-live="polite">
              {said}
            </span>
          </span>
        )}
      </div>
      {inBackoff && (
        <p className="backoff">
          <span className="error-text reason">{backoffReason(intake.lastError, intake.failureKind)}</span>
          {kind && <span className="muted"> · {kind}</span>}
        </p>
      )}
      {!inBackoff && (intake.configError || intake.lastError) && (
        <p className="error-text reason">
          {intake.configError ? `The stored rule is invalid: ${sentence(intake.configError)}` : `Last error: ${sentence(intake.lastError ?? "")}`}
          {!intake.configError && kind && <span className="muted"> ({kind})</span>}
        </p>
      )}
      {!enabled && !intake.configError && <p className="muted off">Intake is off: nothing is polled.</p>}
      <dl className="health-facts">
        <div>
          <dt>Last poll</dt>
          <dd>
            {checkedAt ? <RelativeTime at={checkedAt} now={now} /> : "none yet"}
            {lastPoll && (
              <>
                {" · "}
                <span className={`poll-${lastPoll.result}`}>{pollResultWords(lastPoll.result)}</span>
                <span className="muted"> · {pollCounts(lastPoll)}</span>
              </>
            )}
          </dd>
        </div>
        <div>
          <dt>Pickup</dt>
          <dd>
            {project.pickup ? (
              <span title={`over ${project.pickup.launches} recent launch${project.pickup.launches === 1 ? "" : "es"}, p50 ${duration(project.pickup.p50Seconds * 1000)}`}>
                last {duration(project.pickup.lastSeconds * 1000)} · p95 {duration(project.pickup.p95Seconds * 1000)}
              </span>
            ) : (
              "—"
            )}
          </dd>
        </div>
        <div>
          <dt>Last change</dt>
          <dd>
            <When at={intake.lastChangeAt} now={now} never="—" />
          </dd>
        </div>
        {intake.deferredSince && (
          <div>
            <dt>Waiting</dt>
            <dd>
              for its credential's budget since <RelativeTime at={intake.deferredSince} now={now} />
            </dd>
          </div>
        )}
      </dl>
      {failure && (
        <p className="error" role="alert">
          {label}: {failure.message}
        </p>
      )}
    </section>
  );
}

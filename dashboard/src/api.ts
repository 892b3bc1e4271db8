// The config API, same origin: the local stack serves the dashboard on the API's own port, and
// `intake dashboard` forwards these paths to the deployed API, signed with SigV4.
import type { components } from "./api-types";

export type Project = components["schemas"]["ProjectView"];
export type TrackerIntake = components["schemas"]["TrackerIntake"];
export type Session = components["schemas"]["SessionView"];
export type ConfigUpdate = components["schemas"]["ConfigUpdate"];
export type NewProject = components["schemas"]["NewProject"];
export type Preview = components["schemas"]["PreviewView"];
export type PreviewIssue = components["schemas"]["PreviewIssue"];
export type Association = components["schemas"]["Author"];
export type Provider = components["schemas"]["Provider"];
export type Backlog = components["schemas"]["Backlog"];
export type Acknowledge = components["schemas"]["Acknowledge"];
export type Acknowledgement = components["schemas"]["AcknowledgementView"];
export type FieldProblem = { field: string; reason: string };

/** One recorded poll of a project (GET /projects/{id}/polls), newest first. */
export type PollView = components["schemas"]["PollView"];

/** The last recorded poll's time (the backend records a quiet poll at most every 10 minutes). */
export function checkedAtOf(project: Project): string | null {
  return project.intake.checkedAt ?? null;
}

/** A refused or failed request: the API's sentence, and the fields it names. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly fields: FieldProblem[] = [],
  ) {
    super(message);
  }

  /** The reason the API gave for `field` (or a field inside it), if any. */
  reasonFor(field: string): string | undefined {
    return this.fields.find((p) => p.field === field || p.field.startsWith(`${field}.`))?.reason;
  }
}

/**
 * Sent on every API call: `intake dashboard` forwards only calls that carry it (and `intake local`
 * asks it of a browser's calls), since a form or a link from another site cannot add a header.
 * The name is cli/intake_cli/browser_guard.py's DASHBOARD_HEADER.
 */
const DASHBOARD_HEADER = { "X-Intake-Dashboard": "1" };

async function call<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ data: T; etag: string | null }> {
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers: body === undefined ? { ...DASHBOARD_HEADER, ...headers } : { ...DASHBOARD_HEADER, "Content-Type": "application/json", ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, "Cannot reach the config API. Is `intake local` (or `intake dashboard`) still running?");
  }
  const text = await response.text();
  let parsed: unknown = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = null;
  }
  if (!response.ok) {
    const error = (parsed ?? {}) as { message?: string; errors?: FieldProblem[] };
    throw new ApiError(response.status, error.message ?? `The API answered ${response.status}.`, error.errors ?? []);
  }
  return { data: parsed as T, etag: response.headers.get("ETag") };
}

export async function listProjects(): Promise<Project[]> {
  const all: Project[] = [];
  let token: string | null | undefined = undefined;
  do {
    const query: string = token ? `?limit=100&nextToken=${encodeURIComponent(token)}` : "?limit=100";
    const { data } = await call<components["schemas"]["ProjectList"]>("GET", `projects${query}`);
    all.push(...data.items);
    token = data.nextToken;
  } while (token);
  return all;
}

export async function getProject(id: string): Promise<Project> {
  return (await call<Project>("GET", `projects/${encodeURIComponent(id)}`)).data;
}

export async function createProject(project: NewProject): Promise<Project> {
  return (await call<Project>("POST", "projects", project)).data;
}

/** Replace the config, only if the project is still at `version` (If-Match; 412 otherwise). */
export async function saveConfig(id: string, config: ConfigUpdate, version: number): Promise<Project> {
  return (await call<Project>("PUT", `projects/${encodeURIComponent(id)}/config`, config, { "If-Match": `"${version}"` })).data;
}

/** Clear the project's backoff so the next tick (within a minute) polls it: "Retry now", "Poll now". */
export async function pollProject(id: string): Promise<Project> {
  return (await call<Project>("POST", `projects/${encodeURIComponent(id)}/poll`)).data;
}

/** The newest sessions first; `more` when the ledger holds more than `limit`. */
export async function listSessions(id: string, limit = 100): Promise<{ items: Session[]; more: boolean }> {
  const { data } = await call<components["schemas"]["SessionList"]>("GET", `projects/${encodeURIComponent(id)}/sessions?limit=${limit}`);
  return { items: data.items, more: Boolean(data.nextToken) };
}

/** The API's largest page; and how many sessions the project page reads at most (it says so past it). */
export const MAX_PAGE = 100;
export const SESSIONS_CAP = 2000;

/** Every session of the project, newest first, page after page, up to `cap`; `capped` when there were more.
 * `onPage` is told what has been read so far after each page that is not the last, so a first
 * load can show the newest sessions while the older pages are still on their way. */
export async function listAllSessions(
  id: string,
  cap = SESSIONS_CAP,
  onPage?: (soFar: Session[]) => void,
): Promise<{ items: Session[]; capped: boolean }> {
  const all: Session[] = [];
  let token: string | null | undefined = undefined;
  do {
    const query: string = `?limit=${MAX_PAGE}${token ? `&nextToken=${encodeURIComponent(token)}` : ""}`;
    const { data } = await call<components["schemas"]["SessionList"]>("GET", `projects/${encodeURIComponent(id)}/sessions${query}`);
    all.push(...(data.items ?? []));
    token = data.nextToken;
    if (token && all.length < cap) onPage?.(all.slice());
  } while (token && all.length < cap);
  return { items: all.slice(0, cap), capped: Boolean(token) || all.length > cap };
}

/** The project's recent polls, newest first (one page). */
export async function listPolls(id: string, limit = 50): Promise<PollView[]> {
  const { data } = await call<components["schemas"]["PollList"]>("GET", `projects/${encodeURIComponent(id)}/polls?limit=${limit}`);
  return data.items ?? [];
}

/** What `intake` would pick up now under `trackerIntake` (a draft), read from GitHub. */
export async function previewRule(id: string, trackerIntake: TrackerIntake): Promise<Preview> {
  return (await call<Preview>("POST", `projects/${encodeURIComponent(id)}/preview`, { trackerIntake })).data;
}

/** The same for a project not created yet: its git origin and rule (the create sheet's count). */
export async function previewNewProject(gitOrigin: string | null, trackerIntake: TrackerIntake): Promise<Preview> {
  return (await call<Preview>("POST", "preview", { gitOrigin, trackerIntake })).data;
}

export async function releaseSession(id: string, issueId: string): Promise<Session> {
  return (await call<Session>("DELETE", `projects/${encodeURIComponent(id)}/sessions/${encodeURIComponent(issueId)}`)).data;
}

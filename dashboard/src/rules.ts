// Field rules, read from the API's own OpenAPI document (generated from the validators): the
// dashboard keeps no second copy of them. The API stays the judge; its field errors are shown
// next to the field they name.
import openapi from "../openapi.json";
import type { Acknowledge, Association, Backlog, Provider } from "./api";

type StringSchema = { pattern?: string; minLength?: number; maxLength?: number };
type Schema = StringSchema & { anyOf?: Schema[]; items?: Schema; maxItems?: number; minimum?: number; maximum?: number; type?: string; default?: unknown };

const schemas = openapi.components.schemas as unknown as Record<string, { properties: Record<string, Schema>; enum?: string[] }>;

function stringBranch(schema: Schema): Schema {
  return schema.anyOf?.find((s) => s.type === "string" || s.type === "array" || s.type === "integer") ?? schema;
}

const intake = schemas.TrackerIntake.properties;
const project = schemas.NewProject.properties;

export const RULES = {
  id: stringBranch(project.id),
  gitOrigin: stringBranch(project.gitOrigin),
  name: stringBranch(project.name),
  repo: stringBranch(intake.repo),
  team: stringBranch(intake.team),
  site: stringBranch(intake.site),
  project: stringBranch(intake.project),
  assignee: stringBranch(intake.assignee),
  label: stringBranch(intake.labels).items ?? {},
  labels: stringBranch(intake.labels),
  excludeLabels: stringBranch(intake.excludeLabels),
  maxSessionsPerPoll: stringBranch(intake.maxSessionsPerPoll),
};

/** The trackers a rule can name, and what people call them. */
export const PROVIDER_NAMES: Partial<Record<Provider, string>> = { github: "GitHub", linear: "Linear", jira: "Jira" };
export const PROVIDERS = ((schemas.Provider.enum ?? []) as Provider[]).filter((p) => PROVIDER_NAMES[p] !== undefined);

// Linear's creator kinds (the domain's `Creator`): a full member, a guest, an app. Jira's reporter
// kinds (the domain's `Reporter`): a user of the site, an app, a service desk's customer. The API's
// `Author` enum holds every tracker's values; a rule takes only its own tracker's.
const LINEAR_CREATORS: Association[] = ["MEMBER", "GUEST", "APP"];
const JIRA_REPORTERS: Association[] = ["MEMBER", "APP", "CUSTOMER"];
const AUTHORS = (schemas.Author.enum ?? []) as Association[];

/** The authors a rule on `provider` may allow: GitHub's author_association values (in the API's order), Linear's creator kinds or Jira's reporter kinds. */
export function authorsOf(provider: Provider): Association[] {
  if (provider === "linear") return LINEAR_CREATORS;
  if (provider === "jira") return JIRA_REPORTERS;
  return AUTHORS.filter((a) => a === "MEMBER" || !(LINEAR_CREATORS.includes(a) || JIRA_REPORTERS.includes(a)));
}

/** Those allowed by default: GitHub's from the API's document; on Linear and Jira, full members (users of the site) only, as the API fills in. */
export function defaultAuthorsOf(provider: Provider): Association[] {
  return provider === "github" ? DEFAULT_AUTHORS : ["MEMBER"];
}

export const ASSOCIATIONS = authorsOf("github");
export const DEFAULT_AUTHORS = (intake.authors.default ?? []) as Association[];
export const DEFAULT_BACKLOG = (intake.backlog.default ?? "new") as Backlog;
/** What intake may write on an issue once its session is launched, in the API's order, and the default (none). */
export const ACKNOWLEDGE_KINDS = (schemas.Acknowledge.enum ?? []) as Acknowledge[];
export const DEFAULT_ACKNOWLEDGE = (intake.acknowledge.default ?? "none") as Acknowledge;

/** What a rule on `provider` may write: Jira has no reactions (the API refuses one there). */
export function acknowledgeKindsOf(provider: Provider): Acknowledge[] {
  return provider === "jira" ? ACKNOWLEDGE_KINDS.filter((k) => k !== "reaction") : ACKNOWLEDGE_KINDS;
}

/** Why `value` breaks the published rule, or undefined when it keeps it. */
export function checkString(rule: StringSchema, value: string, what: string): string | undefined {
  if (rule.minLength !== undefined && value.length < rule.minLength) return `${what} is required.`;
  if (rule.maxLength !== undefined && [...value].length > rule.maxLength) return `${what} is at most ${rule.maxLength} characters.`;
  // `u`: count code points, as the API (and JSON Schema) do, not UTF-16 units.
  if (rule.pattern && !new RegExp(rule.pattern, "u").test(value)) return `${what} ${describe(what)}`;
  return undefined;
}

function describe(what: string): string {
  switch (what) {
    case "Project id":
      return "is 1-64 lower-case letters, digits and '-', starting and ending with a letter or digit.";
    case "Repository":
      return "is owner/name, in GitHub's characters (no '.git' at the end).";
    case "Assignee":
      return "is a GitHub login, * (has an assignee) or none (unassigned).";
    case "Team key":
      return "is 1-16 letters and digits, such as ENG.";
    case "Site":
      return "is the site's host name in lower case, such as acme.atlassian.net.";
    case "Project key":
      return "is an upper-case letter, then 1-9 upper-case letters, digits or '_', such as PROJ.";
    case "A label":
      return "has no comma, no control character, and no space at either end.";
    case "Git origin":
      return "must not carry credentials (user:token@).";
    default:
      return "does not match the API's rule.";
  }
}

export function checkLabels(labels: string[], rule: Schema, what: string): string | undefined {
  if (rule.maxItems !== undefined && labels.length > rule.maxItems) return `At most ${rule.maxItems} ${what}.`;
  const folded = labels.map(casefold);
  if (new Set(folded).size !== folded.length) return `${what[0].toUpperCase()}${what.slice(1)} must be unique (case-insensitive).`;
  for (const label of labels) {
    const problem = checkString(RULES.label, label, "A label");
    if (problem) return `${problem} (${JSON.stringify(label)})`;
  }
  return undefined;
}

export function checkMaxSessions(value: number): string | undefined {
  const { minimum = 1, maximum = 100 } = RULES.maxSessionsPerPoll;
  if (!Number.isInteger(value) || value < minimum || value > maximum) return `Max sessions per poll is a whole number from ${minimum} to ${maximum}.`;
  return undefined;
}

/** Near Python's str.casefold (the API's): upper then lower folds "ß" and "SS" alike. */
export function casefold(value: string): string {
  return value.toUpperCase().toLowerCase();
}

/** The one rule across fields the form gates on (the API holds the others and says so). */
export function ruleIsSet(labels: string[], assignee: string): boolean {
  return labels.length > 0 || assignee.trim() !== "";
}

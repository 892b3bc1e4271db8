/** Linear's identifier (ENG-123) or Jira's key (PROJ-123) beside the canonical id, linking to the issue; GitHub's issues need none (the id ends in #number). */
export function IdentifierChip({ issue }: { issue: { identifier?: string | null; url: string; title: string } }) {
  if (!issue.identifier) return null;
  return (
    <a className="identifier" href={issue.url} title={`${issue.identifier}: ${issue.title}`}>
      {issue.identifier}
    </a>
  );
}

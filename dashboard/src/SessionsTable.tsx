/** The project's sessions as a table: search, a status filter, sortable columns and pages of 25,
 * all done by TanStack Table's row models (nothing sorted or paged by hand). A row opens the
 * inspector. Smooth with 1,000 sessions: the columns are built once, a session's search text is
 * computed once, and only a page of rows is ever rendered. */
import {
  flexRender,
  getCoreRowModel,
  getFilteredRowModel,
  getPaginationRowModel,
  getSortedRowModel,
  useReactTable,
  type ColumnDef,
  type ColumnFiltersState,
  type FilterFn,
  type PaginationState,
  type SortingState,
  type Updater,
} from "@tanstack/react-table";
import { createContext, useContext, useEffect, useMemo, useState, type KeyboardEvent, type MouseEvent } from "react";
import type { components } from "./api-types";
import { acknowledgementWords, ackTroubled, issueName, sessionStatusWords } from "./format";
import { RelativeTime } from "./time";
import "./table.css";

type Session = components["schemas"]["SessionView"];

export const PAGE_SIZE = 25;

/** A session's status as the table shows and filters it: what its backend last reported, else its claim's state. */
export function statusOf(session: Session): string {
  return session.sessionStatus ? sessionStatusWords(session.sessionStatus) : session.status;
}

const searchText = new WeakMap<Session, string>();

/** What a search matches: the title, the identifier (#42, ENG-123, PROJ-123) and the canonical id, lower case; once per session. */
function haystack(session: Session): string {
  let text = searchText.get(session);
  if (text === undefined) {
    text = `${session.title}\n${issueName(session)}\n${session.issueId}`.toLowerCase();
    searchText.set(session, text);
  }
  return text;
}

const matchesSearch: FilterFn<Session> = (row, _columnId, value: string) => haystack(row.original).includes(value);

/** Every time cell reads `now` from here, so the columns need not change each second. */
const Now = createContext<Date | undefined>(undefined);

function When({ at }: { at: string | null | undefined }) {
  const now = useContext(Now);
  return at ? <RelativeTime at={at} now={now} /> : <span className="muted">—</span>;
}

function time(at: string | null | undefined): number | undefined {
  return at ? Date.parse(at) : undefined;
}

const COLUMNS: ColumnDef<Session>[] = [
  {
    id: "issue",
    sortDescFirst: false,
    header: "Issue",
    accessorFn: (s) => issueName(s),
    sortingFn: "alphanumeric",
    cell: ({ row }) => (
      <a className="identifier" href={row.original.url} title={row.original.issueId} onClick={(e) => e.stopPropagation()}>
        {issueName(row.original)}
      </a>
    ),
  },
  {
    id: "title",
    sortDescFirst: false,
    header: "Title",
    accessorFn: (s) => s.title,
    sortingFn: "text",
    cell: ({ row }) => <span title={row.original.title}>{row.original.title}</span>,
  },
  {
    id: "status",
    sortDescFirst: false,
    header: "Status",
    accessorFn: statusOf,
    sortingFn: "text",
    filterFn: "equals",
    cell: ({ row }) => {
      const s = row.original;
      if (!s.sessionStatus) return <span className={`badge badge-${s.status}`}>{s.status}</span>;
      return (
        <>
          <span className={`badge session-${s.sessionStatus}`}>{sessionStatusWords(s.sessionStatus)}</span>{" "}
          <span className="muted claim-state">{s.status}</span>
        </>
      );
    },
  },
  {
    id: "acknowledgement",
    sortDescFirst: false,
    header: "Acknowledgement",
    accessorFn: (s) => (s.acknowledgement ? acknowledgementWords(s.acknowledgement) : undefined),
    sortingFn: "text",
    sortUndefined: "last",
    cell: ({ row }) => {
      const ack = row.original.acknowledgement;
      if (!ack) return <span className="muted">—</span>;
      const title = ackTroubled(ack) ? (ack.detail ?? undefined) : undefined;
      // The comment itself, when there is one (an https URL only).
      return ack.url && /^https:\/\//.test(ack.url) ? (
        <a className={`badge ack-${ack.state}`} href={ack.url} title={title} onClick={(e) => e.stopPropagation()}>
          {acknowledgementWords(ack)}
        </a>
      ) : (
        <span className={`badge ack-${ack.state}`} title={title}>
          {acknowledgementWords(ack)}
        </span>
      );
    },
  },
  {
    id: "claimed",
    sortDescFirst: true,
    header: "Claimed",
    accessorFn: (s) => time(s.claimedAt),
    sortingFn: "basic",
    cell: ({ row }) => <When at={row.original.claimedAt} />,
  },
  {
    id: "updated",
    sortDescFirst: true,
    header: "Updated",
    accessorFn: (s) => time(s.updatedAt),
    sortingFn: "basic",
    sortUndefined: "last",
    cell: ({ row }) => <When at={row.original.updatedAt} />,
  },
];

const ARIA_SORT = { asc: "ascending", desc: "descending" } as const;

function resolve<T>(updater: Updater<T>, old: T): T {
  return typeof updater === "function" ? (updater as (old: T) => T)(old) : updater;
}

export function SessionsTable({ sessions, now, onOpen }: { sessions: Session[]; now: Date; onOpen: (s: Session) => void }) {
  const [sorting, setSorting] = useState<SortingState>([{ id: "claimed", desc: true }]);
  const [search, setSearch] = useState("");
  const [status, setStatus] = useState("");
  const [pagination, setPagination] = useState<PaginationState>({ pageIndex: 0, pageSize: PAGE_SIZE });
  // The statuses present, and the one filtered on even when a refresh left none of it.
  const statuses = useMemo(() => [...new Set([...sessions.map(statusOf), ...(status ? [status] : [])])].sort((a, b) => a.localeCompare(b, "en")), [sessions, status]);
  const columnFilters = useMemo<ColumnFiltersState>(() => (status ? [{ id: "status", value: status }] : []), [status]);
  const globalFilter = search.trim().toLowerCase();

  const table = useReactTable({
    data: sessions,
    columns: COLUMNS,
    state: { sorting, columnFilters, globalFilter, pagination },
    getRowId: (s) => s.issueId,
    onSortingChange: (updater) => {
      setSorting((old) => resolve(updater, old));
      setPagination((p) => ({ ...p, pageIndex: 0 }));
    },
    onPaginationChange: (updater) => setPagination((old) => resolve(updater, old)),
    globalFilterFn: matchesSearch,
    getColumnCanGlobalFilter: (column) => column.id === "title",
    enableSortingRemoval: false,
    autoResetPageIndex: false,
    getCoreRowModel: getCoreRowModel(),
    getFilteredRowModel: getFilteredRowModel(),
    getSortedRowModel: getSortedRowModel(),
    getPaginationRowModel: getPaginationRowModel(),
  });

  const matching = table.getFilteredRowModel().rows.length;
  const pages = Math.max(1, table.getPageCount());
  // Fewer sessions (a refresh, a filter) may leave the page past the last: go to the last.
  useEffect(() => {
    if (pagination.pageIndex > pages - 1) setPagination((p) => ({ ...p, pageIndex: pages - 1 }));
  }, [pages, pagination.pageIndex]);

  const open = (session: Session) => (e: MouseEvent | KeyboardEvent) => {
    if ("key" in e) {
      if ((e.key !== "Enter" && e.key !== " ") || e.target !== e.currentTarget) return;
      e.preventDefault();
    }
    onOpen(session);
  };
  const rows = table.getRowModel().rows;

  return (
    <Now.Provider value={now}>
      <div className="sessions-table">
        <div className="table-toolbar">
          <input
            type="search"
            aria-label="Search sessions"
            placeholder="Search title or id"
            value={search}
            onChange={(e) => {
              setSearch(e.target.value);
              setPagination((p) => ({ ...p, pageIndex: 0 }));
            }}
          />
          <select
            aria-label="Filter by status"
            value={status}
            onChange={(e) => {
              setStatus(e.target.value);
              setPagination((p) => ({ ...p, pageIndex: 0 }));
            }}
          >
            <option value="">All statuses</option>
            {statuses.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
          <span className="muted table-count" aria-live="polite">
            {matching.toLocaleString("en-US")} session{matching === 1 ? "" : "s"}
          </span>
        </div>
        <table aria-label="Sessions">
          <thead>
            {table.getHeaderGroups().map((group) => (
              <tr key={group.id}>
                {group.headers.map((header) => {
                  const sorted = header.column.getIsSorted();
                  return (
                    <th key={header.id} className={`col-${header.id}`} aria-sort={sorted ? ARIA_SORT[sorted] : "none"} scope="col">
                      <button type="button" className="sort" onClick={header.column.getToggleSortingHandler()}>
                        {flexRender(header.column.columnDef.header, header.getContext())}
                        <span className="sort-mark" aria-hidden="true">
                          {sorted === "asc" ? "▲" : sorted === "desc" ? "▼" : ""}
                        </span>
                      </button>
                    </th>
                  );
                })}
              </tr>
            ))}
          </thead>
          <tbody>
            {rows.map((row) => (
              <tr key={row.id} tabIndex={0} className="session-row" onClick={open(row.original)} onKeyDown={open(row.original)}>
                {row.getVisibleCells().map((cell) => (
                  <td key={cell.id} className={`col-${cell.column.id}`}>
                    {flexRender(cell.column.columnDef.cell, cell.getContext())}
                  </td>
                ))}
              </tr>
            ))}
            {rows.length === 0 && (
              <tr>
                <td colSpan={COLUMNS.length} className="table-empty">
                  {sessions.length === 0 ? "No sessions yet" : "No sessions match"}
                </td>
              </tr>
            )}
          </tbody>
        </table>
        <div className="table-pager">
          <button type="button" onClick={() => table.previousPage()} disabled={!table.getCanPreviousPage()}>
            Previous page
          </button>
          <span>
            Page {Math.min(pagination.pageIndex, pages - 1) + 1} of {pages}
          </span>
          <button type="button" onClick={() => table.nextPage()} disabled={!table.getCanNextPage()}>
            Next page
          </button>
        </div>
      </div>
    </Now.Provider>
  );
}

/**
 * The console's pages, in navigation order. The extension point for features that add pages (approvals,
 * connections, stages): one entry here (and its API routes under /console/api). `role`: who sees the page.
 */
import type { JSX } from 'preact';
import type { Route } from '../router.js';
import { AgentsPage } from './agents.js';
import { ApprovalsPage } from './approvals.js';
import { ConnectionsPage } from './connections.js';
import { CatalogPage } from './catalog.js';
import { ExplorerPage, RecordPage } from './explorer.js';
import { OverviewPage } from './overview.js';
import { RevocationsPage } from './revocations.js';

export interface PageProps { readonly route: Route; readonly roles: readonly string[] }

export interface ConsolePage {
  /** The first hash segment: `#/agents` -> `agents`. */
  readonly id: string;
  readonly title: string;
  readonly render: (props: PageProps) => JSX.Element;
  readonly role?: 'viewer' | 'operator' | 'approver';
  /** Reachable by link, not listed in the navigation. */
  readonly hidden?: boolean;
}

export const PAGES: readonly ConsolePage[] = [
  { id: 'overview', title: 'Overview', render: () => <OverviewPage /> },
  { id: 'agents', title: 'Agents', render: (p) => <AgentsPage {...p} /> },
  { id: 'catalog', title: 'Catalog', render: () => <CatalogPage /> },
  { id: 'explorer', title: 'Explorer', render: (p) => <ExplorerPage {...p} /> },
  { id: 'revocations', title: 'Revocations', render: (p) => <RevocationsPage {...p} /> },
  { id: 'approvals', title: 'Approvals', render: (p) => <ApprovalsPage {...p} /> },
  { id: 'connections', title: 'Connections', render: (p) => <ConnectionsPage {...p} /> },
  { id: 'records', title: 'Record', render: (p) => <RecordPage {...p} />, hidden: true },
];

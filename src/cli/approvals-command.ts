/**
 * `broker approvals ...` (issue 18): list pending approval requests, show one, approve or reject it, and the
 * share of gated exchanges per tool, through the admin API with the caller's admin key (the key id is who
 * decided; the tool's catalog must name it in an approver role).
 */
import { readFileSync } from 'node:fs';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { callAdmin, describeFailure, resolveAdminTarget, type AdminTarget } from './admin-command.js';

export type ApprovalsAction =
  | { readonly kind: 'list'; readonly status?: string }
  | { readonly kind: 'show'; readonly id: string }
  | { readonly kind: 'decide'; readonly id: string; readonly decision: 'approve' | 'reject'; readonly reason?: string }
  | { readonly kind: 'stats' };

interface ApprovalLine { id?: unknown; status?: unknown; agent?: unknown; tool?: unknown; user?: { sub?: unknown }; why?: unknown; expires_at?: unknown; details_sha256?: unknown }

function line(a: ApprovalLine): string {
  const why = Array.isArray(a.why) ? a.why.map(String).join('; ') : '';
  return `${String(a.id)}  ${String(a.status)}  agent ${String(a.agent)} -> ${String(a.tool)} for ${String(a.user?.sub)}: ${why} (lapses ${String(a.expires_at)})`;
}

/** Runs one action against the admin API; returns the exit code. */
export async function runApprovals(target: AdminTarget, action: ApprovalsAction, out: (line: string) => void, err: (line: string) => void): Promise<number> {
  const id = (value: string) => encodeURIComponent(value);
  const request = action.kind === 'list' ? callAdmin(target, 'GET', `/admin/approvals${action.status ? `?status=${encodeURIComponent(action.status)}` : ''}`)
    : action.kind === 'show' ? callAdmin(target, 'GET', `/admin/approvals/${id(action.id)}`)
      : action.kind === 'stats' ? callAdmin(target, 'GET', '/admin/approvals/stats')
        : callAdmin(target, 'POST', `/admin/approvals/${id(action.id)}/${action.decision}`, { via: 'cli', ...(action.reason ? { reason: action.reason } : {}) });
  const result = await request.catch((e: unknown) => ({ ok: false, status: 0, body: { error: 'unreachable', error_description: e instanceof Error ? e.message : String(e) } }));
  if (!result.ok) {
    err(`failed: ${describeFailure(result)}`);
    return 1;
  }
  const body = result.body as { approvals?: ApprovalLine[]; approval?: ApprovalLine; tools?: Record<string, { exchanges: number; gated: number; gated_share: number }> };
  if (action.kind === 'list') {
    const approvals = body.approvals ?? [];
    if (approvals.length === 0) out('no approval requests');
    for (const approval of approvals) out(line(approval));
  } else if (action.kind === 'stats') {
    for (const [tool, s] of Object.entries(body.tools ?? {})) out(`${tool}: ${String(s.gated)} of ${String(s.exchanges)} exchanges gated (${(s.gated_share * 100).toFixed(1)} %)`);
  } else {
    out(JSON.stringify(body.approval, null, 2));
  }
  return 0;
}

interface AdminOptions { url?: string; adminKeyFile?: string; key?: string }

export function registerApprovalCommands(program: Command): void {
  const target = (opts: AdminOptions): AdminTarget => {
    try {
      return resolveAdminTarget({ url: opts.url, keyFile: opts.adminKeyFile, argvKey: opts.key }, process.env, (file) => readFileSync(file === '-' ? 0 : file, 'utf8'));
    } catch (e) {
      throw new InvalidArgumentError(e instanceof Error ? e.message : String(e));
    }
  };
  const run = async (opts: AdminOptions, action: ApprovalsAction) => {
    process.exitCode = await runApprovals(target(opts), action, (l) => { console.log(l); }, (l) => { console.error(l); });
  };
  const withAdmin = (cmd: Command): Command => cmd
    .option('--url <url>', 'broker base URL, https (plain http only to localhost) (default $BROKER_URL)')
    .option('--admin-key-file <file>', 'read the admin key <id>.<secret> from this file, or - for standard input (default $BROKER_ADMIN_KEY)')
    .addOption(new Option('--key <key>').hideHelp());
  const approvals = program.command('approvals').description('human approvals of gated agent actions (issue 18): list, show, approve, reject, stats');
  withAdmin(approvals.command('list').description('approval requests, newest first'))
    .option('--status <status>', 'pending, approved, rejected or minted')
    .action(async (opts: AdminOptions & { status?: string }) => { await run(opts, { kind: 'list', ...(opts.status ? { status: opts.status } : {}) }); });
  withAdmin(approvals.command('show').description('one request: user, agent, tool, action, arguments digest, why').argument('<id>'))
    .action(async (approvalId: string, opts: AdminOptions) => { await run(opts, { kind: 'show', id: approvalId }); });
  for (const decision of ['approve', 'reject'] as const) {
    withAdmin(approvals.command(decision).description(`${decision} a pending request (recorded with your admin key id)`).argument('<id>'))
      .option('--reason <text>', 'why (recorded)')
      .action(async (approvalId: string, opts: AdminOptions & { reason?: string }) => { await run(opts, { kind: 'decide', id: approvalId, decision, ...(opts.reason ? { reason: opts.reason } : {}) }); });
  }
  withAdmin(approvals.command('stats').description('the share of exchanges gated for approval, per tool'))
    .action(async (opts: AdminOptions) => { await run(opts, { kind: 'stats' }); });
}

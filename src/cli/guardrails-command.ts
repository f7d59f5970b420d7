/**
 * The guardrail commands (issue 18), each a call to the admin API of a running broker (the same URL and
 * key sources as every admin command):
 *   broker explain --agent a --tool crm --scope "x y" (--subject-token-file f | --claims '{"iss":..,"sub":..}') [--details '[...]']
 *   broker stage <agent> <stage> --reason ..        broker stage-report <agent> [--from] [--to]
 *   broker budget show <agent>                       broker budget raise|reset <agent> --metric m [--tool t] [--by n] --reason ..
 */
import { readFileSync } from 'node:fs';
import { InvalidArgumentError, type Command } from 'commander';

type WithAdmin = (cmd: Command) => Command;
type RunAdmin = (opts: Record<string, unknown>, method: 'GET' | 'POST', path: string, body?: unknown) => Promise<void>;

function json(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new InvalidArgumentError(`${what} must be JSON`);
  }
}

export function registerGuardrailCommands(program: Command, withAdmin: WithAdmin, runAdmin: RunAdmin): void {
  withAdmin(program.command('explain').description('the full decision trace of an exchange, without minting a token (POST /admin/explain)'))
    .requiredOption('--agent <client-id>')
    .requiredOption('--tool <id-or-resource>')
    .option('--scope <scopes>', 'space-separated scopes to ask for', '')
    .option('--subject-token-file <file>', 'a user\'s token, verified as at /token (- for standard input)')
    .option('--claims <json>', 'a dry run: the user\'s claims, e.g. \'{"iss":"https://idp","sub":"alice","scope":"crm.read"}\'')
    .option('--details <json>', 'RFC 9396 authorization_details, exactly as the agent sends them to /token')
    .action(async (opts: Record<string, unknown> & { agent: string; tool: string; scope: string; subjectTokenFile?: string; claims?: string; details?: string }) => {
      if ((opts.subjectTokenFile === undefined) === (opts.claims === undefined)) throw new InvalidArgumentError('give exactly one of --subject-token-file and --claims');
      const body = {
        agent: opts.agent, tool: opts.tool, scope: opts.scope,
        ...(opts.subjectTokenFile !== undefined ? { subject_token: readFileSync(opts.subjectTokenFile === '-' ? 0 : opts.subjectTokenFile, 'utf8').trim() } : {}),
        ...(opts.claims !== undefined ? { claims: json(opts.claims, '--claims') } : {}),
        ...(opts.details !== undefined ? { authorization_details: json(opts.details, '--details') } : {}),
      };
      await runAdmin(opts, 'POST', '/admin/explain', body);
    });

  withAdmin(program.command('stage').description('change an agent\'s rollout stage: shadow, read_only, supervised, autonomous (attributed)'))
    .argument('<client-id>')
    .argument('<stage>')
    .requiredOption('--reason <text>', 'why (recorded)')
    .action(async (id: string, stage: string, opts: Record<string, unknown> & { reason: string }) => {
      await runAdmin(opts, 'POST', `/admin/stages/${encodeURIComponent(id)}`, { stage, reason: opts.reason });
    });

  withAdmin(program.command('stage-report').description('what an agent did or would have done over a period: tools, scopes, approvals, denials'))
    .argument('<client-id>')
    .option('--from <iso-time>', 'inclusive')
    .option('--to <iso-time>', 'exclusive')
    .action(async (id: string, opts: Record<string, unknown> & { from?: string; to?: string }) => {
      const query = new URLSearchParams({ ...(opts.from ? { from: opts.from } : {}), ...(opts.to ? { to: opts.to } : {}) }).toString();
      await runAdmin(opts, 'GET', `/admin/stages/${encodeURIComponent(id)}/report${query ? `?${query}` : ''}`);
    });

  withAdmin(program.command('budget').description('show, raise or reset an agent\'s budgets (raise and reset are attributed; only a person does them)'))
    .argument('<action>', 'show | raise | reset')
    .argument('<client-id>')
    .option('--metric <metric>', 'exchanges_per_hour, exchanges_per_day or amount_per_day:<CUR>')
    .option('--tool <id>', 'the tool budget (default: the overall budget)')
    .option('--by <n>', 'raise: how much to add to the current window\'s limit')
    .option('--reason <text>', 'why (recorded)')
    .action(async (action: string, id: string, opts: Record<string, unknown> & { metric?: string; tool?: string; by?: string; reason?: string }) => {
      const path = `/admin/budgets/${encodeURIComponent(id)}`;
      if (action === 'show') return runAdmin(opts, 'GET', path);
      if (action !== 'raise' && action !== 'reset') throw new InvalidArgumentError('action must be show, raise or reset');
      if (!opts.metric || !opts.reason) throw new InvalidArgumentError(`${action} needs --metric and --reason`);
      if (action === 'raise' && (opts.by === undefined || !/^\d+$/u.test(opts.by))) throw new InvalidArgumentError('raise needs --by <whole number>');
      return runAdmin(opts, 'POST', `${path}/${action}`, { metric: opts.metric, reason: opts.reason, ...(opts.tool ? { tool: opts.tool } : {}), ...(action === 'raise' ? { by: Number(opts.by) } : {}) });
    });
}

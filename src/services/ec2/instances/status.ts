// DescribeInstanceStatus's summaries, from the checks the hosts recorded (controllers/status-checks.ts).
// Pure: unit-tested in status.test.ts.
//
//   not running                   not-applicable
//   no check of this boot yet     initializing (the first check comes within a poll of the boot)
//   check too old                 insufficient-data (the host stopped reporting)
//   passed / failed / unknown     ok / impaired (reachability failed, ImpairedSince) / insufficient-data
import type { EbsStatusSummary, InstanceStatusSummary, SummaryStatus } from '@aws-sdk/client-ec2';
import type { CheckStatus, Row } from '../../../store/schema.js';

type CheckRow = Row<'instance_status_checks'>;

/** A check older than this is not news of the instance any more (ten polls; 5 minutes by default). */
export function staleAfterMs(): number {
  return 10 * (Number(process.env.CUMULO_INSTANCE_POLL_MS) || 30_000);
}

const summaryOf: Record<CheckStatus, SummaryStatus> = { passed: 'ok', failed: 'impaired', 'insufficient-data': 'insufficient-data' };

function summary(status: CheckStatus | 'initializing' | 'not-applicable', since?: string | null): InstanceStatusSummary {
  if (status === 'not-applicable') return { Status: 'not-applicable' };
  if (status === 'initializing') return { Status: 'initializing', Details: [{ Name: 'reachability', Status: 'initializing' }] };
  return {
    Status: summaryOf[status],
    Details: [{ Name: 'reachability', Status: status, ...(status === 'failed' && since ? { ImpairedSince: new Date(since) } : {}) }],
  };
}

export function checkSummaries(
  row: Pick<Row<'instances'>, 'state' | 'boots'>,
  check: CheckRow | undefined,
  now = Date.now(),
): { system: InstanceStatusSummary; instance: InstanceStatusSummary } {
  if (row.state !== 'running') return { system: summary('not-applicable'), instance: summary('not-applicable') };
  if (!check || check.boot !== row.boots) return { system: summary('initializing'), instance: summary('initializing') };
  if (now - Date.parse(check.checked_at) > staleAfterMs()) return { system: summary('insufficient-data'), instance: summary('insufficient-data') };
  return { system: summary(check.system_status, check.system_failed_since), instance: summary(check.instance_status, check.instance_failed_since) };
}

/**
 * The attached EBS check: every volume attached to the running instance, as the host last found its
 * backing. One failed → impaired (since the earliest failure); all passed → ok; any not checked yet
 * (or too long ago) → initializing / insufficient-data.
 */
export function ebsSummary(running: boolean, volumes: { volumeId: string; check?: Row<'volume_status_checks'> }[], now = Date.now()): EbsStatusSummary {
  if (!running || !volumes.length) return { Status: 'not-applicable' };
  const failed = volumes.filter((v) => v.check?.status === 'failed');
  if (failed.length) {
    const since = failed
      .map((v) => v.check!.failed_since)
      .filter((s): s is string => Boolean(s))
      .sort()[0];
    return { Status: 'impaired', Details: [{ Name: 'reachability', Status: 'failed', ...(since ? { ImpairedSince: new Date(since) } : {}) }] };
  }
  if (volumes.some((v) => !v.check)) return { Status: 'initializing', Details: [{ Name: 'reachability', Status: 'initializing' }] };
  if (volumes.every((v) => v.check!.status === 'passed' && now - Date.parse(v.check!.checked_at) <= staleAfterMs()))
    return { Status: 'ok', Details: [{ Name: 'reachability', Status: 'passed' }] };
  return { Status: 'insufficient-data', Details: [{ Name: 'reachability', Status: 'insufficient-data' }] };
}

// Members that only the current EC2 model has (the frozen aws-sdk v2 model lacked them, so a
// current CLI, boto3 or SDK got UnknownParameter): sent by the SDK v3 to a started server (fake
// driver), each must get past the parser. What the handler then answers is its own business
// (i11-members makes each act or refuse); here only "the parameter is not recognized" is wrong.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CreateVolumeCommand, DeregisterImageCommand, RunInstancesCommand, TerminateInstancesCommand, type EC2Client } from '@aws-sdk/client-ec2';
import { startTestServer, type TestServer } from './harness.js';

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
});
afterAll(async () => {
  await s?.stop();
});

/** A client that records the request bodies it sends and can add a parameter of its own to them. */
function recordingClient(extra?: string): { client: EC2Client; bodies: string[] } {
  const client = s.ec2();
  const bodies: string[] = [];
  client.middlewareStack.add(
    (next) => async (args) => {
      const req = args.request as { body?: unknown; headers: Record<string, string> };
      if (extra) {
        req.body = `${String(req.body)}&${extra}`;
        req.headers['content-length'] = String(Buffer.byteLength(String(req.body)));
      }
      bodies.push(String(req.body));
      return next(args);
    },
    { step: 'build', name: 'recordBody' },
  );
  return { client, bodies };
}

/** The error name a send ends with, or 'ok'. */
async function outcome(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    return (e as { name: string }).name;
  }
}

const cases: [string, (c: EC2Client) => Promise<unknown>, string[]][] = [
  [
    'TerminateInstances SkipOsShutdown and Force',
    (c) => c.send(new TerminateInstancesCommand({ InstanceIds: ['i-0123456789abcdef0'], SkipOsShutdown: true, Force: true })),
    ['SkipOsShutdown=true', 'Force=true'],
  ],
  [
    'RunInstances Placement.AvailabilityZoneId',
    (c) => c.send(new RunInstancesCommand({ ImageId: 'ami-0123456789abcdef0', MinCount: 1, MaxCount: 1, Placement: { AvailabilityZoneId: 'use1-az1' } })),
    ['Placement.AvailabilityZoneId=use1-az1'],
  ],
  ['CreateVolume AvailabilityZoneId', (c) => c.send(new CreateVolumeCommand({ AvailabilityZoneId: 'use1-az1', Size: 1 })), ['AvailabilityZoneId=use1-az1']],
  [
    'DeregisterImage DeleteAssociatedSnapshots',
    (c) => c.send(new DeregisterImageCommand({ ImageId: 'ami-0123456789abcdef0', DeleteAssociatedSnapshots: true })),
    ['DeleteAssociatedSnapshots=true'],
  ],
];

describe('members only the current model has parse', () => {
  test.each(cases)('%s', async (_name, send, wire) => {
    const { client, bodies } = recordingClient();
    const got = await outcome(send(client));
    expect(bodies).toHaveLength(1);
    for (const p of wire) expect(bodies[0]!.split('&'), 'the member is on the wire').toContain(p);
    expect(got).not.toBe('UnknownParameter');
  });

  test.each(cases)('control: %s with a parameter no model has is UnknownParameter', async (_name, send) => {
    // The same request plus one made-up parameter: proves the parser checks every name it gets.
    const { client } = recordingClient('NoSuchMember=1');
    expect(await outcome(send(client))).toBe('UnknownParameter');
  });
});

// EC2's names: parsing (pure), and resolution against a store with the fixture's rows.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Db } from '../../store/db.js';
import { hostFacts } from '../../host-facts.js';
import { fixtureStore, I_EU, I_GONE, I_NAMED, I_PLAIN, VPC_A, VPC_B, VPC_C, VPC_D } from './fixture.js';
import { endpointCertNames, endpointNames } from '../endpoint.js';
import { canonicalName, dnsLookup, isLocalReverse, parseName, resolveQuery, type DnsFacts, type DnsLookup, type DnsResult } from './lookup.js';

describe('parseName', () => {
  test.each<[string, ReturnType<typeof parseName>]>([
    ['ip-10-0-1-5.ec2.internal', { kind: 'private', ip: '10.0.1.5', region: 'us-east-1' }],
    ['IP-10-0-1-5.EC2.Internal.', { kind: 'private', ip: '10.0.1.5', region: 'us-east-1' }],
    ['ip-172-31-255-254.eu-west-1.compute.internal', { kind: 'private', ip: '172.31.255.254', region: 'eu-west-1' }],
    ['ip-10-0-0-9.us-gov-west-1.compute.internal', { kind: 'private', ip: '10.0.0.9', region: 'us-gov-west-1' }],
    // us-east-1's zone is ec2.internal: this name is no one's
    ['ip-10-0-1-5.us-east-1.compute.internal', { kind: 'internal' }],
    ['ip-10-0-1-256.ec2.internal', { kind: 'internal' }],
    ['ip-10-0-01-5.ec2.internal', { kind: 'internal' }],
    ['ip-10-0-1.ec2.internal', { kind: 'internal' }],
    ['foo.ec2.internal', { kind: 'internal' }],
    ['www.ip-10-0-1-5.ec2.internal', { kind: 'internal' }],
    ['i-0123456789abcdef0.ec2.internal', { kind: 'instance', instanceId: 'i-0123456789abcdef0', region: 'us-east-1' }],
    ['I-0123456789ABCDEF0.ap-southeast-2.compute.internal', { kind: 'instance', instanceId: 'i-0123456789abcdef0', region: 'ap-southeast-2' }],
    ['i-12345678.ec2.internal', { kind: 'instance', instanceId: 'i-12345678', region: 'us-east-1' }],
    ['i-0123456789abcdef.ec2.internal', { kind: 'internal' }], // 16 hex digits
    ['ec2-198-18-0-5.compute-1.amazonaws.com', { kind: 'public', ip: '198.18.0.5', region: 'us-east-1' }],
    ['EC2-198-18-0-5.Compute-1.AmazonAWS.com.', { kind: 'public', ip: '198.18.0.5', region: 'us-east-1' }],
    ['ec2-54-1-2-3.eu-west-1.compute.amazonaws.com', { kind: 'public', ip: '54.1.2.3', region: 'eu-west-1' }],
    ['ec2-54-1-2-3.us-east-1.compute.amazonaws.com', { kind: 'other' }],
    ['s3.compute-1.amazonaws.com', { kind: 'other' }],
    ['5.1.0.10.in-addr.arpa', { kind: 'reverse', ip: '10.0.1.5' }],
    ['5.1.0.10.IN-ADDR.ARPA.', { kind: 'reverse', ip: '10.0.1.5' }],
    ['1.0.10.in-addr.arpa', { kind: 'other' }],
    ['ec2.internal', { kind: 'zone' }],
    ['eu-west-1.compute.internal', { kind: 'zone' }],
    ['compute.internal', { kind: 'zone' }],
    ['example.com', { kind: 'other' }],
    ['metadata.google.internal', { kind: 'other' }],
    ['.', { kind: 'other' }],
  ])('%s', (name, want) => {
    expect(parseName(name)).toEqual(want);
  });

  test('canonicalName', () => {
    expect(canonicalName('Ip-10-0-1-5.EC2.internal.')).toBe('ip-10-0-1-5.ec2.internal');
  });

  test.each([
    ['10.1.2.3', true],
    ['172.16.0.1', true],
    ['172.32.0.1', false],
    ['192.168.9.9', true],
    ['100.64.0.1', true],
    ['100.128.0.1', false],
    ['169.254.169.254', true],
    ['198.18.0.5', true],
    ['127.0.0.1', true],
    ['8.8.8.8', false],
    ['54.1.2.3', false],
  ])('isLocalReverse(%s) = %s', (ip, want) => {
    expect(isLocalReverse(ip as string)).toBe(want);
  });
});

describe('resolveQuery over the store', () => {
  let db: Db;
  let lookup: DnsLookup;
  beforeAll(async () => {
    db = await fixtureStore();
    lookup = dnsLookup(hostFacts(db).dns);
  });
  afterAll(() => db?.destroy());

  const a = (name: string, data: string) => ({ rcode: 'NOERROR', answers: [{ name, type: 'A', data, ttl: 60 }] });
  const ptr = (name: string, data: string) => ({ rcode: 'NOERROR', answers: [{ name, type: 'PTR', data, ttl: 60 }] });
  const nodata = { rcode: 'NOERROR', answers: [] };
  const nx = { rcode: 'NXDOMAIN' };
  const refused = { rcode: 'REFUSED' };
  const fwd = (otherwise: string) => ({ rcode: 'FORWARD', otherwise });

  test.each<[string, string, string | undefined, unknown]>([
    // private names: any private IP of an interface of the asking VPC
    ['ip-10-0-1-5.ec2.internal', 'A', VPC_A, a('ip-10-0-1-5.ec2.internal', '10.0.1.5')],
    ['IP-10-0-1-5.Ec2.Internal', 'A', VPC_A, a('IP-10-0-1-5.Ec2.Internal', '10.0.1.5')],
    ['ip-10-0-1-7.ec2.internal', 'A', VPC_A, a('ip-10-0-1-7.ec2.internal', '10.0.1.7')], // secondary
    ['ip-10-0-1-9.ec2.internal', 'A', VPC_A, a('ip-10-0-1-9.ec2.internal', '10.0.1.9')], // interface not attached
    ['ip-10-0-1-8.ec2.internal', 'A', VPC_A, nx], // no interface has it
    ['ip-10-0-1-6.ec2.internal', 'A', VPC_B, nx], // A's secondary, B asks
    ['ip-10-0-1-5.ec2.internal', 'A', VPC_B, a('ip-10-0-1-5.ec2.internal', '10.0.1.5')], // B's own (same CIDR)
    ['ip-10-0-1-5.ec2.internal', 'AAAA', VPC_A, nodata],
    ['ip-10-0-1-5.ec2.internal', 'MX', VPC_A, nodata],
    ['ip-10-0-1-5.ec2.internal', 'ANY', VPC_A, a('ip-10-0-1-5.ec2.internal', '10.0.1.5')],
    ['ip-10-0-1-5.ec2.internal', 'A', undefined, nx], // from the host: no VPC's names
    ['ip-10-0-1-5.eu-west-1.compute.internal', 'A', VPC_A, nx], // another region's name
    ['ip-172-31-5-5.eu-west-1.compute.internal', 'A', VPC_D, a('ip-172-31-5-5.eu-west-1.compute.internal', '172.31.5.5')],
    ['ip-172-31-5-5.ec2.internal', 'A', VPC_D, nx],
    ['ip-10-0-1-5.eu-west-1.compute.internal', 'A', VPC_C, refused], // C has DNS support off
    ['ip-10-0-1-5.ec2.internal', 'A', 'vpc-0eeeeeeeeeeeeeeee', refused], // a VPC we do not know
    ['foo.ec2.internal', 'A', VPC_A, nx],
    ['ec2.internal', 'A', VPC_A, nodata],
    // resource names: when the instance has EnableResourceNameDnsARecord, in the asking VPC
    [`${I_NAMED}.ec2.internal`, 'A', VPC_A, a(`${I_NAMED}.ec2.internal`, '10.0.1.5')],
    [`${I_NAMED.toUpperCase()}.EC2.INTERNAL`, 'A', VPC_A, a(`${I_NAMED.toUpperCase()}.EC2.INTERNAL`, '10.0.1.5')],
    [`${I_NAMED}.ec2.internal`, 'AAAA', VPC_A, nodata],
    [`${I_PLAIN}.ec2.internal`, 'A', VPC_A, nx],
    [`${I_GONE}.ec2.internal`, 'A', VPC_A, nx],
    [`${I_NAMED}.ec2.internal`, 'A', VPC_B, nx],
    [`${I_NAMED}.ec2.internal`, 'A', undefined, nx],
    [`${I_EU}.eu-west-1.compute.internal`, 'A', VPC_D, a(`${I_EU}.eu-west-1.compute.internal`, '172.31.5.5')],
    [`${I_EU}.eu-central-1.compute.internal`, 'A', VPC_D, nx],
    // public names: the private IP inside the VPC, the public IP from anywhere else
    ['ec2-198-18-0-5.compute-1.amazonaws.com', 'A', VPC_A, a('ec2-198-18-0-5.compute-1.amazonaws.com', '10.0.1.5')],
    ['ec2-198-18-0-15.compute-1.amazonaws.com', 'A', VPC_A, a('ec2-198-18-0-15.compute-1.amazonaws.com', '10.0.1.6')],
    ['ec2-198-18-0-5.compute-1.amazonaws.com', 'A', VPC_B, a('ec2-198-18-0-5.compute-1.amazonaws.com', '198.18.0.5')],
    ['ec2-198-18-0-5.compute-1.amazonaws.com', 'A', undefined, a('ec2-198-18-0-5.compute-1.amazonaws.com', '198.18.0.5')],
    ['ec2-198-18-0-5.compute-1.amazonaws.com', 'AAAA', undefined, nodata],
    ['ec2-198-18-0-5.eu-west-1.compute.amazonaws.com', 'A', undefined, nx], // wrong region
    ['ec2-198-18-0-6.compute-1.amazonaws.com', 'A', undefined, nx], // B: no DNS hostnames
    ['ec2-198-18-0-6.compute-1.amazonaws.com', 'A', VPC_B, nx],
    ['ec2-198-18-0-7.eu-west-1.compute.amazonaws.com', 'A', VPC_A, a('ec2-198-18-0-7.eu-west-1.compute.amazonaws.com', '198.18.0.7')],
    ['ec2-198-18-0-7.eu-west-1.compute.amazonaws.com', 'A', VPC_D, a('ec2-198-18-0-7.eu-west-1.compute.amazonaws.com', '172.31.5.5')],
    ['ec2-198-18-0-8.compute-1.amazonaws.com', 'A', undefined, nx], // elastic, not associated
    ['ec2-198-18-0-8.compute-1.amazonaws.com', 'A', VPC_A, fwd('NXDOMAIN')], // not ours: maybe a real EC2 name
    ['ec2-198-18-0-5.compute-1.amazonaws.com', 'A', VPC_C, refused],
    // reverse
    ['5.1.0.10.in-addr.arpa', 'PTR', VPC_A, ptr('5.1.0.10.in-addr.arpa', 'ip-10-0-1-5.ec2.internal')],
    ['7.1.0.10.in-addr.arpa', 'PTR', VPC_A, ptr('7.1.0.10.in-addr.arpa', 'ip-10-0-1-7.ec2.internal')],
    ['5.5.31.172.in-addr.arpa', 'PTR', VPC_D, ptr('5.5.31.172.in-addr.arpa', 'ip-172-31-5-5.eu-west-1.compute.internal')],
    ['5.1.0.10.in-addr.arpa', 'A', VPC_A, nodata],
    ['8.1.0.10.in-addr.arpa', 'PTR', VPC_A, nx],
    ['5.1.0.10.in-addr.arpa', 'PTR', undefined, nx],
    ['5.0.18.198.in-addr.arpa', 'PTR', undefined, ptr('5.0.18.198.in-addr.arpa', 'ec2-198-18-0-5.compute-1.amazonaws.com')],
    ['6.0.18.198.in-addr.arpa', 'PTR', undefined, nx],
    ['8.8.8.8.in-addr.arpa', 'PTR', VPC_A, fwd('NXDOMAIN')],
    ['8.8.8.8.in-addr.arpa', 'PTR', undefined, nx],
    // not ours: relayed from a VPC (when egress is on), refused from the host
    ['example.com', 'A', VPC_A, fwd('REFUSED')],
    ['example.com', 'A', undefined, refused],
    ['example.com', 'A', VPC_C, refused],
  ])('%s %s from %s', async (name, type, vpcId, want) => {
    expect(await lookup({ name, type, vpcId })).toEqual(want);
  });
});

describe('the API endpoint names inside a VPC', () => {
  let db: Db;
  let lookup: DnsLookup;
  let without: DnsLookup;
  beforeAll(async () => {
    db = await fixtureStore();
    lookup = dnsLookup(hostFacts(db).dns, endpointNames(['us-east-1', 'eu-west-1']));
    without = dnsLookup(hostFacts(db).dns);
  });
  afterAll(() => db?.destroy());

  const a = (name: string, data: string) => ({ rcode: 'NOERROR', answers: [{ name, type: 'A', data, ttl: 60 }] });
  const nodata = { rcode: 'NOERROR', answers: [] };
  const refused = { rcode: 'REFUSED' };
  const fwd = (otherwise: string) => ({ rcode: 'FORWARD', otherwise });

  test.each<[string, string, string | undefined, unknown]>([
    // base+2 of the asking VPC (A and B share 10.0.0.0/16; D is 172.31.0.0/16), every service, every configured region
    ['ec2.us-east-1.amazonaws.com', 'A', VPC_A, a('ec2.us-east-1.amazonaws.com', '10.0.0.2')],
    ['ec2.us-east-1.amazonaws.com', 'A', VPC_B, a('ec2.us-east-1.amazonaws.com', '10.0.0.2')],
    ['ec2.us-east-1.amazonaws.com', 'A', VPC_D, a('ec2.us-east-1.amazonaws.com', '172.31.0.2')],
    ['EC2.EU-West-1.AmazonAWS.com.', 'A', VPC_D, a('EC2.EU-West-1.AmazonAWS.com.', '172.31.0.2')],
    ['sts.eu-west-1.amazonaws.com', 'A', VPC_A, a('sts.eu-west-1.amazonaws.com', '10.0.0.2')],
    ['elasticloadbalancing.us-east-1.amazonaws.com', 'A', VPC_A, a('elasticloadbalancing.us-east-1.amazonaws.com', '10.0.0.2')],
    ['autoscaling.us-east-1.amazonaws.com', 'A', VPC_A, a('autoscaling.us-east-1.amazonaws.com', '10.0.0.2')],
    ['monitoring.eu-west-1.amazonaws.com', 'A', VPC_D, a('monitoring.eu-west-1.amazonaws.com', '172.31.0.2')],
    ['iam.amazonaws.com', 'A', VPC_A, a('iam.amazonaws.com', '10.0.0.2')],
    ['sts.amazonaws.com', 'A', VPC_D, a('sts.amazonaws.com', '172.31.0.2')],
    ['sts.amazonaws.com', 'ANY', VPC_A, a('sts.amazonaws.com', '10.0.0.2')],
    // the name exists, with no IPv6 address
    ['ec2.us-east-1.amazonaws.com', 'AAAA', VPC_A, nodata],
    // other names under amazonaws.com, and regions not configured, behave as before
    ['ec2.ap-south-1.amazonaws.com', 'A', VPC_A, fwd('REFUSED')],
    ['s3.us-east-1.amazonaws.com', 'A', VPC_A, fwd('REFUSED')],
    ['iam.us-east-1.amazonaws.com', 'A', VPC_A, fwd('REFUSED')],
    ['www.ec2.us-east-1.amazonaws.com', 'A', VPC_A, fwd('REFUSED')],
    ['amazonaws.com', 'A', VPC_A, fwd('REFUSED')],
    // from the host, and in a VPC without DNS support or unknown: no answer of ours
    ['ec2.us-east-1.amazonaws.com', 'A', undefined, refused],
    ['sts.amazonaws.com', 'A', VPC_C, refused],
    ['iam.amazonaws.com', 'A', 'vpc-0eeeeeeeeeeeeeeee', refused],
  ])('%s %s from %s', async (name, type, vpcId, want) => {
    expect(await lookup({ name, type, vpcId })).toEqual(want);
  });

  test('without an endpoint the names are not ours', async () => {
    expect(await without({ name: 'ec2.us-east-1.amazonaws.com', type: 'A', vpcId: VPC_A })).toEqual(fwd('REFUSED'));
    expect(await without({ name: 'sts.amazonaws.com', type: 'A', vpcId: VPC_A })).toEqual(fwd('REFUSED'));
  });

  test('the names: five services per region and the two global ones; the certificate covers them', () => {
    const names = endpointNames(['us-east-1', 'eu-west-1']);
    expect(names.size).toBe(12);
    expect([...names].filter((n) => n.endsWith('.us-east-1.amazonaws.com')).sort()).toEqual(
      ['autoscaling', 'ec2', 'elasticloadbalancing', 'monitoring', 'sts'].map((s) => `${s}.us-east-1.amazonaws.com`),
    );
    expect(endpointCertNames(['us-east-1', 'eu-west-1'])).toEqual(['*.us-east-1.amazonaws.com', '*.eu-west-1.amazonaws.com', 'iam.amazonaws.com', 'sts.amazonaws.com']);
    expect(() => endpointNames(['us-east-1', 'x.y'])).toThrow(/cannot be part/);
  });
});

describe('resolveQuery asks the store only what it needs', () => {
  test('a name that is not ours from the host touches nothing; from a VPC only the VPC', async () => {
    const calls: string[] = [];
    const facts: DnsFacts = {
      vpc: async (id) => (calls.push(`vpc ${id}`), { region: 'us-east-1', cidr: '10.0.0.0/16', dnsSupport: true, dnsHostnames: true }),
      hasPrivateIp: async () => (calls.push('ip'), false),
      instanceIp: async () => (calls.push('instance'), undefined),
      publicAddress: async () => (calls.push('public'), undefined),
    };
    const r1: DnsResult = await resolveQuery({ name: 'example.com', type: 'A' }, facts);
    expect(r1).toEqual({ rcode: 'REFUSED' });
    expect(calls).toEqual([]);
    await resolveQuery({ name: 'example.com', type: 'A', vpcId: 'vpc-1' }, facts);
    expect(calls).toEqual(['vpc vpc-1']);
  });
});

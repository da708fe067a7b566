// Store rows for the resolver's tests: VPCs (two with the same CIDR), interfaces with primary and
// secondary private IPs, instances, and public IPs mapped to interfaces.
import { openStore, type Db } from '../../store/db.js';
import type { NewRow } from '../../store/schema.js';

export const ACCOUNT = '123456789012';
export const VPC_A = 'vpc-0aaaaaaaaaaaaaaaa'; // us-east-1, 10.0.0.0/16, DNS support and hostnames
export const VPC_B = 'vpc-0bbbbbbbbbbbbbbbb'; // us-east-1, 10.0.0.0/16 too, no DNS hostnames
export const VPC_C = 'vpc-0cccccccccccccccc'; // eu-west-1, DNS support off
export const VPC_D = 'vpc-0dddddddddddddddd'; // eu-west-1, 172.31.0.0/16
export const I_NAMED = 'i-0aaaaaaaaaaaaaaa1'; // in A, EnableResourceNameDnsARecord on, 10.0.1.5
export const I_PLAIN = 'i-0aaaaaaaaaaaaaaa2'; // in A, resource name A record off, 10.0.1.20
export const I_GONE = 'i-0aaaaaaaaaaaaaaa3'; // in A, terminated
export const I_EU = 'i-0ddddddddddddddd1'; // in D, resource name A record on, 172.31.5.5

const now = '2024-05-06T07:08:09.000Z';

function vpc(id: string, region: string, cidr: string, support: number, hostnames: number): NewRow<'vpcs'> {
  return {
    id,
    account_id: ACCOUNT,
    region,
    cidr_block: cidr,
    state: 'available',
    is_default: 0,
    instance_tenancy: 'default',
    dhcp_options_id: 'dopt-0123456789abcdef0',
    enable_dns_support: support,
    enable_dns_hostnames: hostnames,
    cidr_associations: JSON.stringify([{ AssociationId: `${id}-cidr`, CidrBlock: cidr, CidrBlockState: { State: 'associated' } }]),
    ipv6_cidr_associations: '[]',
    created_at: now,
  };
}

let eniSeq = 0;
function eni(vpcId: string, region: string, privateIp: string, opts: { instanceId?: string; secondary?: string[] } = {}): NewRow<'network_interfaces'> {
  eniSeq++;
  return {
    id: `eni-0${vpcId.slice(5, 6).repeat(12)}${String(eniSeq).padStart(4, '0')}`,
    account_id: ACCOUNT,
    region,
    subnet_id: `subnet-0${vpcId.slice(5, 6).repeat(16)}`,
    vpc_id: vpcId,
    availability_zone: `${region}a`,
    private_ip: privateIp,
    mac_address: `02:00:00:00:00:${eniSeq.toString(16).padStart(2, '0')}`,
    description: '',
    interface_type: 'interface',
    status: opts.instanceId ? 'in-use' : 'available',
    instance_id: opts.instanceId ?? null,
    device_index: opts.instanceId ? 0 : null,
    attachment_id: opts.instanceId ? `eni-attach-0${String(eniSeq).padStart(16, '0')}` : null,
    delete_on_termination: 1,
    source_dest_check: 1,
    security_groups: '[]',
    secondary_private_ips: JSON.stringify(opts.secondary ?? []),
    public_ip: null,
    created_at: now,
    attach_time: opts.instanceId ? now : null,
  };
}

function instance(id: string, vpcId: string, region: string, privateIp: string, opts: { aRecord: boolean; state?: string }): NewRow<'instances'> {
  return {
    id,
    account_id: ACCOUNT,
    region,
    reservation_id: `r-0${id.slice(3)}`,
    ami_launch_index: 0,
    image_id: 'ami-0123456789abcdef0',
    instance_type: 't3.micro',
    state: opts.state ?? 'running',
    desired_state: opts.state ?? 'running',
    state_transition_reason: '',
    state_reason: null,
    key_name: null,
    subnet_id: `subnet-0${vpcId.slice(5, 6).repeat(16)}`,
    vpc_id: vpcId,
    availability_zone: `${region}a`,
    private_ip: privateIp,
    public_ip: null,
    mac_address: '02:00:00:00:00:ff',
    client_token: null,
    user_data: null,
    shutdown_behavior: 'stop',
    disable_api_termination: 0,
    disable_api_stop: 0,
    ebs_optimized: 0,
    monitoring: 'disabled',
    tenancy: 'default',
    security_groups: '[]',
    metadata_options: '{}',
    iam_instance_profile: null,
    root_device_name: '/dev/xvda',
    runtime: '{}',
    launch_time: now,
    updated_at: now,
    terminated_at: null,
    launch_options: JSON.stringify({ PrivateDnsNameOptions: { HostnameType: 'ip-name', EnableResourceNameDnsARecord: opts.aRecord, EnableResourceNameDnsAAAARecord: false } }),
    boot_mode: null,
    ssh_public_key: null,
    console_output: null,
    console_at: null,
  };
}

function publicIp(ip: string, region: string, mapped?: { eni: NewRow<'network_interfaces'>; privateIp?: string }): NewRow<'public_ips'> {
  return {
    public_ip: ip,
    kind: mapped ? 'ephemeral' : 'elastic',
    account_id: ACCOUNT,
    region,
    allocation_id: mapped ? null : `eipalloc-0${ip.replace(/\D/g, '').padStart(16, '0')}`,
    association_id: null,
    network_interface_id: mapped?.eni.id ?? null,
    private_ip: mapped ? (mapped.privateIp ?? mapped.eni.private_ip) : null,
    network_border_group: region,
    created_at: now,
  };
}

/** A fresh in-memory store with the fixture's rows. */
export async function fixtureStore(): Promise<Db> {
  const db = await openStore({ file: ':memory:' });
  const a1 = eni(VPC_A, 'us-east-1', '10.0.1.5', { instanceId: I_NAMED, secondary: ['10.0.1.6', '10.0.1.7'] });
  const a2 = eni(VPC_A, 'us-east-1', '10.0.1.9'); // not attached
  const a3 = eni(VPC_A, 'us-east-1', '10.0.1.20', { instanceId: I_PLAIN });
  const b1 = eni(VPC_B, 'us-east-1', '10.0.1.5');
  const c1 = eni(VPC_C, 'eu-west-1', '10.0.1.5');
  const d1 = eni(VPC_D, 'eu-west-1', '172.31.5.5', { instanceId: I_EU });
  await db
    .insertInto('vpcs')
    .values([
      vpc(VPC_A, 'us-east-1', '10.0.0.0/16', 1, 1),
      vpc(VPC_B, 'us-east-1', '10.0.0.0/16', 1, 0),
      vpc(VPC_C, 'eu-west-1', '10.0.0.0/16', 0, 1),
      vpc(VPC_D, 'eu-west-1', '172.31.0.0/16', 1, 1),
    ])
    .execute();
  await db.insertInto('network_interfaces').values([a1, a2, a3, b1, c1, d1]).execute();
  await db
    .insertInto('instances')
    .values([
      instance(I_NAMED, VPC_A, 'us-east-1', '10.0.1.5', { aRecord: true }),
      instance(I_PLAIN, VPC_A, 'us-east-1', '10.0.1.20', { aRecord: false }),
      instance(I_GONE, VPC_A, 'us-east-1', '10.0.1.30', { aRecord: true, state: 'terminated' }),
      instance(I_EU, VPC_D, 'eu-west-1', '172.31.5.5', { aRecord: true }),
    ])
    .execute();
  await db
    .insertInto('public_ips')
    .values([
      publicIp('198.18.0.5', 'us-east-1', { eni: a1 }), // A, hostnames on
      publicIp('198.18.0.15', 'us-east-1', { eni: a1, privateIp: '10.0.1.6' }), // A, on a secondary IP
      publicIp('198.18.0.6', 'us-east-1', { eni: b1 }), // B, hostnames off
      publicIp('198.18.0.7', 'eu-west-1', { eni: d1 }), // D
      publicIp('198.18.0.8', 'us-east-1'), // elastic, not associated
    ])
    .execute();
  return db;
}

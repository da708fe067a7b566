// What the public-IPv4 tests share (addresses.test.ts, elastic-ips.test.ts): launching, stopping and
// terminating through the SDK, allocating from the pool, and reading the address ledger.
import {
  AllocateAddressCommand,
  AttachInternetGatewayCommand,
  CreateInternetGatewayCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  EC2Client,
  RunInstancesCommand,
  StartInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
  waitUntilInstanceRunning,
  waitUntilInstanceStopped,
  waitUntilInstanceTerminated,
  type Instance,
  type RunInstancesCommandInput,
} from '@aws-sdk/client-ec2';
import type { TestServer } from './harness.js';

export const wait = { minDelay: 0.05, maxDelay: 0.3, maxWaitTime: 20 };
export const POOL = /^198\.18\.\d{1,3}\.\d{1,3}$/;

export async function minimalImage(ec2: EC2Client): Promise<string> {
  const out = await ec2.send(new DescribeImagesCommand({ Filters: [{ Name: 'name', Values: ['cumulo-minimal-x86_64-*'] }] }));
  return out.Images![0]!.ImageId!;
}

export async function describe1(ec2: EC2Client, id: string): Promise<Instance> {
  const out = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }));
  return out.Reservations![0]!.Instances![0]!;
}

/** A client of one server with the helpers every test here uses. */
export function helpers(server: TestServer, ec2: EC2Client, imageId: () => string) {
  const run = async (input: Partial<RunInstancesCommandInput> = {}): Promise<Instance[]> =>
    (await ec2.send(new RunInstancesCommand({ ImageId: imageId(), MinCount: 1, MaxCount: 1, InstanceType: 't3.micro', ...input }))).Instances!;
  const running = async (input: Partial<RunInstancesCommandInput> = {}): Promise<Instance> => {
    const [i] = await run(input);
    await waitUntilInstanceRunning({ client: ec2, ...wait }, { InstanceIds: [i!.InstanceId!] });
    return describe1(ec2, i!.InstanceId!);
  };
  const stop = async (id: string) => {
    await ec2.send(new StopInstancesCommand({ InstanceIds: [id] }));
    await waitUntilInstanceStopped({ client: ec2, ...wait }, { InstanceIds: [id] });
  };
  const start = async (id: string) => {
    await ec2.send(new StartInstancesCommand({ InstanceIds: [id] }));
    await waitUntilInstanceRunning({ client: ec2, ...wait }, { InstanceIds: [id] });
  };
  const terminate = async (...ids: string[]) => {
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: ids }));
    await waitUntilInstanceTerminated({ client: ec2, ...wait }, { InstanceIds: ids });
  };
  const allocate = async (input: Record<string, unknown> = {}) => ec2.send(new AllocateAddressCommand({ Domain: 'vpc', ...input }));
  /** Every address of the ledger: who holds it, and how. */
  const ledger = () => server.app.db.selectFrom('public_ips').selectAll().execute();
  return { run, running, stop, start, terminate, allocate, ledger };
}

/** A VPC with one subnet (no MapPublicIpOnLaunch) and, if asked, an attached internet gateway. */
export async function customVpc(ec2: EC2Client, cidr: string, withGateway: boolean): Promise<{ vpcId: string; subnetId: string }> {
  const vpc = (await ec2.send(new CreateVpcCommand({ CidrBlock: cidr }))).Vpc!;
  const subnet = (await ec2.send(new CreateSubnetCommand({ VpcId: vpc.VpcId!, CidrBlock: cidr.replace(/\/\d+$/, '/24'), AvailabilityZone: 'us-east-1a' }))).Subnet!;
  if (withGateway) {
    const igw = (await ec2.send(new CreateInternetGatewayCommand({}))).InternetGateway!;
    await ec2.send(new AttachInternetGatewayCommand({ InternetGatewayId: igw.InternetGatewayId!, VpcId: vpc.VpcId! }));
  }
  return { vpcId: vpc.VpcId!, subnetId: subnet.SubnetId! };
}

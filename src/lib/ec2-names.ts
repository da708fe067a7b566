// EC2's DNS names of an address, shared by the services (DescribeInstances, DescribeAddresses…),
// the metadata service and the DNS resolver: written once, below every layer.

/** ip-172-31-5-9.ec2.internal in us-east-1, ip-10-0-0-5.eu-west-1.compute.internal elsewhere. */
export function privateDnsName(ip: string, region: string): string {
  const host = `ip-${ip.replace(/\./g, '-')}`;
  return region === 'us-east-1' ? `${host}.ec2.internal` : `${host}.${region}.compute.internal`;
}

/** ec2-54-1-2-3.compute-1.amazonaws.com in us-east-1, ec2-….<region>.compute.amazonaws.com elsewhere. */
export function publicDnsName(ip: string, region: string): string {
  const host = `ec2-${ip.replace(/\./g, '-')}`;
  return region === 'us-east-1' ? `${host}.compute-1.amazonaws.com` : `${host}.${region}.compute.amazonaws.com`;
}

// The API's endpoint inside every VPC, as an interface VPC endpoint with private DNS is on AWS: the
// VPC's resolver answers the services' regional names (and IAM's and STS's global ones) with the
// VPC's base+2, which the VPC namespace DNATs on TCP 443 to this listener on the host. It speaks
// HTTPS only: whoever app.ts hands it (the API server's TLS side) gets each connection; the host
// knows no HTTP. The certificate covers the names (endpointCertNames), the instances trust its CA.
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';

/** Services whose `<svc>.<region>.amazonaws.com` the resolver answers in every configured region. */
export const ENDPOINT_SERVICES = ['ec2', 'sts', 'elasticloadbalancing', 'autoscaling', 'monitoring'] as const;

/** Global endpoints: IAM's, and STS's (botocore before 1.31 signs for it by default). */
export const GLOBAL_ENDPOINTS = ['iam.amazonaws.com', 'sts.amazonaws.com'] as const;

/** A region's name is one DNS label of its endpoints' names. */
const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

function checkRegions(regions: readonly string[]): readonly string[] {
  for (const r of regions) if (!LABEL.test(r)) throw new Error(`the region name ${JSON.stringify(r)} cannot be part of an endpoint's DNS name`);
  return regions;
}

/** The names the VPC resolver answers with base+2 (lower case, no final dot). */
export function endpointNames(regions: readonly string[]): Set<string> {
  const names = new Set<string>(GLOBAL_ENDPOINTS);
  for (const r of checkRegions(regions)) for (const s of ENDPOINT_SERVICES) names.add(`${s}.${r}.amazonaws.com`);
  return names;
}

/** What the API's certificate must carry for them: a wildcard per region (it covers one label) and the global names. */
export function endpointCertNames(regions: readonly string[]): string[] {
  return [...checkRegions(regions).map((r) => `*.${r}.amazonaws.com`), ...GLOBAL_ENDPOINTS];
}

/** A TCP listener that hands every connection to `onConnection` (the API's HTTPS side). */
export class EndpointListener {
  private readonly server: Server;
  private readonly open = new Set<Socket>();

  constructor(onConnection: (socket: Socket) => void) {
    this.server = createServer((socket) => {
      this.open.add(socket);
      socket.once('close', () => this.open.delete(socket));
      onConnection(socket);
    });
  }

  /** Listens; the port it got (0: any free one). */
  listen(port: number, host: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.removeListener('error', reject);
        resolve((this.server.address() as AddressInfo).port);
      });
    });
  }

  /** Stops listening and ends the connections still open. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.server.listening) return resolve();
      this.server.close(() => resolve());
      for (const s of this.open) s.destroy();
      this.open.clear();
    });
  }
}

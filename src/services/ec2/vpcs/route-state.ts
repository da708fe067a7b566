// When a route to an instance or a network interface forwards: one rule for DescribeRouteTables'
// State and for the data plane (controllers/network.ts builds the kernel route from it), so the
// API never calls `active` a route the VPC router drops.

/** An instance's interfaces carry routed traffic only while it runs (its veth is plugged). */
export function forwardsThrough(instanceState: string | null | undefined): boolean {
  return instanceState === 'running';
}

// The contract of the host's instance networking.
export interface PlugSpec {
  instanceId: string;
  privateIp: string;
  /** The subnet, e.g. 172.31.0.0/20: the instance's eth0 gets privateIp/20. */
  subnetCidr: string;
  macAddress: string;
  /** IMDSv2 hop limit: the TTL of metadata answers to this instance. */
  metadataHopLimit: number;
  /** The instance's VPC: instances of different VPCs cannot talk (absent: all such instances share one group). */
  vpcId?: string;
}

export interface HostNetwork {
  /** Host-wide setup: sysctls, the nftables table (idempotent). */
  init(): Promise<void>;
  /** Make the instance's network namespace with eth0 configured; returns its path for the OCI config. Idempotent. */
  plug(spec: PlugSpec): Promise<{ netnsPath: string }>;
  /** Remove everything plug made. Idempotent. */
  unplug(instanceId: string): Promise<void>;
  /** Update per-instance settings (hop limit) without replugging. */
  update(spec: PlugSpec): Promise<void>;
  /** Remove every namespace, link and rule this host made (server stop with no instances, test teardown). */
  close(): Promise<void>;
}

// What every part of a host (compute, storage, network, and the load balancer's data plane next)
// has in common: it says what it is, is set up before use, and is let go of at server stop.

export interface PartInfo {
  /** The implementation's name in its part's registry ('runc', 'xfs', 'linux', 'fake'). */
  name: string;
  description: string;
  /** What it supports, by name ('reboot', 'metrics', 'snapshots', 'vpc', …). */
  features: string[];
}

export interface HostPart {
  info(): PartInfo;
  /** Host-wide setup (idempotent). */
  init(): Promise<void>;
  /** With cleanup, everything the part made on the host goes (tests); without, what running instances use stays. */
  close(opts?: { cleanup?: boolean }): Promise<void>;
}

/**
 * A failure that retrying cannot mend (e.g. the snapshot a volume is made from is not in the block
 * store): the controller moves the resource to its failure state at once instead of retrying.
 */
export class PermanentFailure extends Error {
  override name = 'PermanentFailure';
}

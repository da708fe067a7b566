// The contract of the host's image store: what a built-in image is on disk.
import type { ImageSource } from '../compute/driver.js';

export interface ImageArtifact {
  /** A raw ext4 filesystem image of the root filesystem: the AMI's root snapshot. Read-only. */
  snapshotFile: string;
  /** Its size in GiB (the AMI's root VolumeSize). */
  sizeGiB: number;
  sshUser: string;
}

export type Progress = (event: { step: string; done?: number; total?: number }) => void;

export interface ImageStore {
  /** Build the image on first use (cached afterwards), reporting progress. Concurrent calls share one build. */
  ensure(source: ImageSource, onProgress?: Progress): Promise<ImageArtifact>;
  /** The image if it is built already (no build); a store without it builds on first use only. */
  find?(source: Pick<ImageSource, 'builtin' | 'version'>): ImageArtifact | undefined;
}

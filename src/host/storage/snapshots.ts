// The regions' EBS snapshot stores: one content-addressed BlockStore per region, inside the volume
// store's XFS (so that snapshots and restores are reflinks of volumes' blocks):
//
//   $CUMULO_HOME/volumes/blocks/<region>/    a region's BlockStore (manifests, chunks, refs.idx)
import { join } from 'node:path';
import { BlockStore } from './blocks/store.js';
import { checkName } from './paths.js';
import type { XfsVolumeStore } from './xfs-store.js';

export class RegionSnapshotStores {
  private readonly stores = new Map<string, BlockStore>();

  constructor(private readonly volumes: Pick<XfsVolumeStore, 'init' | 'blocksDir'>) {}

  /** The region's store, opened (the volume store's XFS mounted first). */
  async of(region: string): Promise<BlockStore> {
    if (!/^[a-z]{2}(-[a-z]+)+-\d+$/.test(region)) throw new Error(`invalid region ${JSON.stringify(region)}`);
    checkName('region', region);
    await this.volumes.init();
    let s = this.stores.get(region);
    if (!s) {
      s = new BlockStore({ dir: join(this.volumes.blocksDir, region) });
      this.stores.set(region, s);
    }
    await s.init();
    return s;
  }
}

// What the host's metadata service and VPC resolver are told, answered by the services'
// repositories: app.ts injects these, so the host asks no table itself (host never imports services).
import type { DnsFacts } from './host/dns/lookup.js';
import type { MetadataFacts } from './host/imds/lookup.js';
import { publicAddressForDns } from './services/ec2/addresses/store.js';
import { instanceMetadataRows, instanceResourceNameIp } from './services/ec2/instances/store.js';
import { instanceHoldingAddress, vpcHasPrivateIp } from './services/ec2/network-interfaces/store.js';
import { vpcDnsSettings } from './services/ec2/vpcs/store.js';
import type { Tx } from './store/db.js';
import type { SecretBox } from './lib/secrets.js';
import { instanceRoleCredentials } from './services/ec2/iam-instance-profiles/credentials.js';

export interface HostFacts {
  metadata: MetadataFacts;
  dns: DnsFacts;
}

/** `secrets` unwraps and wraps role credentials; without it (tests of other facts) none can be served. */
export function hostFacts(db: Tx, secrets?: SecretBox): HostFacts {
  return {
    metadata: {
      rows: (instanceId) => instanceMetadataRows(db, instanceId),
      instanceHolding: (vpcId, ip) => instanceHoldingAddress(db, vpcId, ip),
      credentials: (instanceId, now) => {
        if (!secrets) return Promise.reject(new Error('host facts were built without the SecretBox: no role credentials can be served'));
        return instanceRoleCredentials(db, secrets, instanceId, now);
      },
    },
    dns: {
      vpc: (vpcId) => vpcDnsSettings(db, vpcId),
      hasPrivateIp: (vpcId, ip) => vpcHasPrivateIp(db, vpcId, ip),
      instanceIp: (vpcId, instanceId) => instanceResourceNameIp(db, vpcId, instanceId),
      publicAddress: (ip) => publicAddressForDns(db, ip),
    },
  };
}

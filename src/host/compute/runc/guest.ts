// The files the guest init reads at boot, written into an instance's root before it boots.
import { distroOf, userDataScript } from '../../images/userdata.js';
import type { InstanceSpec } from '../driver.js';

export function guestFiles(spec: InstanceSpec, sshUser: string): { path: string; content: string | Buffer; mode: number }[] {
  const files: { path: string; content: string | Buffer; mode: number }[] = [
    { path: '/etc/hostname', content: `${spec.hostname}\n`, mode: 0o644 },
    { path: '/var/lib/cumulo/instance-id', content: `${spec.instanceId}\n`, mode: 0o644 },
    // The SDKs' region: the init writes it into ~/.aws/config at first boot.
    { path: '/var/lib/cumulo/region', content: `${spec.region}\n`, mode: 0o644 },
    { path: '/var/lib/cumulo/ssh-user', content: `${sshUser}\n`, mode: 0o644 },
    { path: '/var/lib/cumulo/public-keys', content: spec.publicKeys.map((k) => k.trim() + '\n').join(''), mode: 0o644 },
  ];
  // The VPC's resolver (DHCP options as EC2 gives them); the image's own resolv.conf otherwise.
  if (spec.dnsServer) {
    files.push({ path: '/etc/resolv.conf', content: `nameserver ${spec.dnsServer}\n${spec.dnsDomain ? `search ${spec.dnsDomain}\n` : ''}`, mode: 0o644 });
  }
  if (spec.userData?.length) {
    const distro = distroOf(spec.imageSource?.builtin ?? 'minimal');
    files.push({ path: '/var/lib/cloud/instance/user-data.txt', content: spec.userData, mode: 0o600 });
    files.push({ path: '/var/lib/cloud/instance/user-data.sh', content: userDataScript(spec.userData, { sshUser, distro }), mode: 0o700 });
  }
  return files;
}

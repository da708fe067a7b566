// The names of the host objects of one cumulo server (see ../tag.ts): every one carries the tag, so
// servers with different homes never collide and a leak check finds a server's leftovers by prefix.

/** The last 8 hex digits of an instance id: enough to tell a host's instances apart. */
export function shortId(instanceId: string): string {
  const m = /^i-([0-9a-f]{8,17})$/.exec(instanceId);
  if (!m) throw new Error(`not an instance id: ${instanceId}`);
  return m[1]!.slice(-8);
}

export interface NetNames {
  /** The named network namespace: /run/netns/<netns>. */
  netns: string;
  /** The host end of the veth pair (IFNAMSIZ: at most 15 characters). */
  veth: string;
}

export function netNames(tag: string, instanceId: string): NetNames {
  const id8 = shortId(instanceId);
  return { netns: `${netnsPrefix(tag)}${id8}`, veth: `${vethPrefix(tag)}${id8}` };
}

export const netnsPrefix = (tag: string) => `cu-${tag}-`;
export const vethPrefix = (tag: string) => `cu${tag}`;
export const tableName = (tag: string) => `cumulo_${tag}`;
export const netnsPath = (netns: string) => `/run/netns/${netns}`;

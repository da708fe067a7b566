// A short tag derived from a state folder, put in the name of every host object (netns, veth,
// nftables table, …) a cumulo server makes: parallel servers never collide, and a leak check can
// find leftovers of one server by name.
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';

export function hostTag(home: string): string {
  return createHash('sha256').update(resolve(home)).digest('hex').slice(0, 4);
}

// Device numbers: "major:minor" as sysfs, mountinfo and losetup print them, and Linux's dev_t.

export interface DevNo {
  major: number;
  minor: number;
}

/** "7:3" (a trailing newline allowed) → major 7, minor 3. */
export function parseDevNo(devNo: string): DevNo {
  const m = /^(\d+):(\d+)$/.exec(devNo.trim());
  if (!m) throw new Error(`not a device number: ${JSON.stringify(devNo)}`);
  return { major: Number(m[1]), minor: Number(m[2]) };
}

/** glibc's major()/minor() of a dev_t (a stat's rdev): the major's low 12 bits at 8, the minor's low 8 at 0, the rest above. */
export function splitDev(rdev: number | bigint): DevNo {
  const d = BigInt(rdev);
  return {
    major: Number(((d >> 8n) & 0xfffn) | ((d >> 32n) & ~0xfffn)),
    minor: Number((d & 0xffn) | ((d >> 12n) & ~0xffn)),
  };
}

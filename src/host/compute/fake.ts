// The fake driver: runs nothing, remembers states in memory. For unit tests of the control plane,
// never the default path once a real driver exists.
import type { VolumeStorage } from '../storage/part.js';
import type { AttachedVolumeSpec, CheckOutcome, DriverInfo, InstanceDriver, InstanceSpec, Observed, VolumeLimits } from './driver.js';

interface FakeInstance {
  spec: InstanceSpec;
  state: 'running' | 'stopped';
  console: string[];
  boots: number;
}

export class FakeDriver implements InstanceDriver {
  private instances = new Map<string, FakeInstance>();
  /** Test hook: make the next operation on an instance fail. */
  failNext = new Map<string, string>();
  /** Test hook: what a check of the instance finds wrong (the fake has no host or guest to break). */
  impaired = new Map<string, { system?: string; instance?: string }>();

  info(): DriverInfo {
    return { name: 'fake', description: 'records instance states in memory; runs nothing', isolation: 'none', features: ['reboot', 'console-output', 'status-checks'] };
  }

  /** Where its instances' root volumes are recorded (as runc makes them in the host's storage). */
  private storage?: VolumeStorage;

  useStorage(storage: VolumeStorage): void {
    this.storage = storage;
  }

  /** Nothing on the host to set up or let go of. */
  async init(): Promise<void> {}
  async close(): Promise<void> {}

  private check(id: string, op: string): void {
    const msg = this.failNext.get(id);
    if (msg) {
      this.failNext.delete(id);
      throw new Error(`${op}: ${msg}`);
    }
  }

  async create(spec: InstanceSpec): Promise<void> {
    this.check(spec.instanceId, 'create');
    const root = spec.rootVolume;
    if (root) await this.storage?.createVolume({ volumeId: root.volumeId, accountId: spec.accountId, region: spec.region, sizeGiB: root.sizeGiB, encrypted: false });
    if (!this.instances.has(spec.instanceId)) this.instances.set(spec.instanceId, { spec, state: 'stopped', console: [], boots: 0 });
  }

  private get(id: string): FakeInstance {
    const i = this.instances.get(id);
    if (!i) throw new Error(`fake driver: no instance ${id}`);
    return i;
  }

  async start(id: string): Promise<void> {
    this.check(id, 'start');
    const i = this.get(id);
    i.state = 'running';
    i.boots++;
    i.console.push(`[fake] boot ${i.boots} of ${id} (${i.spec.instanceType}, ${i.spec.privateIp})`);
  }

  async stop(id: string): Promise<void> {
    this.check(id, 'stop');
    // As every driver: stopping an instance the host does not have is done already.
    if (!this.instances.has(id)) return;
    const i = this.get(id);
    i.state = 'stopped';
    i.console.push(`[fake] ${id} stopped`);
  }

  async reboot(id: string): Promise<void> {
    this.check(id, 'reboot');
    const i = this.get(id);
    i.boots++;
    i.console.push(`[fake] reboot of ${id}`);
  }

  async delete(id: string): Promise<void> {
    this.check(id, 'delete');
    this.instances.delete(id);
  }

  async inspect(id: string): Promise<Observed> {
    const i = this.instances.get(id);
    return i ? { state: i.state, bootId: String(i.boots) } : { state: 'missing' };
  }

  /** Test hook: how many times the instance's init was started (boots and reboots). */
  bootsOf(id: string): number {
    return this.instances.get(id)?.boots ?? 0;
  }

  async consoleOutput(id: string): Promise<Buffer> {
    return Buffer.from((this.instances.get(id)?.console ?? []).join('\n') + '\n');
  }

  async list(): Promise<string[]> {
    return [...this.instances.keys()];
  }

  /**
   * What the fake can tell: whether it holds the instance running (system); it runs no guest, so
   * the instance check is insufficient-data unless a test impaired it.
   */
  async checkStatus(id: string): Promise<{ system: CheckOutcome; instance: CheckOutcome }> {
    const i = this.instances.get(id);
    const hurt = this.impaired.get(id) ?? {};
    const system: CheckOutcome =
      !i || i.state !== 'running'
        ? { status: 'failed', reason: 'the fake driver does not run it' }
        : hurt.system
          ? { status: 'failed', reason: hurt.system }
          : { status: 'passed' };
    const instance: CheckOutcome = hurt.instance ? { status: 'failed', reason: hurt.instance } : { status: 'insufficient-data', reason: 'the fake driver runs no guest' };
    return { system, instance };
  }

  /** The instance's attached volumes, as its spec says (the fake has no devices to make). */
  async attachVolume(id: string, volume: AttachedVolumeSpec): Promise<void> {
    const i = this.get(id);
    const others = (i.spec.volumes ?? []).filter((v) => v.volumeId !== volume.volumeId);
    const clash = others.find((v) => v.device === volume.device);
    if (clash) throw new Error(`${volume.device} of ${id} is taken by ${clash.volumeId}`);
    i.spec = { ...i.spec, volumes: [...others, volume] };
  }

  async detachVolume(id: string, volumeId: string): Promise<void> {
    const i = this.instances.get(id);
    if (i) i.spec = { ...i.spec, volumes: (i.spec.volumes ?? []).filter((v) => v.volumeId !== volumeId) };
  }

  async setVolumeLimits(id: string, volumeId: string, limits: VolumeLimits): Promise<void> {
    const i = this.get(id);
    // Its root volume has no device node to throttle here: nothing to record.
    if (i.spec.rootVolume?.volumeId === volumeId) return;
    if (!i.spec.volumes?.some((v) => v.volumeId === volumeId)) throw new Error(`volume ${volumeId} is not attached to ${id}`);
    i.spec = { ...i.spec, volumes: i.spec.volumes.map((v) => (v.volumeId === volumeId ? { ...v, limits } : v)) };
  }

  /** Test hook: the volumes the instance has, as the driver holds them. */
  volumesOf(id: string): AttachedVolumeSpec[] {
    return this.instances.get(id)?.spec.volumes ?? [];
  }
}

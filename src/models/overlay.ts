// Small fixes to the official models, kept in one place (never in handlers).
// Each entry says why it exists.

interface RawModelLike {
  metadata: { xmlNamespace?: unknown };
  operations: Record<string, unknown>;
  shapes: Record<string, unknown>;
}

export function applyOverlay(service: string, model: RawModelLike): void {
  if (service === 'ec2') {
    // The model says "http://ec2.amazonaws.com/doc/2016-11-15"; EC2 answers with a trailing slash:
    //   <DescribeRegionsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
    const ns = model.metadata.xmlNamespace;
    if (typeof ns === 'string' && !ns.endsWith('/')) model.metadata.xmlNamespace = ns + '/';

    // The v2 model's minifier folded the list's own locationName ("item") into the member, so
    // InferenceAcceleratorInfo.Accelerators would render as <item><item>…; the service (and
    // botocore's and SDK v3's models) say <accelerators><member>…</member></accelerators>.
    forEachStructure(model, (members) => {
      const acc = members.Accelerators as { locationName?: string; member?: { locationName?: string } } | undefined;
      if (acc?.locationName === 'item' && members.TotalInferenceMemoryInMiB) {
        acc.locationName = 'accelerators';
        if (acc.member && !acc.member.locationName) acc.member.locationName = 'member';
      }
      // Members newer than the v2 model that EC2 sends today and SDKs read: a snapshot's completion
      // time and full size, an image's source (CopyImage).
      if (members.SnapshotId && members.VolumeId && members.DataEncryptionKeyId && members.StateMessage && members.OwnerAlias) {
        members.CompletionTime ??= { type: 'timestamp', locationName: 'completionTime' };
        members.FullSnapshotSizeInBytes ??= { type: 'long', locationName: 'fullSnapshotSizeInBytes' };
      }
      if (members.ImageId && members.ImageLocation && members.RootDeviceName) {
        members.SourceImageId ??= { locationName: 'sourceImageId' };
        members.SourceImageRegion ??= { locationName: 'sourceImageRegion' };
      }
    });
  }
}

/** Visit every structure's members, named shapes and inline ones (the .min.json inlines most, even in operations). */
function forEachStructure(model: RawModelLike, fn: (members: Record<string, unknown>) => void): void {
  const seen = new Set<unknown>();
  const visit = (node: unknown) => {
    if (!node || typeof node !== 'object' || seen.has(node)) return;
    seen.add(node);
    const n = node as { members?: Record<string, unknown>; member?: unknown; key?: unknown; value?: unknown };
    if (n.members) {
      fn(n.members);
      for (const m of Object.values(n.members)) visit(m);
    }
    visit(n.member);
    visit(n.key);
    visit(n.value);
  };
  for (const s of Object.values(model.shapes)) visit(s);
  for (const op of Object.values(model.operations)) {
    visit((op as { input?: unknown }).input);
    visit((op as { output?: unknown }).output);
  }
}

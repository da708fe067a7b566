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
  }
}

// Small fixes to the generated models, kept in one place (never in handlers). Each entry says why.
import type { ModelFile } from './index.js';

export function applyOverlay(model: ModelFile): void {
  if (model.signingName === 'ec2') {
    // The model says "http://ec2.amazonaws.com/doc/2016-11-15"; EC2 answers with a trailing slash:
    //   <DescribeRegionsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
    if (!model.xmlNamespace.endsWith('/')) model.xmlNamespace += '/';
  }
}

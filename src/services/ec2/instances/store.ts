// The instances family's repository, one part per concern (store/): the instances table, its JSON
// columns, launch and lifecycle bookkeeping, status checks, what the metadata service reads, and
// the EC2 shapes Describe builds from the rows.
export * from './store/instances.js';
export * from './store/columns.js';
export * from './store/lifecycle.js';
export * from './store/status-checks.js';
export * from './store/metadata.js';
export * from './store/describe.js';

// The volumes family's repository, one part per table (store/): every query of the volumes,
// volume_attachments, volume_modifications, volume_status_checks and ebs_keys tables, with the
// block device planning a launch does before it inserts volumes.
export * from './store/volumes.js';
export * from './store/attachments.js';
export * from './store/modifications.js';
export * from './store/status-checks.js';
export * from './store/block-devices.js';

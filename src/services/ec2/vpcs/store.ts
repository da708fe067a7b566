// The VPC family's repository, one part per table (store/): VPCs, subnets, route tables, network
// ACLs and internet gateways, with the JSON columns and id errors they share. Other families import
// it from here.
export * from './store/shared.js';
export * from './store/columns.js';
export * from './store/vpcs.js';
export * from './store/subnets.js';
export * from './store/route-tables.js';
export * from './store/network-acls.js';
export * from './store/internet-gateways.js';

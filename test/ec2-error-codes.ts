// The error codes EC2 documents, transcribed from "Error codes for the Amazon EC2 API"
// (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html). The fuzzer accepts
// no other code: an answer with a code outside this list is a code a client library cannot know.

/** "Common client error codes": every action can return these. */
export const commonClientErrors = [
  'AuthFailure', 'Blocked', 'DryRunOperation', 'IdempotentParameterMismatch', 'IncompleteSignature', 'InvalidAction',
  'InvalidCharacter', 'InvalidClientTokenId', 'InvalidPaginationToken', 'InvalidParameter', 'InvalidParameterCombination',
  'InvalidParameterDependency', 'InvalidParameterValue', 'InvalidQueryParameter', 'MalformedQueryString', 'MissingAction',
  'MissingAuthenticationToken', 'MissingParameter', 'OptInRequired', 'PendingVerification', 'RequestExpired',
  'TagPolicyViolation', 'UnauthorizedOperation', 'UnknownParameter', 'UnsupportedInstanceAttribute', 'UnsupportedOperation',
  'UnsupportedProtocol', 'ValidationError',
] as const;

/** "Client error codes for specific actions". */
export const actionClientErrors = [
  'AccountDisabled', 'ActiveVpcPeeringConnectionPerVpcLimitExceeded', 'AddressLimitExceeded', 'AsnConflict',
  'AttachmentLimitExceeded', 'BootForVolumeTypeUnsupported', 'BundlingInProgress', 'CannotDelete',
  'CapacityBlockDescribeLimitExceeded', 'ClientInvalidParameterValue', 'ClientVpnAuthorizationRuleLimitExceeded',
  'ClientVpnCertificateRevocationListLimitExceeded', 'ClientVpnEndpointAssociationExists', 'ClientVpnEndpointLimitExceeded',
  'ClientVpnRouteLimitExceeded', 'ClientVpnTerminateConnectionsLimitExceeded', 'ConcurrentCreateImageNoRebootLimitExceeded',
  'ConcurrentSnapshotLimitExceeded', 'ConcurrentTagAccess', 'CreditSpecificationUpdateInProgress',
  'CustomerGatewayLimitExceeded', 'CustomerKeyHasBeenRevoked', 'DeclarativePoliciesAccessDeniedException',
  'DeclarativePoliciesNotEnabledException', 'DeleteConversionTaskError', 'DefaultSubnetAlreadyExistsInAvailabilityZone',
  'DefaultVpcAlreadyExists', 'DefaultVpcDoesNotExist', 'DependencyViolation', 'DiskImageSizeTooLarge',
  'DuplicateSubnetsInSameZone', 'EncryptedVolumesNotSupported', 'ExistingVpcEndpointConnections',
  'FleetNotInModifiableState', 'FlowLogAlreadyExists', 'FlowLogsLimitExceeded', 'FilterLimitExceeded', 'Gateway.NotAttached',
  'HostAlreadyCoveredByReservation', 'HostLimitExceeded', 'IdempotentInstanceTerminated', 'InaccessibleStorageLocation',
  'InaccessibleStorageLocationException', 'IncorrectInstanceState', 'IncorrectModificationState',
  'IncorrectSpotRequestState', 'IncorrectState', 'IncorrectStateException', 'IncompatibleHostRequirements',
  'InstanceCreditSpecification.NotSupported', 'InstanceEventStartTimeCannotChange', 'InstanceLimitExceeded',
  'InsufficientCapacityOnHost', 'InstanceTpmEkPubNotFound', 'InsufficientFreeAddressesInSubnet',
  'InsufficientReservedInstancesCapacity', 'InterfaceInUseByTrafficMirrorSession', 'InterfaceInUseByTrafficMirrorTarget',
  'InternetGatewayLimitExceeded', 'InvalidAddress.Locked', 'InvalidAddress.Malformed', 'InvalidAddress.NotFound',
  'InvalidAddressID.NotFound', 'InvalidAffinity', 'InvalidAllocationID.NotFound', 'InvalidAMIAttributeItemValue',
  'InvalidAMIID.Malformed', 'InvalidAMIID.NotFound', 'InvalidAMIID.Unavailable', 'InvalidAMIName.Duplicate',
  'InvalidAMIName.Malformed', 'InvalidAssociationID.NotFound', 'InvalidAttachment.NotFound', 'InvalidAttachmentID.NotFound',
  'InvalidAutoPlacement', 'InvalidAvailabilityZone', 'InvalidBlockDeviceMapping', 'InvalidBundleID.NotFound',
  'InvalidCapacityBlockOfferingIdExpired', 'InvalidCapacityBlockOfferingIdMalformed', 'InvalidCapacityBlockOfferingIdNotFound',
  'InvalidCapacityReservationState.PendingActivation', 'InvalidCarrierGatewayID.NotFound', 'InvalidCidr.InUse',
  'InvalidClientToken', 'InvalidClientVpnActiveAssociationNotFound', 'InvalidClientVpnAssociationIdNotFound',
  'InvalidClientVpnConnection.IdNotFound', 'InvalidClientVpnConnection.UserNotFound',
  'InvalidClientVpnDuplicateAssociationException', 'InvalidClientVpnDuplicateAuthorizationRule',
  'InvalidClientVpnDuplicateRoute', 'InvalidClientVpnEndpointAuthorizationRuleNotFound', 'InvalidClientVpnEndpointId.NotFound',
  'InvalidClientVpnRouteNotFound', 'InvalidClientVpnSubnetId.DifferentAccount', 'InvalidClientVpnSubnetId.DuplicateAz',
  'InvalidClientVpnSubnetId.NotFound', 'InvalidClientVpnSubnetId.OverlappingCidr', 'InvalidConversionTaskId',
  'InvalidConversionTaskId.Malformed', 'InvalidCpuCredits', 'InvalidCpuCredits.Malformed',
  'InvalidCustomerGateway.DuplicateIpAddress', 'InvalidCustomerGatewayId.Malformed', 'InvalidCustomerGatewayID.NotFound',
  'InvalidCustomerGatewayState', 'InvalidDeclarativePoliciesReportId.Malformed', 'InvalidDhcpOptionID.NotFound',
  'InvalidDhcpOptionsID.NotFound', 'InvalidDhcpOptionsId.Malformed', 'InvalidEgressOnlyInternetGatewayId.Malformed',
  'InvalidEgressOnlyInternetGatewayId.NotFound', 'InvalidElasticGpuID.Malformed', 'InvalidElasticGpuID.NotFound',
  'InvalidExportTaskID.Malformed', 'InvalidExportTaskID.NotFound', 'InvalidFilter', 'InvalidFlowLogId.NotFound',
  'InvalidFormat', 'InvalidFpgaImageID.Malformed', 'InvalidFpgaImageID.NotFound', 'InvalidGatewayID.NotFound',
  'InvalidGroup.Duplicate', 'InvalidGroupId.Malformed', 'InvalidGroup.InUse', 'InvalidGroup.NotFound', 'InvalidGroup.Reserved',
  'InvalidHostConfiguration', 'InvalidHostId', 'InvalidHostID.Malformed', 'InvalidHostId.Malformed', 'InvalidHostID.NotFound',
  'InvalidHostId.NotFound', 'InvalidHostReservationId.Malformed', 'InvalidHostReservationOfferingId.Malformed',
  'InvalidHostState', 'InvalidIamInstanceProfileArn.Malformed', 'InvalidID', 'InvalidInput', 'InvalidInstanceAttributeValue',
  'InvalidInstanceConnectEndpointId.Malformed', 'InvalidInstanceConnectEndpointId.NotFound',
  'InvalidInstanceCreditSpecification', 'InvalidInstanceCreditSpecification.DuplicateInstanceId',
  'InvalidInstanceEventIDNotFound', 'InvalidInstanceEventStartTime', 'InvalidInstanceFamily', 'InvalidInstanceID',
  'InvalidInstanceID.Malformed', 'InvalidInstanceID.NotFound', 'InvalidInstanceID.NotLinkable', 'InvalidInstanceState',
  'InvalidInstanceType', 'InvalidInterface.IpAddressLimitExceeded', 'InvalidInternetGatewayId.Malformed',
  'InvalidInternetGatewayID.NotFound', 'InvalidIPAddress.InUse', 'InvalidKernelId.Malformed', 'InvalidKey.Format',
  'InvalidKeyPair.Duplicate', 'InvalidKeyPair.Format', 'InvalidKeyPair.NotFound', 'InvalidCapacityReservationId.Malformed',
  'InvalidCapacityReservationId.NotFound', 'InvalidLaunchTargets', 'InvalidLaunchTemplateId.Malformed',
  'InvalidLaunchTemplateId.NotFound', 'InvalidLaunchTemplateId.VersionNotFound',
  'InvalidLaunchTemplateName.AlreadyExistsException', 'InvalidLaunchTemplateName.MalformedException',
  'InvalidLaunchTemplateName.NotFoundException', 'InvalidManifest', 'InvalidMaxResults', 'InvalidNatGatewayID.NotFound',
  'InvalidNetworkAclEntry.NotFound', 'InvalidNetworkAclId.Malformed', 'InvalidNetworkAclID.NotFound',
  'InvalidNetworkLoadBalancerArn.Malformed', 'InvalidNetworkLoadBalancerArn.NotFound',
  'InvalidNetworkInterfaceAttachmentId.Malformed', 'InvalidNetworkInterface.InUse', 'InvalidNetworkInterfaceId.Malformed',
  'InvalidNetworkInterface.NotFound', 'InvalidNetworkInterfaceID.NotFound', 'InvalidNextToken', 'InvalidOption.Conflict',
  'InvalidPermission.Duplicate', 'InvalidPermission.Malformed', 'InvalidPermission.NotFound', 'InvalidPlacementGroup.Duplicate',
  'InvalidPlacementGroup.InUse', 'InvalidPlacementGroup.Unknown', 'InvalidPlacementGroupId.Malformed', 'InvalidPolicyDocument',
  'InvalidPrefixListId.Malformed', 'InvalidPrefixListID.NotFound', 'InvalidProductInfo', 'InvalidPurchaseToken.Expired',
  'InvalidPurchaseToken.Malformed', 'InvalidQuantity', 'InvalidRamDiskId.Malformed', 'InvalidRegion', 'InvalidRequest',
  'InvalidReservationID.Malformed', 'InvalidReservationID.NotFound', 'InvalidReservedInstancesId',
  'InvalidReservedInstancesOfferingId', 'InvalidResourceConfigurationArn.Malformed', 'InvalidResourceConfigurationArn.NotFound',
  'InvalidResourceType.Unknown', 'InvalidRoute.InvalidState', 'InvalidRoute.Malformed', 'InvalidRoute.NotFound',
  'InvalidRouteTableId.Malformed', 'InvalidRouteTableID.NotFound', 'InvalidScheduledInstance', 'InvalidSecurityGroupId.Malformed',
  'InvalidSecurityGroupID.NotFound', 'InvalidSecurityGroupRuleId.Malformed', 'InvalidSecurityGroupRuleId.NotFound',
  'InvalidSecurity.RequestHasExpired', 'InvalidServiceName', 'InvalidSnapshotID.Malformed', 'InvalidSnapshot.InUse',
  'InvalidSnapshot.NotFound', 'InvalidSpotDatafeed.NotFound', 'InvalidSpotFleetRequestConfig',
  'InvalidSpotFleetRequestId.Malformed', 'InvalidSpotFleetRequestId.NotFound', 'InvalidSpotInstanceRequestID.Malformed',
  'InvalidSpotInstanceRequestID.NotFound', 'InvalidState', 'InvalidStateTransition', 'InvalidSubnet', 'InvalidSubnet.Conflict',
  'InvalidSubnetID.Malformed', 'InvalidSubnetID.NotFound', 'InvalidSubnetId.NotFound', 'InvalidSubnet.Range',
  'InvalidTagKey.Malformed', 'InvalidTargetArn.Unknown', 'InvalidTargetException', 'InvalidTenancy', 'InvalidTime',
  'InvalidTrafficMirrorFilterNotFound', 'InvalidTrafficMirrorFilterRuleNotFound', 'InvalidTrafficMirrorSessionNotFound',
  'InvalidTrafficMirrorTargetNoFound', 'InvalidUserID.Malformed', 'InvalidVolumeID.Duplicate', 'InvalidVolumeID.Malformed',
  'InvalidVolumeID.ZoneMismatch', 'InvalidVolume.NotFound', 'InvalidVolume.ZoneMismatch', 'InvalidVpcEndpoint.NotFound',
  'InvalidVpcEndpointId.Malformed', 'InvalidVpcEndpointId.NotFound', 'InvalidVpcEndpointService.NotFound',
  'InvalidVpcEndpointServiceIdId.Malformed', 'InvalidVpcEndpointServiceId.NotFound', 'InvalidVpcEndpointType',
  'InvalidVpcID.Malformed', 'InvalidVpcID.NotFound', 'InvalidVpcPeeringConnectionId.Malformed',
  'InvalidVpcPeeringConnectionID.NotFound', 'InvalidVpcPeeringConnectionState.DnsHostnamesDisabled', 'InvalidVpcRange',
  'InvalidVpcState', 'InvalidVpnConnectionID', 'InvalidVpnConnectionID.NotFound', 'InvalidVpnConnection.InvalidState',
  'InvalidVpnConnection.InvalidType', 'InvalidVpnGatewayAttachment.NotFound', 'InvalidVpnGatewayID.NotFound',
  'InvalidVpnGatewayState', 'InvalidZone.NotFound', 'KeyPairLimitExceeded', 'LegacySecurityGroup', 'LimitPriceExceeded',
  'LogDestinationNotFound', 'LogDestinationPermissionIssue', 'MaxConfigLimitExceededException', 'MaxIOPSLimitExceeded',
  'MaxScheduledInstanceCapacityExceeded', 'MaxSpotFleetRequestCountExceeded', 'MaxSpotInstanceCountExceeded',
  'MaxTemplateLimitExceeded', 'MaxTemplateVersionLimitExceeded', 'MissingInput', 'NatGatewayLimitExceeded',
  'NatGatewayMalformed', 'NatGatewayNotFound', 'NetworkAclEntryAlreadyExists', 'NetworkAclEntryLimitExceeded',
  'NetworkAclLimitExceeded', 'NetworkInterfaceLimitExceeded', 'NetworkInterfaceNotSupported',
  'NetworkLoadBalancerNotFoundException', 'NlbInUseByTrafficMirrorTargetException', 'NonEBSInstance', 'NoSuchVersion',
  'NotExportable', 'OperationNotPermitted', 'OutstandingVpcPeeringConnectionLimitExceeded', 'PendingSnapshotLimitExceeded',
  'PendingVpcPeeringConnectionLimitExceeded', 'PlacementGroupLimitExceeded', 'PrivateIpAddressLimitExceeded',
  'RequestResourceCountExceeded', 'ReservationCapacityExceeded', 'ReservedInstancesCountExceeded',
  'ReservedInstancesLimitExceeded', 'ReservedInstancesUnavailable', 'Resource.AlreadyAssigned', 'Resource.AlreadyAssociated',
  'ResourceCountExceeded', 'ResourceCountLimitExceeded', 'ResourceLimitExceeded', 'RetryableError', 'RouteAlreadyExists',
  'RouteLimitExceeded', 'RouteTableLimitExceeded', 'RulesPerSecurityGroupLimitExceeded', 'ScheduledInstanceLimitExceeded',
  'ScheduledInstanceParameterMismatch', 'ScheduledInstanceSlotNotOpen', 'ScheduledInstanceSlotUnavailable',
  'SecurityGroupLimitExceeded', 'SecurityGroupsPerInstanceLimitExceeded', 'SecurityGroupsPerInterfaceLimitExceeded',
  'SignatureDoesNotMatch', 'SnapshotCopyUnsupported.InterRegion', 'SnapshotCreationPerVolumeRateExceeded',
  'SnapshotLimitExceeded', 'SpotMaxPriceTooLow', 'SubnetLimitExceeded', 'TagLimitExceeded',
  'TargetCapacityLimitExceededException', 'TrafficMirrorFilterInUse', 'TrafficMirrorSessionsPerInterfaceLimitExceeded',
  'TrafficMirrorSessionsPerTargetLimitExceeded', 'TrafficMirrorSourcesPerTargetLimitExceeded',
  'TrafficMirrorTargetInUseException', 'TrafficMirrorFilterLimitExceeded', 'TrafficMirrorFilterRuleLimitExceeded',
  'TrafficMirrorSessionLimitExceeded', 'TrafficMirrorTargetLimitExceeded', 'TrafficMirrorFilterRuleAlreadyExists',
  'UnavailableHostRequirements', 'UnfulfillableCapacity', 'UnknownPrincipalType.Unsupported', 'UnknownVolumeType',
  'Unsupported', 'UnsupportedException', 'UnsupportedHibernationConfiguration', 'UnsupportedHostConfiguration',
  'UnsupportedInstanceTypeOnHost', 'UnsupportedTenancy', 'UpdateLimitExceeded', 'VcpuLimitExceeded', 'VolumeInUse',
  'VolumeIOPSLimit', 'VolumeLimitExceeded', 'VolumeModificationSizeLimitExceeded', 'VolumeTypeNotAvailableInZone',
  'VPCIdNotSpecified', 'VpcEndpointLimitExceeded', 'VpcLimitExceeded', 'VpcPeeringConnectionAlreadyExists',
  'VpcPeeringConnectionsPerVpcLimitExceeded', 'VPCResourceNotSpecified', 'VpnConnectionLimitExceeded',
  'VpnGatewayAttachmentLimitExceeded', 'VpnGatewayLimitExceeded', 'ZonesMismatched',
] as const;

/** "Server error codes" (500-series). */
export const serverErrors = [
  'BandwidthLimitExceeded', 'InsufficientAddressCapacity', 'InsufficientCapacity', 'InsufficientInstanceCapacity',
  'InsufficientHostCapacity', 'InsufficientReservedInstanceCapacity', 'InsufficientVolumeCapacity', 'ServerInternal',
  'InternalFailure', 'RequestLimitExceeded', 'ServiceUnavailable', 'InternalError', 'Unavailable',
] as const;

export const documentedClientErrors: ReadonlySet<string> = new Set<string>([...commonClientErrors, ...actionClientErrors]);

/**
 * Codes EC2 really answers with that the page leaves out (it lists "InvalidVpcRange", the service
 * says "InvalidVpc.Range"). Each is in the Terraform AWS provider's error-code constants or in
 * error transcripts from the real service; add one here only with such evidence.
 */
export const undocumentedButReal = [
  'InvalidVpc.Range', // CreateVpc: "The CIDR '10.0.0.0/8' is invalid."
  'CidrLimitExceeded', // AssociateVpcCidrBlock: "This network 'vpc-…' has met its maximum number of allowed CIDRs: 5"
  'InsufficientCidrBlocks', // "The specified subnet does not have enough free cidr blocks to satisfy the request"
  'InvalidVpcCidrBlockAssociationID.NotFound',
  'InvalidIpamPoolId.NotFound',
] as const;

/** What the fuzzer accepts as the code of a 4xx answer. */
export const acceptedClientErrors: ReadonlySet<string> = new Set<string>([...documentedClientErrors, ...undocumentedButReal]);

import { describe, expect, test } from 'vitest';
import { fixtureMetadata } from './fixture.js';
import { credentialsDocument, errorPage, identityDocument, readsCredentials, resolvePath, VERSIONS, type RoleCredentials } from './metadata.js';

const m = fixtureMetadata();
const get = (path: string, md = m) => {
  const r = resolvePath(md, path);
  return r.status === 200 ? r.body.toString() : 404;
};

describe('metadata paths', () => {
  const cases: [string, string | 404][] = [
    ['/latest/meta-data/ami-id', 'ami-0abcdef1234567890'],
    ['/latest/meta-data/instance-id', 'i-0123456789abcdef0'],
    ['/latest/meta-data/instance-type', 't3.micro'],
    ['/latest/meta-data/hostname', 'ip-172-31-0-11.ec2.internal'],
    ['/latest/meta-data/local-hostname', 'ip-172-31-0-11.ec2.internal'],
    ['/latest/meta-data/local-ipv4', '172.31.0.11'],
    ['/latest/meta-data/public-ipv4', 404],
    ['/latest/meta-data/mac', '02:ab:cd:00:00:01'],
    ['/latest/meta-data/placement/availability-zone', 'us-east-1a'],
    ['/latest/meta-data/placement/availability-zone-id', 'use1-az1'],
    ['/latest/meta-data/placement/region', 'us-east-1'],
    ['/latest/meta-data/placement/', 'availability-zone\navailability-zone-id\nregion'],
    ['/latest/meta-data/security-groups', 'default\nweb'],
    ['/latest/meta-data/public-keys/', '0=my-key'],
    ['/latest/meta-data/public-keys/0/', 'openssh-key'],
    ['/latest/meta-data/public-keys/0/openssh-key', 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample my-key\n'],
    ['/latest/meta-data/public-keys/my-key', 404],
    ['/latest/meta-data/block-device-mapping/', 'ami\nebs1\nephemeral0\nroot'],
    ['/latest/meta-data/block-device-mapping/ami', '/dev/xvda'],
    ['/latest/meta-data/block-device-mapping/root', '/dev/xvda'],
    ['/latest/meta-data/block-device-mapping/ebs1', 'sdf'],
    ['/latest/meta-data/block-device-mapping/ephemeral0', 'sdb'],
    ['/latest/meta-data/network/interfaces/macs/', '02:ab:cd:00:00:01/'],
    ['/latest/meta-data/network/interfaces/macs/02:ab:cd:00:00:01/device-number', '0'],
    ['/latest/meta-data/network/interfaces/macs/02:ab:cd:00:00:01/local-ipv4s', '172.31.0.11'],
    ['/latest/meta-data/network/interfaces/macs/02:ab:cd:00:00:01/subnet-id', 'subnet-0123456789abcdef0'],
    ['/latest/meta-data/network/interfaces/macs/02:ab:cd:00:00:01/subnet-ipv4-cidr-block', '172.31.0.0/20'],
    ['/latest/meta-data/network/interfaces/macs/02:ab:cd:00:00:01/vpc-id', 'vpc-0123456789abcdef0'],
    ['/latest/meta-data/network/interfaces/macs/02:ab:cd:00:00:01/vpc-ipv4-cidr-block', '172.31.0.0/16'],
    ['/latest/meta-data/network/interfaces/macs/02:ab:cd:00:00:01/security-group-ids', 'sg-0123456789abcdef0\nsg-0fedcba9876543210'],
    ['/latest/meta-data/network/interfaces/macs/02:ab:cd:00:00:01/mac', '02:ab:cd:00:00:01'],
    ['/latest/meta-data/instance-action', 'none'],
    ['/latest/meta-data/reservation-id', 'r-0123456789abcdef0'],
    ['/latest/meta-data/ami-launch-index', '0'],
    ['/latest/meta-data/services/domain', 'amazonaws.com'],
    ['/latest/meta-data/services/partition', 'aws'],
    ['/latest/meta-data/iam/', 404],
    ['/latest/meta-data/iam/info', 404],
    ['/latest/meta-data/tags/instance/', 404],
    ['/latest/meta-data/nothing-here', 404],
    ['/latest/meta-data/instance-id/more', 404],
    ['/latest/meta-data/%E0%A4%A', 404],
    ['/latest/meta-data/__proto__', 404],
    ['/latest/user-data', '#!/bin/sh\necho hello\n'],
    ['/2009-04-04/meta-data/instance-id', 'i-0123456789abcdef0'],
    ['/2099-01-01/meta-data/instance-id', 404],
    ['/latest/', 'dynamic\nmeta-data\nuser-data'],
    ['/latest', 'dynamic\nmeta-data\nuser-data'],
    ['/latest/dynamic/', 'instance-identity/'],
    ['/latest/dynamic/instance-identity/', 'document'],
  ];
  test.each(cases)('%s', (path, want) => expect(get(path)).toBe(want));

  test('/ lists the versions, latest last', () => {
    expect(get('/')).toBe(VERSIONS.join('\n'));
    expect(VERSIONS.at(-1)).toBe('latest');
  });

  test('the meta-data listing: sorted, folders with a slash, no final newline', () => {
    expect(get('/latest/meta-data/')).toBe(
      [
        'ami-id',
        'ami-launch-index',
        'ami-manifest-path',
        'block-device-mapping/',
        'events/',
        'hostname',
        'instance-action',
        'instance-id',
        'instance-life-cycle',
        'instance-type',
        'local-hostname',
        'local-ipv4',
        'mac',
        'network/',
        'placement/',
        'profile',
        'public-keys/',
        'reservation-id',
        'security-groups',
        'services/',
      ].join('\n'),
    );
    expect(get('/latest/meta-data')).toBe(get('/latest/meta-data/'));
  });

  test('user data is bytes as given, and absent (404, unlisted) when there is none', () => {
    const bin = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0xff]);
    const r = resolvePath(fixtureMetadata({ userData: bin }), '/latest/user-data');
    expect(r.status === 200 && Buffer.isBuffer(r.body) && r.body.equals(bin)).toBe(true);
    expect(r.status === 200 && r.contentType).toBe('application/octet-stream');
    const none = fixtureMetadata({ userData: undefined });
    expect(get('/latest/user-data', none)).toBe(404);
    expect(get('/latest/', none)).toBe('dynamic\nmeta-data');
  });

  test('no key pair: no public-keys', () => {
    const none = fixtureMetadata({ key: undefined });
    expect(get('/latest/meta-data/public-keys/', none)).toBe(404);
    expect(get('/latest/meta-data/', none)).not.toContain('public-keys');
  });

  test('a public address shows in public-ipv4, public-hostname and the interface', () => {
    const pub = fixtureMetadata({ publicIp: '54.1.2.3', publicHostname: 'ec2-54-1-2-3.compute-1.amazonaws.com' });
    pub.interfaces = [{ ...pub.interfaces[0]!, publicIp: '54.1.2.3', publicHostname: 'ec2-54-1-2-3.compute-1.amazonaws.com' }];
    expect(get('/latest/meta-data/public-ipv4', pub)).toBe('54.1.2.3');
    expect(get('/latest/meta-data/public-hostname', pub)).toBe('ec2-54-1-2-3.compute-1.amazonaws.com');
    expect(get('/latest/meta-data/network/interfaces/macs/02:ab:cd:00:00:01/public-ipv4s', pub)).toBe('54.1.2.3');
    expect(get('/latest/meta-data/network/interfaces/macs/02:ab:cd:00:00:01/ipv4-associations/54.1.2.3', pub)).toBe('172.31.0.11');
  });

  test('tags only when InstanceMetadataTags is enabled; keys that cannot be paths are left out', () => {
    const tagged = fixtureMetadata({ tags: { Name: 'web-1', env: 'prod', 'a/b': 'x' } });
    expect(get('/latest/meta-data/tags/instance/', tagged)).toBe('Name\nenv');
    expect(get('/latest/meta-data/tags/instance/Name', tagged)).toBe('web-1');
    expect(get('/latest/meta-data/tags/', tagged)).toBe('instance/');
  });

  test('iam/ only with an instance profile', () => {
    const withRole = fixtureMetadata({
      iamInstanceProfile: { arn: 'arn:aws:iam::123456789012:instance-profile/web', id: 'AIPAEXAMPLE', lastUpdated: new Date('2024-05-06T07:08:09Z') },
    });
    expect(get('/latest/meta-data/iam/', withRole)).toBe('info');
    expect(get('/latest/meta-data/iam/info', withRole)).toBe(
      '{\n  "Code" : "Success",\n  "LastUpdated" : "2024-05-06T07:08:09Z",\n  "InstanceProfileArn" : "arn:aws:iam::123456789012:instance-profile/web",\n  "InstanceProfileId" : "AIPAEXAMPLE"\n}',
    );
  });
});

describe('role credentials', () => {
  const profile = { arn: 'arn:aws:iam::123456789012:instance-profile/web', id: 'AIPAEXAMPLE', lastUpdated: new Date('2024-05-06T07:08:09Z') };
  const success: RoleCredentials = {
    code: 'Success',
    roleName: 'web-role',
    lastUpdated: new Date('2024-05-06T08:00:01.250Z'),
    accessKeyId: 'ASIAEXAMPLEEXAMPLE01',
    secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    sessionToken: 'IQoJb3JpZ2luX2VjEXAMPLE+token/==',
    expiration: new Date('2024-05-06T14:00:01Z'),
  };
  const withCredentials = fixtureMetadata({ iamInstanceProfile: { ...profile, role: success } });

  test("security-credentials/<role> exactly as EC2 prints it (Jackson's layout, second precision)", () => {
    expect(get('/latest/meta-data/iam/', withCredentials)).toBe('info\nsecurity-credentials/');
    expect(get('/latest/meta-data/iam/security-credentials/', withCredentials)).toBe('web-role');
    expect(get('/latest/meta-data/iam/security-credentials/web-role', withCredentials)).toBe(`{
  "Code" : "Success",
  "LastUpdated" : "2024-05-06T08:00:01Z",
  "Type" : "AWS-HMAC",
  "AccessKeyId" : "ASIAEXAMPLEEXAMPLE01",
  "SecretAccessKey" : "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
  "Token" : "IQoJb3JpZ2luX2VjEXAMPLE+token/==",
  "Expiration" : "2024-05-06T14:00:01Z"
}`);
    // The SDKs parse it as JSON.
    expect(JSON.parse(credentialsDocument(success))).toMatchObject({ AccessKeyId: 'ASIAEXAMPLEEXAMPLE01', Token: success.sessionToken });
    expect(get('/latest/meta-data/iam/security-credentials/other-role', withCredentials)).toBe(404);
  });

  test('iam/info says when the credentials were last updated', () => {
    expect(get('/latest/meta-data/iam/info', withCredentials)).toBe(
      '{\n  "Code" : "Success",\n  "LastUpdated" : "2024-05-06T08:00:01Z",\n  "InstanceProfileArn" : "arn:aws:iam::123456789012:instance-profile/web",\n  "InstanceProfileId" : "AIPAEXAMPLE"\n}',
    );
  });

  test("a role EC2 may not assume: AssumeRoleUnauthorizedAccess in info and the role's document, no credentials", () => {
    const refused = fixtureMetadata({
      iamInstanceProfile: { ...profile, role: { code: 'AssumeRoleUnauthorizedAccess', roleName: 'web-role', lastUpdated: new Date('2024-05-06T09:10:11Z') } },
    });
    const message = 'EC2 cannot assume the role web-role.  Please see documentation at http://docs.amazonwebservices.com/IAM/latest/UserGuide/RolesTroubleshooting.html.';
    expect(get('/latest/meta-data/iam/security-credentials/web-role', refused)).toBe(
      `{\n  "Code" : "AssumeRoleUnauthorizedAccess",\n  "Message" : "${message}",\n  "LastUpdated" : "2024-05-06T09:10:11Z"\n}`,
    );
    const info = JSON.parse(get('/latest/meta-data/iam/info', refused) as string) as Record<string, string>;
    expect(info).toEqual({
      Code: 'AssumeRoleUnauthorizedAccess',
      Message: message,
      LastUpdated: '2024-05-06T09:10:11Z',
      InstanceProfileArn: profile.arn,
      InstanceProfileId: 'AIPAEXAMPLE',
    });
    expect(get('/latest/meta-data/iam/security-credentials/web-role', refused)).not.toContain('AccessKeyId');
  });

  test('only paths under meta-data/iam read credentials', () => {
    const cases: [string, boolean][] = [
      ['/latest/meta-data/iam/security-credentials/web-role', true],
      ['/latest/meta-data/iam/info', true],
      ['/latest/meta-data/iam', true],
      ['/2021-07-15/meta-data/iam/', true],
      ['//latest//meta-data//iam/info', true],
      ['/latest/meta-data/', false],
      ['/latest/meta-data/iamx', false],
      ['/latest/meta-data/instance-id', false],
      ['/latest/user-data', false],
      ['/latest/dynamic/iam/info', false],
    ];
    for (const [path, reads] of cases) expect([path, readsCredentials(path)]).toEqual([path, reads]);
  });
});

describe('instance identity document', () => {
  test('exactly as EC2 prints it', () => {
    expect(identityDocument(m)).toBe(`{
  "accountId" : "123456789012",
  "architecture" : "x86_64",
  "availabilityZone" : "us-east-1a",
  "billingProducts" : null,
  "devpayProductCodes" : null,
  "marketplaceProductCodes" : null,
  "imageId" : "ami-0abcdef1234567890",
  "instanceId" : "i-0123456789abcdef0",
  "instanceType" : "t3.micro",
  "kernelId" : null,
  "pendingTime" : "2024-05-06T07:08:09Z",
  "privateIp" : "172.31.0.11",
  "ramdiskId" : null,
  "region" : "us-east-1",
  "version" : "2017-09-30"
}`);
    expect(get('/latest/dynamic/instance-identity/document')).toBe(identityDocument(m));
    expect(JSON.parse(identityDocument(m)).instanceId).toBe('i-0123456789abcdef0');
  });
});

describe('error pages', () => {
  test("EC2's XHTML 404", () => {
    expect(errorPage(404, 'Not Found')).toBe(`<?xml version="1.0" encoding="iso-8859-1"?>
<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN"
         "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="en" lang="en">
 <head>
  <title>404 - Not Found</title>
 </head>
 <body>
  <h1>404 - Not Found</h1>
 </body>
</html>
`);
  });
});

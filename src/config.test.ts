import { cpus, totalmem } from 'node:os';
import { describe, expect, test } from 'vitest';
import { loadConfig } from './config.js';

describe('host capacity (host admission of RunInstances and StartInstances)', () => {
  test("defaults: this host's CPUs and memory, CPU overcommitted 8 times, memory not at all", () => {
    expect(loadConfig({}).hostCapacity).toEqual({ vcpus: cpus().length, memoryMiB: Math.floor(totalmem() / 1048576), cpuOvercommit: 8, memoryOvercommit: 1 });
  });

  test('each figure is set from the environment', () => {
    const c = loadConfig({ CUMULO_HOST_VCPUS: '4', CUMULO_HOST_MEMORY_MIB: ' 2048 ', CUMULO_CPU_OVERCOMMIT: '1.5', CUMULO_MEMORY_OVERCOMMIT: '2', CUMULO_HOST: '' });
    expect(c.hostCapacity).toEqual({ vcpus: 4, memoryMiB: 2048, cpuOvercommit: 1.5, memoryOvercommit: 2 });
    expect(loadConfig({ CUMULO_CPU_OVERCOMMIT: '' }).hostCapacity.cpuOvercommit).toBe(8);
  });

  test.each([
    ['CUMULO_CPU_OVERCOMMIT', 'lots'],
    ['CUMULO_CPU_OVERCOMMIT', '0'],
    ['CUMULO_MEMORY_OVERCOMMIT', '-1'],
    ['CUMULO_MEMORY_OVERCOMMIT', 'Infinity'],
    ['CUMULO_HOST_VCPUS', '2 cores'],
    ['CUMULO_HOST_MEMORY_MIB', '1e'],
  ])('%s=%j stops the start', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(`${name} must be a positive number, not ${JSON.stringify(value)}`);
  });
});

describe('whole numbers from the environment', () => {
  test('defaults when unset or empty, the value when it parses', () => {
    expect(loadConfig({}).maxBodyBytes).toBe(1024 * 1024);
    expect(loadConfig({ CUMULO_MAX_BODY_BYTES: '' }).maxBodyBytes).toBe(1024 * 1024);
    expect(loadConfig({ CUMULO_MAX_BODY_BYTES: ' 2048 ' }).maxBodyBytes).toBe(2048);
    expect(loadConfig({ CUMULO_PORT: '0' }).port).toBe(0);
  });

  test.each(['1MB', '1e6', '-5', '0', '1.5', '99999999999999999999'])('CUMULO_MAX_BODY_BYTES=%j stops the start', (value) => {
    expect(() => loadConfig({ CUMULO_MAX_BODY_BYTES: value })).toThrow(`CUMULO_MAX_BODY_BYTES must be a positive whole number, not ${JSON.stringify(value)}`);
  });

  test.each(['65536', 'http', '-1'])('CUMULO_PORT=%j stops the start', (value) => {
    expect(() => loadConfig({ CUMULO_PORT: value })).toThrow(`CUMULO_PORT must be a whole number from 0 to 65535, not ${JSON.stringify(value)}`);
  });
});

describe('the API certificate (HTTPS)', () => {
  test('names: the loopback addresses, localhost and the host; CUMULO_TLS_NAMES adds more', () => {
    expect(loadConfig({}).tls).toEqual({ certFile: undefined, keyFile: undefined, names: ['127.0.0.1', '::1', 'localhost'] });
    expect(loadConfig({ CUMULO_HOST: '10.1.2.3', CUMULO_TLS_NAMES: 'api.example.test, *.cloud.test,fd00::1' }).tls.names).toEqual([
      '127.0.0.1',
      '::1',
      'localhost',
      '10.1.2.3',
      'api.example.test',
      '*.cloud.test',
      'fd00::1',
    ]);
  });

  test('a wildcard host adds this machine’s addresses', () => {
    const names = loadConfig({ CUMULO_HOST: '0.0.0.0' }).tls.names;
    expect(names.slice(0, 3)).toEqual(['127.0.0.1', '::1', 'localhost']);
    expect(names).not.toContain('0.0.0.0');
  });

  test('a name that is neither a DNS name nor an address stops the start, naming the variable', () => {
    expect(() => loadConfig({ CUMULO_TLS_NAMES: 'ok.test,bad name' })).toThrow(/CUMULO_TLS_NAMES .*"bad name"/);
    expect(() => loadConfig({ CUMULO_TLS_NAMES: '/CN=x' })).toThrow(/CUMULO_TLS_NAMES/);
  });

  test('the operator’s certificate and key are taken as absolute paths', () => {
    const c = loadConfig({ CUMULO_TLS_CERT: 'certs/api.pem', CUMULO_TLS_KEY: '/etc/cumulo/api.key' });
    expect(c.tls.certFile).toMatch(/^\/.*\/certs\/api\.pem$/);
    expect(c.tls.keyFile).toBe('/etc/cumulo/api.key');
  });
});

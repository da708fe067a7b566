// The AWS CLI against a test server, with nothing of the user's own setup: no config or
// credentials files, no metadata service, one attempt, no pager; the server's endpoint and a key.
import { execFile } from 'node:child_process';
import { join } from 'node:path';

interface CliServer {
  url: string;
  app: { config: { home: string } };
  admin: { accessKeyId: string; secretAccessKey: string };
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The CLI's environment: the process's own without AWS_*, the key (the admin's unless given), us-east-1, and `extra`. */
export function awsEnv(s: CliServer, extra: Record<string, string> = {}, creds: { accessKeyId: string; secretAccessKey: string } = s.admin): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('AWS_')) env[k] = v;
  return {
    ...env,
    AWS_ACCESS_KEY_ID: creds.accessKeyId,
    AWS_SECRET_ACCESS_KEY: creds.secretAccessKey,
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_CONFIG_FILE: join(s.app.config.home, 'no-aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(s.app.config.home, 'no-aws-credentials'),
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_MAX_ATTEMPTS: '1',
    AWS_PAGER: '',
    ...extra,
  };
}

/** `aws <args> --endpoint-url <server>` (and `--output json` unless told otherwise). */
export function awsCli(s: CliServer, args: string[], o: { creds?: { accessKeyId: string; secretAccessKey: string }; json?: boolean } = {}): Promise<CliResult> {
  const env = awsEnv(s, {}, o.creds ?? s.admin);
  const output = o.json === false ? [] : ['--output', 'json'];
  return new Promise((resolve) => {
    execFile('aws', [...args, '--endpoint-url', s.url, ...output], { env, timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: unknown }).code) || 1 : 0, stdout, stderr }),
    );
  });
}

// The HTTP front: body, parameters, SigV4, routing by the credential scope's service, and the
// only place where results and errors become HTTP responses.
//
// One port serves both HTTP and HTTPS: the first byte a client sends tells them apart (a TLS
// handshake record starts with 0x16, an HTTP request with a method's letter), so
// http://127.0.0.1:8773 keeps working and https://127.0.0.1:8773 is the same API.
import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { gunzipSync } from 'node:zlib';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { ApiError, Errors, isApiError } from '../services/errors.js';
import { toApiError, type Dispatcher, type Invocation } from './dispatch.js';
import { buildParamTree, QueryParser, refuseXmlForbidden } from './protocol/query.js';
import { renderError, renderResponse } from './protocol/xml.js';
import { JsonProtocol } from './protocol/json.js';
import { CborProtocol } from './protocol/cbor.js';
import type { DocumentProtocol, WireReply } from './protocol/document.js';
import { parseAuthorization, verifySigV4, type IncomingRequest } from './sigv4.js';
import { loadModel, type ServiceModel, type WireProtocol } from '../models/index.js';
import { CredentialProblem, type Accounts } from '../services/accounts.js';
import { rootPrincipal, type Principal } from '../services/iam/principal.js';
import { IamErrors } from '../services/iam/errors.js';
import type { RequestSource } from '../services/context.js';
import type { TLSSocket } from 'node:tls';
import type { Config } from '../config.js';
import { requestId as newRequestId } from '../lib/ids.js';

export interface ServerDeps {
  config: Config;
  dispatcher: Dispatcher;
  accounts: Accounts;
  /** Extra routes (health, console sign-in), asked before the API's own handling. Return true when handled. */
  routes?: (req: IncomingMessage, res: ServerResponse, url: URL) => boolean | Promise<boolean>;
  log?: (line: string) => void;
  /** The server's key and certificate chain (PEM): with them, the port speaks HTTPS too. */
  tls?: { key: Buffer; cert: Buffer };
}

interface Authenticated {
  accountId: string;
  region: string;
  service: string;
  principal: Principal;
}

/** The session token of a request signed with temporary credentials (header, or presigned query). */
function sessionTokenOf(req: IncomingRequest): string | undefined {
  const header = req.headers['x-amz-security-token'];
  if (typeof header === 'string') return header;
  if (Array.isArray(header)) return header.join(',');
  return new URLSearchParams(req.query).get('X-Amz-Security-Token') ?? undefined;
}

/**
 * A bad or expired token in each service's words: EC2 says AuthFailure and RequestExpired; IAM,
 * STS and the other Query and JSON services InvalidClientTokenId and ExpiredToken.
 */
function credentialError(service: string, kind: 'invalid' | 'expired'): ApiError {
  if (service === 'ec2') return kind === 'invalid' ? Errors.authFailure() : Errors.requestExpired('Request has expired.');
  return kind === 'invalid' ? IamErrors.invalidClientTokenId() : IamErrors.expiredToken();
}

/** One authenticated, parsed call, for the dispatcher: who asks, from where, in which account and region. */
function invocation(req: IncomingMessage, ident: Authenticated, model: ServiceModel, operation: string, input: Record<string, unknown>, requestId: string): Invocation {
  const { accountId, region, principal } = ident;
  return { model, operation, input, accountId, region, requestId, principal, source: sourceOf(req) };
}

/** Where a request came from: the peer's address and whether it spoke TLS. */
function sourceOf(req: IncomingMessage): RequestSource {
  const ip = (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
  return { ip, secure: (req.socket as TLSSocket).encrypted === true };
}

/** A TLS record of type handshake: what every TLS client sends first. */
const TLS_HANDSHAKE = 0x16;
/** A connection that sends nothing is dropped after this long (an HTTP client speaks first). */
const FIRST_BYTE_TIMEOUT_MS = 30_000;

const parsers = { ec2: new QueryParser('ec2'), query: new QueryParser('query') };

type DocumentWire = Exclude<WireProtocol, 'ec2' | 'query'>;
const documents: Record<DocumentWire, DocumentProtocol> = {
  'json1.0': new JsonProtocol('1.0'),
  'json1.1': new JsonProtocol('1.1'),
  'rpcv2-cbor': new CborProtocol(),
};

const JSON_CONTENT_TYPE = /^application\/x-amz-json-(1\.[01])\s*(;|$)/i;
const CBOR_PATH = /^\/service\/([^/]+)\/operation\/([^/]+)$/;

/**
 * The document protocol a request speaks, from its headers alone (undefined: a Query request).
 * RPC v2 CBOR says so in `smithy-protocol: rpc-v2-cbor`; awsJson in X-Amz-Target beside an
 * application/x-amz-json-1.x Content-Type.
 */
export function documentWireOf(headers: IncomingMessage['headers']): DocumentWire | undefined {
  if (String(headers['smithy-protocol'] ?? '').toLowerCase() === 'rpc-v2-cbor') return 'rpcv2-cbor';
  const json = headers['x-amz-target'] !== undefined ? JSON_CONTENT_TYPE.exec(String(headers['content-type'] ?? '')) : null;
  if (json) return json[1] === '1.0' ? 'json1.0' : 'json1.1';
  return undefined;
}

export class ApiServer {
  readonly http: Server;
  /** The same handler behind TLS; undefined when no certificate was given. */
  readonly https?: HttpsServer;
  /** What listens: hands each connection to http or https by its first byte. */
  private front: NetServer;
  /** Connections still waiting for their first byte (close() ends them too). */
  private sniffing = new Set<Socket>();
  private closed = false;

  constructor(private deps: ServerDeps) {
    const onRequest = (req: IncomingMessage, res: ServerResponse) => {
      this.handle(req, res).catch((e) => {
        deps.log?.(`unhandled: ${(e as Error)?.stack ?? e}`);
        if (!res.headersSent) this.sendError(res, loadModel('ec2')!, Errors.internal(), newRequestId());
      });
    };
    this.http = createServer(onRequest);
    this.http.keepAliveTimeout = 65_000;
    this.http.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => this.clientError(err, socket));
    if (deps.tls) {
      this.https = createHttpsServer({ key: deps.tls.key, cert: deps.tls.cert, minVersion: 'TLSv1.2' }, onRequest);
      this.https.keepAliveTimeout = 65_000;
      this.https.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => this.clientError(err, socket));
      // A failed handshake (a client that does not trust the CA, a scanner) just ends the connection.
      this.https.on('tlsClientError', (_err, socket) => socket.destroy());
    }
    this.front = createNetServer((socket) => this.sniff(socket));
  }

  /**
   * A connection that speaks HTTPS only (the endpoint instances reach, src/host/endpoint.ts): the
   * same handler behind TLS, never plain HTTP; without a certificate, or once closed, it is ended.
   */
  acceptTls(socket: Socket): void {
    if (!this.https || this.closed) {
      socket.destroy();
      return;
    }
    socket.on('error', () => socket.destroy());
    this.https.emit('connection', socket);
  }

  /** Waits for a connection's first byte, puts it back, and hands the connection to HTTP or HTTPS. */
  private sniff(socket: Socket): void {
    this.sniffing.add(socket);
    const done = () => {
      this.sniffing.delete(socket);
      socket.setTimeout(0);
      socket.removeListener('readable', onReadable);
      socket.removeListener('error', onError);
      socket.removeListener('timeout', onTimeout);
      socket.removeListener('close', onClose);
    };
    const onError = () => {
      done();
      socket.destroy();
    };
    const onTimeout = onError;
    const onClose = () => done();
    const onReadable = () => {
      const first = socket.read(1) as Buffer | null;
      if (first === null) return;
      done();
      socket.unshift(first);
      const target = first[0] === TLS_HANDSHAKE && this.https ? this.https : this.http;
      target.emit('connection', socket);
    };
    socket.on('error', onError);
    socket.on('close', onClose);
    socket.setTimeout(FIRST_BYTE_TIMEOUT_MS);
    socket.on('timeout', onTimeout);
    socket.on('readable', onReadable);
  }

  /**
   * Requests Node's HTTP parser refuses (headers or URL over its size limit, broken syntax) never
   * reach handle(); answer them in EC2's envelope too instead of Node's bare 400/431.
   */
  private clientError(err: NodeJS.ErrnoException, socket: Socket): void {
    if (!socket.writable || err.code === 'ECONNRESET') {
      socket.destroy();
      return;
    }
    const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
    const status = tooLarge ? 431 : 400;
    const rid = newRequestId();
    const xml = renderError(
      'ec2',
      new ApiError('InvalidRequest', tooLarge ? 'The request line and headers are too large; send parameters in a POST body.' : 'The HTTP request is malformed.', status),
      rid,
    );
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: text/xml;charset=UTF-8\r\nx-amzn-requestid: ${rid}\r\n` +
        `content-length: ${Buffer.byteLength(xml)}\r\nconnection: close\r\n\r\n${xml}`,
    );
  }

  listen(port: number, host: string): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.front.once('error', reject);
      this.front.listen(port, host, () => {
        this.front.removeListener('error', reject);
        // The inner servers never listen themselves; 'listening' starts their connection tracking
        // (header and request timeouts, closeAllConnections).
        this.http.emit('listening');
        this.https?.emit('listening');
        resolve(this.front.address() as AddressInfo);
      });
    });
  }

  close(): Promise<void> {
    this.closed = true;
    return new Promise((resolve) => {
      this.front.close(() => resolve());
      for (const s of this.sniffing) s.destroy();
      this.sniffing.clear();
      // close() stops their timers; closeAllConnections ends idle keep-alive connections too.
      this.http.close();
      this.https?.close();
      this.http.closeAllConnections();
      this.https?.closeAllConnections();
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const rid = newRequestId();
    const url = new URL(req.url ?? '/', 'http://localhost');
    let model = loadModel('ec2')!;
    // Known before the service is: an error found first (a bad signature) is still answered in
    // the protocol the client speaks and can read.
    let wire = documentWireOf(req.headers);
    let queryCompatible = req.headers['x-amzn-query-mode'] === 'true';
    try {
      if ((req.method === 'GET' || req.method === 'POST') && this.deps.routes && !url.search && (await this.deps.routes(req, res, url))) return;
      if (req.method !== 'GET' && req.method !== 'POST') {
        throw new ApiError('InvalidHttpRequest', `The HTTP method ${req.method} is not supported.`, 405);
      }
      const body = await readBody(req, this.deps.config.maxBodyBytes);
      const rawQuery = url.search.slice(1);
      const incoming: IncomingRequest = { method: req.method, path: url.pathname, query: rawQuery, headers: req.headers, body };

      // Who is asking, and which service: the credential scope says both.
      const ident = await this.authenticate(incoming);
      // The signature covers the bytes as sent; what they say is the decompressed body.
      const payload = decodeContent(req.headers['content-encoding'], body, this.deps.config.maxBodyBytes);
      const m = this.deps.dispatcher.model(ident.service);
      if (!m) throw new ApiError('InvalidAction', `The service ${ident.service} is not offered by this endpoint.`);
      model = m;
      if (wire) {
        queryCompatible = model.awsQueryCompatible;
        // A service whose model does not list the protocol reads the request as its own Query
        // protocol, where it names no Action, and answers in its own envelope.
        if (!model.protocols.includes(wire)) {
          wire = undefined;
          throw Errors.missingAction();
        }
        return await this.serveDocument(req, res, url, payload, documents[wire], wire, model, ident, rid);
      }

      const params = new Map<string, string>();
      const contentType = String(req.headers['content-type'] ?? '');
      for (const [k, v] of new URLSearchParams(rawQuery)) params.set(k, v);
      if (payload.length && (req.method === 'POST' || contentType.includes('x-www-form-urlencoded'))) {
        for (const [k, v] of new URLSearchParams(payload.toString('utf8'))) params.set(k, v);
      }
      refuseXmlForbidden(params);
      const action = params.get('Action');
      params.delete('Action');
      for (const k of [...params.keys()]) if (k.startsWith('X-Amz-')) params.delete(k);
      if (!action) throw Errors.missingAction();
      const op = model.operations.get(action);
      if (!op) throw Errors.invalidAction(action, model.serviceName);
      const version = params.get('Version');
      params.delete('Version');
      if (version === undefined) throw Errors.missingParameter('Version');
      if (version !== model.apiVersion) throw Errors.noSuchVersion(version, model.serviceName);
      if (!this.deps.dispatcher.has(model.signingName, action)) throw Errors.notImplemented(action);

      const input = parsers[model.protocol].parse(op.input, buildParamTree(params));
      const parsedAt = performance.now();
      const output = await this.deps.dispatcher.invoke(invocation(req, ident, model, action, input, rid));
      const xml = renderResponse(model, op, output, rid);
      // Time in the handler and serializer, for benchmarks (bench/api.ts) and browser devtools.
      const dur = (performance.now() - parsedAt).toFixed(2);
      res.writeHead(200, {
        'content-type': 'text/xml;charset=UTF-8',
        'x-amzn-requestid': rid,
        'content-length': Buffer.byteLength(xml),
        'server-timing': `app;dur=${dur}`,
      });
      res.end(xml);
    } catch (e) {
      const err = toApiError(e);
      if (err.status >= 500) this.deps.log?.(`error ${rid}: ${(e as Error)?.stack ?? e}`);
      if (wire) this.sendReply(res, err.status, documents[wire].error(err, queryCompatible), rid);
      else this.sendError(res, model, err, rid);
    }
  }

  /** An authenticated awsJson or RPC v2 CBOR request to a service that speaks it. */
  private async serveDocument(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    body: Buffer,
    doc: DocumentProtocol,
    wire: DocumentWire,
    model: ServiceModel,
    ident: Authenticated,
    rid: string,
  ): Promise<void> {
    if (req.method !== 'POST') throw new ApiError('InvalidHttpRequest', `The ${wire} protocol takes POST requests, not ${req.method}.`, 405);
    let action: string;
    if (wire === 'rpcv2-cbor') {
      // POST /service/GraniteServiceVersion20100801/operation/PutMetricData
      const path = CBOR_PATH.exec(url.pathname);
      if (!path || url.search || path[1] !== model.targetPrefix) throw Errors.unknownOperation(url.pathname);
      // Shape names are [A-Za-z0-9_]: an escaped one names no operation either.
      action = path[2]!;
      const type = String(req.headers['content-type'] ?? '');
      if (body.length && !type.toLowerCase().startsWith('application/cbor')) {
        throw Errors.unsupportedMediaType(type, 'application/cbor');
      }
    } else {
      // X-Amz-Target: GraniteServiceVersion20100801.PutMetricData
      const target = String(req.headers['x-amz-target']);
      const dot = target.lastIndexOf('.');
      if (dot < 0 || target.slice(0, dot) !== model.targetPrefix) throw Errors.unknownOperation(target);
      action = target.slice(dot + 1);
    }
    const op = model.operations.get(action);
    if (!op) throw Errors.unknownOperation(action);
    if (!this.deps.dispatcher.has(model.signingName, action)) throw Errors.notImplemented(action);
    const input = doc.input(op.input, body);
    const parsedAt = performance.now();
    const output = await this.deps.dispatcher.invoke(invocation(req, ident, model, action, input, rid));
    const reply = doc.reply(op.output, output);
    reply.headers['server-timing'] = `app;dur=${(performance.now() - parsedAt).toFixed(2)}`;
    this.sendReply(res, 200, reply, rid);
  }

  private sendReply(res: ServerResponse, status: number, reply: WireReply, rid: string): void {
    res.writeHead(status, { ...reply.headers, 'x-amzn-requestid': rid, 'content-length': reply.body.length });
    res.end(reply.body);
  }

  private async authenticate(req: IncomingRequest): Promise<Authenticated> {
    const { config, accounts } = this.deps;
    if (config.auth === 'permissive') {
      // Local testing of infrastructure code: any key goes, as the account's root user; the scope still routes.
      let parsed: ReturnType<typeof parseAuthorization> | undefined;
      try {
        parsed = parseAuthorization(req);
      } catch {
        parsed = undefined;
      }
      const accountId = await accounts.permissiveAccount(parsed?.accessKeyId);
      return { accountId, region: parsed?.region || config.defaultRegion, service: parsed?.service || 'ec2', principal: rootPrincipal(accountId, parsed?.accessKeyId ?? '') };
    }
    const now = new Date();
    let service = 'ec2';
    try {
      service = parseAuthorization(req).service;
    } catch {
      // verifySigV4 says what is wrong with it.
    }
    let ident: Awaited<ReturnType<typeof verifySigV4>>;
    try {
      ident = await verifySigV4(req, (id) => accounts.secretFor(id), now);
    } catch (e) {
      // An unknown key: EC2's AuthFailure, the other services' InvalidClientTokenId.
      if (isApiError(e) && e.code === 'AuthFailure') throw credentialError(service, 'invalid');
      throw e;
    }
    if (!config.regions.some((r) => r.name === ident.region)) {
      throw Errors.authFailure(`Credential should be scoped to a valid region, not '${ident.region}'.`);
    }
    let principal: Principal;
    try {
      principal = await accounts.principalFor(ident.accessKeyId, sessionTokenOf(req), now);
    } catch (e) {
      if (e instanceof CredentialProblem) throw credentialError(service, e.kind);
      throw e;
    }
    accounts.noteKeyUse(ident.accessKeyId, ident.service, ident.region, now);
    return { accountId: principal.accountId, region: ident.region, service: ident.service, principal };
  }

  private sendError(res: ServerResponse, model: ServiceModel, err: ApiError, rid: string): void {
    const xml = renderError(model.protocol, err, rid, model.protocol === 'query' ? model.xmlNamespace : undefined);
    res.writeHead(err.status, { 'content-type': 'text/xml;charset=UTF-8', 'x-amzn-requestid': rid, 'content-length': Buffer.byteLength(xml) });
    res.end(xml);
  }
}

/**
 * A body sent with Content-Encoding: gzip, inflated. The SDKs gzip bodies of operations with
 * Smithy's @requestCompression (CloudWatch's PutMetricData) once they pass 10 KiB. The limit
 * holds for the inflated size too, so a small bomb cannot take the memory a large body may not.
 */
export function decodeContent(encoding: string | string[] | undefined, body: Buffer, limit: number): Buffer {
  const codings = String(encoding ?? '')
    .split(',')
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c && c !== 'identity');
  if (codings.length === 0) return body;
  if (codings.length > 1 || codings[0] !== 'gzip') {
    throw Errors.unsupportedContentEncoding(String(encoding));
  }
  try {
    return gunzipSync(body, { maxOutputLength: limit });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw Errors.requestTooLarge(limit);
    throw Errors.malformedGzip();
  }
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > limit) {
      req.resume();
      reject(Errors.requestTooLarge(limit));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (c: Buffer) => {
      if (failed) return;
      size += c.length;
      if (size > limit) {
        failed = true;
        reject(Errors.requestTooLarge(limit));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => failed || resolve(Buffer.concat(chunks)));
    req.on('error', (e) => failed || reject(e));
  });
}

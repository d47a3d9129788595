// A TCP proxy in front of PostgreSQL that reads the wire protocol going through it: every statement
// the app sends (simple Query, or Parse + Bind with the bound parameters) and every transaction end
// (a ReadyForQuery with status "idle" after a command). Used only to list the queries of single flows
// (the app is restarted through it for that); the measured runs connect to PostgreSQL directly.
import net from "node:net";

export interface CapturedStatement {
  /** performance.now() when the statement was sent. */
  t: number;
  conn: number;
  sql: string;
  params: (string | null)[];
  /** Parameter type OIDs from Parse (0 = left to the server). */
  paramTypes: number[];
}

export interface PgCapture {
  port: number;
  statements: CapturedStatement[];
  /** performance.now() of each transaction end (explicit COMMIT/ROLLBACK or an implicit transaction). */
  txEnds: { t: number; conn: number }[];
  close(): Promise<void>;
}

const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;

function cstring(buf: Buffer, at: number): [string, number] {
  const end = buf.indexOf(0, at);
  return [buf.toString("utf8", at, end), end + 1];
}

/** Splits a stream into typed messages (1 byte type + int32 length); `startup` handles the untyped first messages. */
class Framer {
  private buf: Buffer = Buffer.alloc(0);
  constructor(
    private startup: boolean,
    private readonly onMessage: (type: number, body: Buffer) => void,
    private readonly onStartup?: (code: number) => void,
  ) {}
  skip = 0;
  push(chunk: Buffer) {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    for (;;) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, this.buf.length);
        this.buf = this.buf.subarray(n);
        this.skip -= n;
        if (this.skip > 0) return;
      }
      if (this.startup) {
        if (this.buf.length < 8) return;
        const len = this.buf.readInt32BE(0);
        if (this.buf.length < len) return;
        const code = this.buf.readInt32BE(4);
        this.buf = this.buf.subarray(len);
        this.onStartup?.(code);
        if (code !== SSL_REQUEST && code !== GSSENC_REQUEST) this.startup = false;
        continue;
      }
      if (this.buf.length < 5) return;
      const len = this.buf.readInt32BE(1);
      if (this.buf.length < 1 + len) return;
      this.onMessage(this.buf[0]!, this.buf.subarray(5, 1 + len));
      this.buf = this.buf.subarray(1 + len);
    }
  }
}

export async function startPgCapture(target: { host: string; port: number }): Promise<PgCapture> {
  const statements: CapturedStatement[] = [];
  const txEnds: { t: number; conn: number }[] = [];
  const sockets = new Set<net.Socket>();
  let nextConn = 1;

  const server = net.createServer((client) => {
    const conn = nextConn++;
    const upstream = net.connect(target.port, target.host);
    sockets.add(client);
    sockets.add(upstream);
    const prepared = new Map<string, { sql: string; types: number[] }>();
    let sslAsked = 0;
    let commandSinceReady = false;

    const front = new Framer(
      true,
      (type, body) => {
        const t = performance.now();
        if (type === 0x51 /* Q */) {
          statements.push({ t, conn, sql: cstring(body, 0)[0], params: [], paramTypes: [] });
        } else if (type === 0x50 /* P */) {
          const [name, a] = cstring(body, 0);
          const [sql, b] = cstring(body, a);
          const n = body.readInt16BE(b);
          const types: number[] = [];
          for (let i = 0; i < n; i++) types.push(body.readInt32BE(b + 2 + 4 * i));
          prepared.set(name, { sql, types });
        } else if (type === 0x42 /* B */) {
          const [, a] = cstring(body, 0);
          const [stmt, b] = cstring(body, a);
          let at = b;
          const nf = body.readInt16BE(at);
          const formats: number[] = [];
          for (let i = 0; i < nf; i++) formats.push(body.readInt16BE(at + 2 + 2 * i));
          at += 2 + 2 * nf;
          const np = body.readInt16BE(at);
          at += 2;
          const params: (string | null)[] = [];
          for (let i = 0; i < np; i++) {
            const len = body.readInt32BE(at);
            at += 4;
            if (len < 0) {
              params.push(null);
              continue;
            }
            const binary = (nf === 1 ? formats[0] : formats[i]) === 1;
            params.push(binary ? `\\x${body.toString("hex", at, at + len)}` : body.toString("utf8", at, at + len));
            at += len;
          }
          const p = prepared.get(stmt);
          statements.push({ t, conn, sql: p?.sql ?? `<unknown prepared statement ${stmt}>`, params, paramTypes: p?.types ?? [] });
        }
      },
      (code) => {
        if (code === SSL_REQUEST || code === GSSENC_REQUEST) sslAsked++;
      },
    );
    const back = new Framer(false, (type, body) => {
      if (type === 0x43 /* C CommandComplete */ || type === 0x45 /* E ErrorResponse */) commandSinceReady = true;
      if (type === 0x5a /* Z ReadyForQuery */) {
        if (commandSinceReady && body[0] === 0x49 /* I */) txEnds.push({ t: performance.now(), conn });
        commandSinceReady = false;
      }
    });

    client.on("data", (d: Buffer) => {
      front.push(d);
      upstream.write(d);
    });
    upstream.on("data", (d: Buffer) => {
      // The answer to an SSL/GSS request is one byte ("N": go on in plain text).
      if (sslAsked > 0) {
        back.skip += sslAsked;
        sslAsked = 0;
      }
      back.push(d);
      client.write(d);
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on("close", end);
    upstream.on("close", end);
    client.on("error", end);
    upstream.on("error", end);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    statements,
    txEnds,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The statement with its literals and whitespace normalized, to group the same query. */
export function normalizeSql(sql: string): string {
  return sql.replace(/\s+/g, " ").trim();
}

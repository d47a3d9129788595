// A round-robin HTTP load balancer for end-to-end tests: every request (not every connection — a
// client's keep-alive connection does not pin it) goes to the next target in turn, and the proxy
// records which target served it. Like a real load balancer it adds X-Forwarded-For/-Proto/-Host.
import http from "node:http";
import type { AddressInfo } from "node:net";

export interface ServedRequest {
  /** Index of the target (replica) that served the request. */
  replica: number;
  method: string;
  /** The path and query as the client asked for it. */
  url: string;
  /** The target's status code (502 when it could not be reached). */
  status: number;
}

export interface RoundRobinProxy {
  /** http://127.0.0.1:<port> */
  url: string;
  /** The targets, in turn order (base URLs such as http://127.0.0.1:1234); may be set after start. */
  targets: string[];
  /** Every request so far, in arrival order. */
  readonly served: ServedRequest[];
  /** Index of the target that the next request will go to. */
  readonly next: number;
  /** The requests served since a position of `served` (e.g. `served.length` taken before a flow). */
  since(position: number): ServedRequest[];
  close(): Promise<void>;
}

// Hop-by-hop headers (RFC 9110 §7.6.1) belong to one connection and are not forwarded.
const HOP_BY_HOP = ["connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"];

function withoutHopByHop(headers: http.IncomingHttpHeaders | http.OutgoingHttpHeaders): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = { ...headers };
  const named = String(headers.connection ?? "")
    .split(",")
    .map((h) => h.trim().toLowerCase())
    .filter(Boolean);
  for (const h of [...HOP_BY_HOP, ...named]) delete out[h];
  return out;
}

export async function startRoundRobinProxy(targets: string[] = []): Promise<RoundRobinProxy> {
  const served: ServedRequest[] = [];
  const agent = new http.Agent({ keepAlive: true });
  let next = 0;
  const server = http.createServer((req, res) => {
    if (proxy.targets.length === 0) {
      req.resume();
      res.writeHead(503, { "content-type": "text/plain" }).end("no targets");
      return;
    }
    const replica = next;
    next = (next + 1) % proxy.targets.length;
    const target = new URL(proxy.targets[replica]!);
    const entry: ServedRequest = { replica, method: req.method ?? "GET", url: req.url ?? "/", status: 0 };
    served.push(entry);
    const headers = withoutHopByHop(req.headers);
    const clientIp = req.socket.remoteAddress ?? "";
    headers["x-forwarded-for"] = req.headers["x-forwarded-for"] ? `${req.headers["x-forwarded-for"]}, ${clientIp}` : clientIp;
    headers["x-forwarded-proto"] = "http";
    headers["x-forwarded-host"] = req.headers.host ?? "";
    const out = http.request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers, agent }, (answer) => {
      entry.status = answer.statusCode ?? 502;
      res.writeHead(entry.status, withoutHopByHop(answer.headers));
      answer.pipe(res);
    });
    out.on("error", () => {
      entry.status = 502;
      if (!res.headersSent) res.writeHead(502, { "content-type": "text/plain" }).end("replica unreachable");
      else res.destroy();
    });
    req.pipe(out);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const proxy: RoundRobinProxy = {
    url: `http://127.0.0.1:${port}`,
    targets,
    served,
    get next() {
      return next;
    },
    since: (position) => served.slice(position),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        agent.destroy();
      }),
  };
  return proxy;
}

// An HTTP proxy in front of the real Hydra admin API that can make chosen requests fail (as if the
// network or Hydra broke at that moment). Everything else is passed through unchanged.
import http from "node:http";
import type { AddressInfo } from "node:net";

export interface HttpFaultProxy {
  url: string;
  /** The next request whose path matches gets a 502 instead of reaching Hydra. */
  failNext(path: RegExp): void;
  close(): Promise<void>;
}

export async function startHttpFaultProxy(target: string): Promise<HttpFaultProxy> {
  const upstream = new URL(target);
  const faults: RegExp[] = [];
  const server = http.createServer((req, res) => {
    const i = faults.findIndex((re) => re.test(req.url ?? ""));
    if (i >= 0) {
      faults.splice(i, 1);
      req.resume();
      res.writeHead(502, { "content-type": "text/plain" }).end("injected failure");
      return;
    }
    const out = http.request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: { ...req.headers, host: upstream.host } },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    out.on("error", () => res.writeHead(502).end());
    req.pipe(out);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    failNext: (path) => void faults.push(path),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

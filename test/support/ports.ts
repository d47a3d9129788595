// A free TCP port on the loopback, for the servers each test file starts.
import net from "node:net";

/** Ports this process handed out already: the kernel may offer a port again once it is closed. */
const handedOut = new Set<number>();

export async function freePort(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const port = await anyFreePort();
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error("freePort: no port that was not handed out already");
}

function anyFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

// A free TCP port on the loopback, for the servers each test file starts.
//
// The port is found by binding it and closing it again; the server that gets it (Hydra, Mailpit, an
// app) binds it a moment later. Between the two another process could take it, and with the kernel's
// bind-to-port-0 two Jest workers were handed the same port now and then ("address already in use").
// So each worker looks in a range of its own, below the kernel's ephemeral range (32768 and up on
// Linux: never handed out for port 0 or outgoing connections), starting at a random place in it.
import net from "node:net";

/** Ports this process handed out already (its own servers may not have bound them yet). */
const handedOut = new Set<number>();

const RANGE_SIZE = 500;
/** Jest workers 1…20 get 20000–29999, anything else (the benchmark, a script) 30000–32499. */
function range(): { start: number; size: number } {
  const worker = Number(process.env.JEST_WORKER_ID);
  if (Number.isInteger(worker) && worker >= 1) return { start: 20_000 + ((worker - 1) % 20) * RANGE_SIZE, size: RANGE_SIZE };
  return { start: 30_000, size: 2_500 };
}

export async function freePort(): Promise<number> {
  const { start, size } = range();
  const first = Math.floor(Math.random() * size);
  for (let i = 0; i < size; i++) {
    const port = start + ((first + i) % size);
    if (handedOut.has(port)) continue;
    if (await isFree(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`freePort: no free port in ${start}–${start + size - 1}`);
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.unref();
    srv.once("error", () => resolve(false));
    srv.listen({ port, host: "127.0.0.1", exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

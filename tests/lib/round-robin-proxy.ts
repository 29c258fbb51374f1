import { connect, createServer, type Socket } from 'node:net';

/**
 * A TCP round-robin balancer on loopback: what a Kubernetes Service (kube-proxy) does for a
 * service's replicas, for drills that run several replicas behind one address. Connections, not
 * requests, are balanced (as kube-proxy does); a backend that refuses the connection (a killed
 * replica) is skipped for the next one, as an endpoint that failed readiness would be, and
 * connections open on a replica that dies are reset, as on a real node.
 */
export interface RoundRobinProxy {
  port: number;
  url: string;
  /** Connections handed to each backend so far (same order as `backends`). */
  readonly connections: number[];
  close(): Promise<void>;
}

export async function startRoundRobinProxy(port: number, backends: number[]): Promise<RoundRobinProxy> {
  if (backends.length === 0) throw new Error('a proxy needs at least one backend');
  const connections = backends.map(() => 0);
  const open = new Set<Socket>();
  let next = 0;

  const forward = (client: Socket, tried: number) => {
    if (tried >= backends.length) {
      client.destroy();
      return;
    }
    const index = next++ % backends.length;
    const upstream = connect(backends[index]!, '127.0.0.1');
    open.add(upstream);
    let established = false;
    upstream.once('connect', () => {
      established = true;
      connections[index]!++;
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
    });
    upstream.on('error', () => {
      // Refused before it was established: this replica is gone, try the next one.
      if (!established) forward(client, tried + 1);
      else client.destroy();
    });
    upstream.on('close', () => {
      open.delete(upstream);
      if (established) client.destroy();
    });
    client.on('close', () => upstream.destroy());
    client.on('error', () => upstream.destroy());
  };

  const server = createServer({ pauseOnConnect: true }, (client) => {
    open.add(client);
    client.on('close', () => open.delete(client));
    forward(client, 0);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    connections,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy();
        server.close(() => resolve());
      }),
  };
}

// Backends that accept connections and then never read: the slow or wedged gateway the
// relay must not let hold back its other targets.
import net, { type AddressInfo, type Socket } from 'node:net';
import { WebSocketServer } from 'ws';

export interface StalledPeer {
  readonly kind: 'tcp' | 'ws';
  readonly url: string;
  /** Connections accepted so far (the relay reconnects when it gives up on one). */
  readonly accepted: number;
  close(): Promise<void>;
}

/**
 * Accepts TCP and reads nothing, not even the upgrade request: pauseOnConnect keeps Node
 * from pulling the first bytes into its own buffer, so the kernel's buffers are all there is.
 */
export async function startStalledTcp(): Promise<StalledPeer> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server = net.createServer({ pauseOnConnect: true }, (socket) => {
    accepted++;
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    kind: 'tcp',
    url: `ws://127.0.0.1:${port}/relay`,
    get accepted() {
      return accepted;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * Completes the WebSocket upgrade, then stops reading the socket: the relay sees an open
 * connection whose writes back up and whose pings are never answered.
 */
export async function startStalledWs(): Promise<StalledPeer> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  await new Promise<void>((resolve, reject) => {
    wss.once('listening', resolve);
    wss.once('error', reject);
  });
  wss.on('connection', (ws, req) => {
    accepted++;
    const socket = req.socket;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    ws.on('error', () => {});
    socket.pause();
  });
  const port = (wss.address() as AddressInfo).port;
  return {
    kind: 'ws',
    url: `ws://127.0.0.1:${port}/relay`,
    get accepted() {
      return accepted;
    },
    close: () =>
      new Promise<void>((resolve) => {
        // A paused socket may never notice its peer went away, so wss.close() alone could wait.
        for (const s of sockets) s.destroy();
        for (const c of wss.clients) c.terminate();
        wss.close(() => resolve());
      }),
  };
}

// The plain senders' sockets: ws clients as a minimal program opens them (no compression).
import { WebSocket } from 'ws';

export function openClient(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

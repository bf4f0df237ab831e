// DNS rebinding defence for loopback servers: a page on evil.example that resolves its
// name to 127.0.0.1 still sends `Host: evil.example`, so only our own names pass.
export function isAllowedHost(host: string | undefined, port: number): boolean {
  if (!host) return false;
  const h = host.toLowerCase();
  return h === `127.0.0.1:${port}` || h === `localhost:${port}`;
}

import { z } from 'zod';

/**
 * One server address as nats.js takes it: `host:port`, or a URL `nats://host:port` (`tls://` too),
 * credentials (`user:pass@`) allowed; without a port, NATS's 4222. A host is a name, an IPv4
 * address or a bracketed IPv6 one.
 */
const ADDRESS = /^(?:(?:nats|tls):\/\/)?(?:[^\s@/]+@)?(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)(?::(\d{1,5}))?$/;

export const natsServerAddress = z.string().refine(
  (text) => {
    const port = ADDRESS.exec(text)?.[1];
    return ADDRESS.test(text) && (port === undefined || (Number(port) >= 1 && Number(port) <= 65_535));
  },
  { error: (issue) => `must be a NATS server, \`host:port\` or \`nats://host:port\`; got '${String(issue.input)}'` },
);

/** Split a comma-separated list (as `RXA_NATS_URL` holds it) into trimmed addresses; empty entries (a trailing comma) are dropped. */
export function splitNatsServers(value: string | readonly string[]): string[] {
  return (typeof value === 'string' ? value.split(',') : value).map((s) => s.trim()).filter((s) => s !== '');
}

/**
 * The servers a connection may use: a comma-separated list or an array, each checked. nats.js
 * connects to one of them and moves to another when it is lost (and learns the rest of a cluster
 * from the one it is on).
 */
export const natsServers = z
  .union([z.string(), z.array(z.string())])
  .transform(splitNatsServers)
  .pipe(z.array(natsServerAddress).min(1, 'must name at least one NATS server'));

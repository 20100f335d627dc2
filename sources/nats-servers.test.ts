import { describe, expect, it } from 'vitest';
import { natsServers } from './nats-servers.ts';

describe('natsServers', () => {
  it('takes one address or a comma-separated list, trimmed, in the forms nats.js connects to', () => {
    expect(natsServers.parse('127.0.0.1:4222')).toEqual(['127.0.0.1:4222']);
    expect(natsServers.parse('a:1, b:2 ,nats://c:3,')).toEqual(['a:1', 'b:2', 'nats://c:3']);
    expect(natsServers.parse(['tls://user:secret@nats.example.com:4443', '[::1]:4222', 'localhost'])).toEqual([
      'tls://user:secret@nats.example.com:4443',
      '[::1]:4222',
      'localhost',
    ]);
  });

  it('refuses what is not a server address, naming it, and an empty list', () => {
    const issues = (input: string | string[]): string[] => natsServers.safeParse(input).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`) ?? [];
    expect(issues('a:1,http://b:2')).toEqual(["1: must be a NATS server, `host:port` or `nats://host:port`; got 'http://b:2'"]);
    expect(issues('a:99999')).toEqual(["0: must be a NATS server, `host:port` or `nats://host:port`; got 'a:99999'"]);
    expect(issues('a b:1')).toHaveLength(1);
    expect(issues(',')).toEqual([': must name at least one NATS server']);
  });
});

// JetStream together with cluster {} would need clustered JetStream (a Raft meta group), which
// tsnats does not have: the server refuses to start with a clear error instead of serving a
// JetStream that the other cluster members cannot see.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startServer } from '../../src/index.js';

describe('jetstream with cluster {}', () => {
  it('is refused at start with a clear error', async () => {
    await assert.rejects(
      startServer({ port: 0, jetstream: true, cluster: { host: '127.0.0.1', port: -1, routes: [], noAdvertise: false, connectRetries: 0 } }),
      /JetStream in a cluster \(clustered JetStream\) is not supported by tsnats yet/,
    );
  });

  it('each alone starts', async () => {
    const js = await startServer({ port: 0, jetstream: true });
    await js.close();
  });
});

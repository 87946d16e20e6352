// JetStream series on /metrics, read at scrape time from the engine (absent while JetStream is off).

import { Counter, Gauge, type Registry } from 'prom-client';
import type { Server } from '../server.js';

export interface JetStreamMetricsView {
  memory: number;
  storage: number;
  apiTotal: number;
  apiErrors: number;
  streams: {
    name: string;
    messages: number;
    bytes: number;
    consumers: { name: string; numPending: number; numAckPending: number; numRedelivered: number; numWaiting: number }[];
  }[];
}

export function registerJetStreamMetrics(registry: Registry, server: Server): void {
  const registers = [registry];
  const view = (): JetStreamMetricsView | undefined => server.jetstream?.metrics();
  const g = (name: string, help: string, read: (v: JetStreamMetricsView) => number): void => {
    new Gauge({
      name,
      help,
      registers,
      collect() {
        this.reset();
        const v = view();
        if (v) this.set(read(v));
      },
    });
  };
  g('tsnats_jetstream_memory_bytes', 'JetStream memory storage in use (bytes).', (v) => v.memory);
  g('tsnats_jetstream_storage_bytes', 'JetStream file storage in use (bytes).', (v) => v.storage);
  g('tsnats_jetstream_streams', 'JetStream streams.', (v) => v.streams.length);
  new Counter({
    name: 'tsnats_jetstream_api_requests_total',
    help: 'JetStream API requests answered.',
    registers,
    collect() {
      this.reset();
      const v = view();
      if (v) this.inc(v.apiTotal);
    },
  });
  new Counter({
    name: 'tsnats_jetstream_api_errors_total',
    help: 'JetStream API requests answered with an error.',
    registers,
    collect() {
      this.reset();
      const v = view();
      if (v) this.inc(v.apiErrors);
    },
  });
  const perStream = (name: string, help: string, read: (s: JetStreamMetricsView['streams'][number]) => number): void => {
    new Gauge({
      name,
      help,
      labelNames: ['stream'],
      registers,
      collect() {
        this.reset();
        for (const s of view()?.streams ?? []) this.set({ stream: s.name }, read(s));
      },
    });
  };
  perStream('tsnats_jetstream_stream_messages', 'Messages stored in a stream.', (s) => s.messages);
  perStream('tsnats_jetstream_stream_bytes', 'Bytes stored in a stream (nats-server accounting).', (s) => s.bytes);
  perStream('tsnats_jetstream_stream_consumers', 'Consumers of a stream.', (s) => s.consumers.length);
  type C = JetStreamMetricsView['streams'][number]['consumers'][number];
  const perConsumer = (name: string, help: string, read: (c: C) => number): void => {
    new Gauge({
      name,
      help,
      labelNames: ['stream', 'consumer'],
      registers,
      collect() {
        this.reset();
        for (const s of view()?.streams ?? []) for (const c of s.consumers) this.set({ stream: s.name, consumer: c.name }, read(c));
      },
    });
  };
  perConsumer('tsnats_jetstream_consumer_num_pending', 'Messages not yet delivered to a consumer.', (c) => c.numPending);
  perConsumer('tsnats_jetstream_consumer_num_ack_pending', 'Messages delivered and not yet acknowledged.', (c) => c.numAckPending);
  perConsumer('tsnats_jetstream_consumer_num_redelivered', 'Messages delivered more than once and not yet acknowledged.', (c) => c.numRedelivered);
  perConsumer('tsnats_jetstream_consumer_num_waiting', 'Pull requests waiting.', (c) => c.numWaiting);
}

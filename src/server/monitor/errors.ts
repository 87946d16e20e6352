// A monitoring request with bad parameters: answered 400 with the message as plain text, as
// nats-server does. In its own module so the listener does not load the endpoints to know it.

export class MonitorRequestError extends Error {}

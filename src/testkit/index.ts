// Public test kit: a throwaway PKI and OCSP test responders for users testing their own
// Must-Staple / OCSP setups against tsnats (and for tsnats' own tests and demo).
export * from './pki.js';
// (one export line per testkit module; the programmable responder adds its own below)
export * from './responder.js';

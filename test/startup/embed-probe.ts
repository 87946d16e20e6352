// `node --import ./module-probe.js embed-probe.js [options JSON]`: what an embedder loads for
// `import('tsnats')` + startServer() (logging on, so the probe sees `Server is ready`).
const { startServer } = await import('../../src/index.js');
await startServer({ options: JSON.parse(process.argv[2] ?? '{}'), log: true });

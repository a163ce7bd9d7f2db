// Preloaded into the broker when the benchmark profiles it (node --cpu-prof -r …): exit normally on
// SIGTERM, so Node writes the CPU profile (a process ended by a signal writes none).
process.once('SIGTERM', () => process.exit(0));

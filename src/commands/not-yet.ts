/** Exit helper for sub-commands whose capability has not been built yet. */
export function notYetAvailable(name: string): never {
  process.stderr.write(`rds-csi ${name}: not yet available in this version\n`);
  process.exit(2);
}

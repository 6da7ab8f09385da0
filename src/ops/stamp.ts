/** A UTC timestamp for file names: 20261122T093000123Z. */
export const stamp = (): string => new Date().toISOString().replace(/[-:.]/g, "");

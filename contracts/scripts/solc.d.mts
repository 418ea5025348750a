/** Types of solc.mjs (the one compiler configuration of the contracts). */
export type SolSources = Record<string, { content: string }>;
export interface SolArtifact {
  readonly abi: unknown[];
  readonly evm: {
    readonly bytecode: { readonly object: string };
    readonly deployedBytecode: { readonly object: string };
  };
}
export function solcVersion(): string;
export function solSources(dir: string, prefix: string): SolSources;
export function compileSolidity(sources: SolSources): Record<string, Record<string, SolArtifact>>;

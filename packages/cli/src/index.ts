export { type Context, createContext, DEFAULT_RPC_URL, type GlobalOptions } from './context.js';
export { CliError, EXIT, type ExitCode, type Failure, REVERT_MESSAGES, toFailure } from './errors.js';
export { formatTable, type Io, toJson } from './io.js';
export {
  type BlsIdentity,
  identityOf,
  readPassphraseFile,
  readSecretKeyFile,
  writeSecretFile,
} from './keyfile.js';
export { buildProgram, run, VERSION } from './run.js';

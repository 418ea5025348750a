import type { Command } from 'commander';
import type { Context } from '../context.js';

/** Builds the context of a command from its (and the program's) parsed options. */
export type ContextOf = (cmd: Command) => Context;

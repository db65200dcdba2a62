import { TurborankError } from '../errors.js';

/** Redis unreachable, a job id that names nothing, or a job that did not finish as asked. */
export class JobError extends TurborankError {}

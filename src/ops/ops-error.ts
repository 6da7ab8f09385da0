// The one error root's jobs throw. Backup, restore and autoupdate run steps
// on files and processes that users can interfere with; a step that must not
// go on (an unsafe path, a database that is not the account's, a command that
// failed, an account root cannot become) throws an OpsError, and the job
// catches it once per instance and reports its message. Everything outside
// src/ops returns `T | Failure` instead (lib/errors.ts).
export class OpsError extends Error {
  override name = "OpsError";
}

// The strict shapes every name must have before it is used as a table key or
// reaches a child process's argv. Shared by the table schema and identity.

/** An Authentik login's local part as the table keys it: `vbarzin`, `emil.barzin`. */
export const USER_NAME_PATTERN = "^[a-z0-9][a-z0-9._-]{0,63}$";

/** A POSIX-portable OS account name (useradd's default rule), never starting with `-`. */
export const OS_USER_PATTERN = "^[a-z_][a-z0-9_-]{0,31}$";

/** A DNS name, lower case: labels of letters, digits and inner hyphens. */
export const DOMAIN_PATTERN = "^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$";

/** A table key: a local part (`vbarzin`) or a full identity (`vbarzin@gmail.com`, matched exactly). */
export const TABLE_KEY_PATTERN = `${USER_NAME_PATTERN.slice(0, -1)}(@${DOMAIN_PATTERN.slice(1, -1)})?$`;

const userName = new RegExp(USER_NAME_PATTERN);
const domain = new RegExp(DOMAIN_PATTERN);
const osUser = new RegExp(OS_USER_PATTERN);

export const isUserName = (value: string): boolean => userName.test(value);
export const isDomain = (value: string): boolean => value.length <= 253 && domain.test(value);
export const isOsUser = (value: string): boolean => osUser.test(value);

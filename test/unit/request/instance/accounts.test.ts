// OS accounts from a passwd-format file: found by name, malformed lines
// ignored, an account added later found on a miss.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Accounts } from "../../../../src/request/instance/accounts";

const dir = mkdtempSync(join(tmpdir(), "t3d-accounts-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("Accounts", () => {
  test("uid, gid and home by name; malformed lines and unknown names are nothing", () => {
    const file = join(dir, "passwd");
    writeFileSync(file, "alice:x:1001:1001::/home/alice:/bin/bash\nbroken line\nbob:x:abc:1002::/home/bob:/bin/sh\n");
    const accounts = new Accounts(file);
    expect(accounts.entryOf("alice")).toEqual({ name: "alice", uid: 1001, gid: 1001, home: "/home/alice" });
    expect([accounts.uidOf("bob"), accounts.uidOf("nobody")]).toEqual([undefined, undefined]);
  });

  test("an account added after start is found once the file is read again (a miss re-reads, at most once a second)", async () => {
    const file = join(dir, "growing");
    writeFileSync(file, "alice:x:1001:1001::/home/alice:/bin/bash\n");
    const accounts = new Accounts(file);
    expect(accounts.uidOf("carol")).toBeUndefined();
    writeFileSync(file, "alice:x:1001:1001::/home/alice:/bin/bash\ncarol:x:1003:1003::/home/carol:/bin/sh\n");
    expect(accounts.uidOf("carol")).toBeUndefined(); // within a second of the last read
    await Bun.sleep(1050);
    expect(accounts.uidOf("carol")).toBe(1003);
  });

  test("a file that cannot be read knows no account (the instance check then refuses)", () => {
    const accounts = new Accounts(join(dir, "missing"));
    expect(accounts.uidOf("alice")).toBeUndefined();
  });
});

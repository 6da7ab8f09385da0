// As the attacker: an "instance" on <port> whose /.well-known/t3/environment
// answers what its owner likes: {"serverVersion": <value>} (mode json), or a
// redirect to <value> (mode redirect). Prints "listening" once bound.
const http = require("node:http");
const [port, mode, value] = process.argv.slice(2);
http
  .createServer((_req, res) => {
    if (mode === "redirect") {
      res.writeHead(302, { location: value });
      return res.end();
    }
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ serverVersion: value }));
  })
  .listen(Number(port), "127.0.0.1", () => console.log("listening"));

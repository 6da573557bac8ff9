// The ceiling for Cloudlet's Node path: a bare `http` server that runs the
// bench handler (argv[2]) in-process on every request and writes its
// statusCode and body. It listens on 127.0.0.1, port argv[3] (0: any free
// port), prints "PORT <n>", and exits when its stdin closes (so it never
// outlives the bench program).
"use strict";
const http = require("http");
const { handler } = require(process.argv[2]);

const server = http.createServer(async (req, res) => {
  const q = req.url.indexOf("?");
  const event = {
    httpMethod: req.method,
    path: q < 0 ? req.url : req.url.slice(0, q),
    headers: req.headers,
    queryStringParameters: q < 0 ? null : Object.fromEntries(new URLSearchParams(req.url.slice(q + 1))),
    body: null,
    isBase64Encoded: false,
  };
  try {
    const r = await handler(event);
    res.writeHead(r.statusCode, { "content-type": "application/json" });
    res.end(r.body);
  } catch (err) {
    res.writeHead(502, { "content-type": "application/json" });
    res.end('{"message":"Internal server error"}');
  }
});

server.listen(Number(process.argv[3] || 0), "127.0.0.1", () => {
  process.stdout.write("PORT " + server.address().port + "\n");
});
process.stdin.on("end", () => process.exit(0));
process.stdin.resume();

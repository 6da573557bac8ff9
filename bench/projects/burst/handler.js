// Arrives at the bench's barrier and answers once it opens.
const http = require("http");

exports.handler = () =>
  new Promise((resolve, reject) => {
    http
      .get(process.env.BARRIER + "/arrive", (res) => {
        res.resume();
        res.on("end", () => resolve({ statusCode: 200, body: "released" }));
      })
      .on("error", reject);
  });

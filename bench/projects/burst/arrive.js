// The baseline of part (e): a bare Node process that loads the same handler,
// arrives at the barrier, and exits once it opens.
require("./handler.js")
  .handler()
  .then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });

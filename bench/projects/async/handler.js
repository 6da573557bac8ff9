// The wall clock in milliseconds with microseconds, as Go's time.Now().
const now = () => performance.timeOrigin + performance.now();

// Invoked directly (RequestResponse or Event): {"n": N}.
exports.event = async (ev) => {
  console.log(`BENCHT ${ev.n} ${now().toFixed(3)}`);
};

// Fed by the queue: each message's body is N.
exports.worker = async (ev) => {
  const t = now().toFixed(3);
  for (const r of ev.Records) console.log(`BENCHT ${r.body} ${t}`);
};

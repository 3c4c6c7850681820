// Drives npm's hot-shots, a statsd / DogStatsD client nobody here wrote, for
// tests/e2e/test_real_clients.py. argv[2]: the directory that holds node_modules/hot-shots;
// argv[3]: JSON {"options": {...constructor options}, "calls": [[method, arg, ...], ...]}, where
// an argument {"$date": <unix seconds>} becomes a Date. Every call is made in order, then the
// client is closed (which sends what it buffered); an error exits non-zero. Math.random is 0,
// so a call with a sample rate below 1 is always sent, with its |@rate.
'use strict';
const path = require('path');

const StatsD = require(path.join(process.argv[2], 'node_modules', 'hot-shots'));
const spec = JSON.parse(process.argv[3]);

function revive(v) {
  if (Array.isArray(v)) return v.map(revive);
  if (v !== null && typeof v === 'object') {
    if (Object.keys(v).length === 1 && '$date' in v) return new Date(v.$date * 1000);
    const out = {};
    for (const [k, x] of Object.entries(v)) out[k] = revive(x);
    return out;
  }
  return v;
}

Math.random = () => 0;
const fail = (err) => {
  console.error(`hot-shots error: ${err && err.stack ? err.stack : err}`);
  process.exitCode = 1;
};
const client = new StatsD(Object.assign({errorHandler: fail}, revive(spec.options || {})));
for (const [method, ...args] of spec.calls) {
  if (typeof client[method] !== 'function') {
    fail(new Error(`hot-shots has no method ${method}`));
    continue;
  }
  client[method](...revive(args));
}
client.close((err) => {
  if (err) fail(err);
});

'use strict';
// Preloaded into the gateway by `bench/ingest --cpu-prof DIR` (NODE_OPTIONS=--require, since node refuses
// --cpu-prof there): profiles the main thread with the inspector and writes a .cpuprofile (open it in Chrome
// DevTools) to BENCH_CPU_PROFILE when the process is told to stop or exits.
const { Session } = require('node:inspector');
const { writeFileSync } = require('node:fs');

const target = process.env.BENCH_CPU_PROFILE;
if (target) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: 1000 });
  session.post('Profiler.start');
  let written = false;
  const write = () => {
    if (written) return;
    written = true;
    // A session on the main thread answers synchronously, so this works inside a signal handler.
    session.post('Profiler.stop', (error, result) => {
      if (!error) writeFileSync(target, JSON.stringify(result.profile));
    });
  };
  process.on('exit', write);
  process.on('SIGTERM', () => {
    write();
    // Only this listener: keep SIGTERM's meaning (stop now).
    if (process.listenerCount('SIGTERM') === 1) process.exit(143);
  });
}

// Named points of a long-running job where a test can kill it, to prove that resuming after a SIGKILL at
// any moment gives the bytes of an uninterrupted run. Off unless the environment asks:
//   LLAVAC_TEST_KILL_AT=<event>:<n>   SIGKILL this process the n-th time this thread reaches <event>
//   LLAVAC_TEST_KILL_TRACE=<file>     append every event reached to <file>, one per line with the thread
//                                     that reached it (to choose points)
// A worker thread kills the whole process, as a real SIGKILL would. Each thread counts its own events.
import { appendFileSync } from "node:fs";
import { threadId } from "node:worker_threads";

const at = /^(.+):(\d+)$/.exec(process.env.LLAVAC_TEST_KILL_AT ?? "");
const killEvent = at?.[1];
const killNth = Number(at?.[2] ?? 0);
const trace = process.env.LLAVAC_TEST_KILL_TRACE;
let seen = 0;

export function killPoint(event: string): void {
  if (trace) appendFileSync(trace, `${event} ${threadId}\n`);
  if (event === killEvent && ++seen >= killNth) process.kill(process.pid, "SIGKILL");
}

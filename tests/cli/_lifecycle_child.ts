// A stand-in server for the lifecycle tests: its shutdown never finishes on
// its own, so the timeout and a second signal decide how it ends.
import { createLogger } from "../../telemetry/log.ts";
import { runUntilSignal } from "../../cli/_runtime.ts";

const never = new Promise<void>(() => {});
const dropped = Promise.withResolvers<void>();
const running = runUntilSignal(
  {
    shutdown: () => never,
    disconnectAll: () => {
      console.log("disconnectAll");
      dropped.resolve();
    },
    finished: dropped.promise,
    close: () => {
      console.log("closed");
      return Promise.resolve();
    },
  },
  createLogger({ level: "debug" }),
  Number(Deno.args[0]),
);
// The signal listeners are in place once runUntilSignal has been called.
console.log("ready");
const code = await running;
console.log(`exit ${code}`);
Deno.exit(code);

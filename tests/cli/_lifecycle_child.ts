// A stand-in server for the lifecycle tests: its shutdown never finishes on
// its own, so the timeout and a second signal decide how it ends; with a
// second argument "fail" its shutdown fails at once (an NBD device whose
// flush failed), and the child prints what runUntilSignal threw.
import { createLogger } from "../../telemetry/log.ts";
import { runUntilSignal } from "../../cli/_runtime.ts";

const never = new Promise<void>(() => {});
const fail = Deno.args[1] === "fail";
const dropped = Promise.withResolvers<void>();
const running = runUntilSignal(
  {
    shutdown: () =>
      fail ? Promise.reject(new Error("Flush failed: test")) : never,
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
try {
  const code = await running;
  console.log(`exit ${code}`);
  Deno.exit(code);
} catch (e) {
  console.log(`threw ${(e as Error).message}`);
  Deno.exit(1);
}

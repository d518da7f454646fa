/// <reference lib="deno.worker" />
/**
 * One worker of {@link serveNbdCluster}: a full NBD server on a shared port
 * (SO_REUSEPORT) serving shared-memory devices.
 *
 * @module
 */

import { type NbdServer, serveNbd, type ServeNbdOptions } from "./server.ts";
import {
  SharedMemoryDevice,
  type SharedMemoryHandle,
} from "./shared_memory_device.ts";

interface Start {
  type: "start";
  options: Omit<ServeNbdOptions, "exports" | "log">;
  exports: { name: string; description?: string; handle: SharedMemoryHandle }[];
}

let server: NbdServer | undefined;

self.onmessage = async (e: MessageEvent<Start | { type: "shutdown" }>) => {
  const m = e.data;
  if (m.type === "start") {
    try {
      server = serveNbd({
        ...m.options,
        reusePort: true,
        exports: m.exports.map((x) => ({
          name: x.name,
          description: x.description,
          device: SharedMemoryDevice.fromHandle(x.handle),
        })),
        log: (message) => self.postMessage({ type: "log", message }),
      });
      self.postMessage({ type: "listening", addr: server.addr });
    } catch (err) {
      self.postMessage({ type: "error", message: (err as Error).message });
    }
  } else if (m.type === "shutdown") {
    await server?.shutdown();
    self.postMessage({ type: "stopped" });
  }
};

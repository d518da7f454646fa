// The Node peer's reply framing past its encoder's first 64 KiB: encodes
// 400 records of 700 bytes with json-pack's one-pass record marking
// (RmRecordEncoder.startRecord / endRecord over its Writer, as the peer's
// Nfsv4FullEncoder frames every COMPOUND reply) and prints each record whose
// record mark is not "last fragment, length of the record". Run by
// bench/_node_peer.ts --framing with the node it installs:
//
//   node bench/_node_peer_framing.mjs PREFIX
import { createRequire } from "node:module";

const require = createRequire(`${process.argv[2]}/package.json`);
const { Writer } = require("@jsonjoy.com/buffers/lib/Writer");
const { RmRecordEncoder } = require(
  "@jsonjoy.com/json-pack/lib/rm/RmRecordEncoder",
);

const writer = new Writer();
const rm = new RmRecordEncoder(writer);
const body = new Uint8Array(700);
let offset = 0;
for (let i = 0; i < 400; i++) {
  const start = rm.startRecord();
  writer.buf(body, body.length);
  rm.endRecord(start);
  const record = writer.flush();
  const mark = new DataView(record.buffer, record.byteOffset).getUint32(0);
  const want = (0x80000000 | (record.length - 4)) >>> 0;
  if (mark !== want) {
    console.log(
      `record ${i} at byte ${offset}: mark 0x${mark.toString(16)}, want 0x${
        want.toString(16)
      }`,
    );
  }
  offset += record.length;
}

/**
 * NFS version 3 (RFC 1813): constants, types, and XDR codecs for every
 * procedure's arguments and results, in both directions (servers decode
 * arguments and encode results; clients and tests do the opposite).
 * server/nfs3/ and client/nfs3.ts are its users, and
 * tests/proto/nfs3_test.ts checks the codecs. `client/mod.ts` re-exports the
 * types and constants the clients' signatures use; the codec functions stay
 * internal.
 *
 * Names: `encodeXArgs`/`decodeXArgs` and `encodeXRes`/`decodeXRes` for
 * procedure X, where procedures of one shape share a codec: `FhArgs`
 * (GETATTR, READLINK, FSSTAT, FSINFO, PATHCONF), `DirOpArgs` (LOOKUP,
 * REMOVE, RMDIR), `ReadArgs` (READ and COMMIT), `WccRes` (SETATTR, REMOVE,
 * RMDIR), `CreateRes` (CREATE, MKDIR, SYMLINK, MKNOD).
 *
 * Results are flat objects: `status` plus the fields of `resok` (when
 * `status` is {@link Nfs3Status.OK}) or `resfail`. Absent optional fields
 * encode as "attributes do not follow".
 *
 * What every decoder promises: it reads only from the reader it is given
 * and throws {@link XdrError} for anything malformed. File handles are at
 * most {@link NFS3_FHSIZE} bytes, names and paths at most
 * {@link NFS3_MAXPATHLEN}, verifiers exactly {@link NFS3_VERFSIZE}, WRITE
 * data at most the caller's `maxData`, and a READDIR entry list is bounded
 * by the bytes left in the reply, so nothing is allocated for a length the
 * message cannot hold. Offsets and sizes in arguments saturate at 2^53
 * instead of failing, 64-bit numbers in results lose precision above 2^53,
 * and directory cookies stay `bigint`.
 *
 * Copies: {@link encodeReadRes} and {@link encodeWriteArgs} pass the data
 * to `XdrWriter.opaqueRef`, so a writer made with `refMin` (the server's
 * replies, `RpcClient`'s calls) sends it without copying; WRITE data and
 * READ results decode as views into the received record.
 *
 * Not here: READDIR's paging by byte count (server/nfs3/readdir.ts counts
 * with {@link entry3Size} and {@link entryplus3Size}), and the mapping from
 * file-system errors to {@link Nfs3Status} (server/nfs3/errors.ts).
 *
 * The code is in `proto/nfs3/`, by responsibility: `types.ts` (constants and
 * the shared types), `attrs.ts` (times, handles, `fattr3`, `wcc_data`,
 * `sattr3`), `args.ts` (every procedure's arguments), `results.ts` (every
 * result but READDIR's), `readdir.ts` (READDIR and READDIRPLUS results and
 * entry sizes), and `_wire.ts` (small helpers the others share, not
 * exported here).
 *
 * @module
 */

export * from "./nfs3/types.ts";
export * from "./nfs3/attrs.ts";
export * from "./nfs3/args.ts";
export * from "./nfs3/results.ts";
export * from "./nfs3/readdir.ts";

/-
The prover's Lean-side interaction server: one long-lived Lean process that imports `Lean` once,
then answers JSON requests with JSON lines.

Channel (chosen because it works on the WebAssembly build, where stdin and FIFOs fail): the client
appends each request as one JSON line to `$PROVER_CHANNEL/requests.jsonl`; this loop keeps the file
open and reads new lines as they arrive (a kept handle sees appended data; every file-system call
costs ~1 ms there, so one read per request instead of a file per request: 10 ms -> ~3 ms a round
trip). Replies go to stdout as one line `@@PROVER:<nonce>@@ <json>`.

The nonce is read once at start from `<channel>/nonce`, which the client deletes as soon as `ready`
arrives, before it sends any request. After that it lives only in the loop's `Server` value, which
elaborated code cannot reach: not in the environment, not in any file, not in the request log. So
code that runs while a request is elaborated (trusted-mode `#eval`, or anything that slips past the
client's guard) cannot frame a reply; the client counts any framed-looking line that is not the one
reply it waits for as an anomaly and kills the process.

Everything here is kept small and monomorphic on purpose: the embedded build ships only the
exported `.olean` level, and compiled code that reaches a private helper of Lean's library fails
with "Unknown constant …" (so: `partial def` loops, structures built directly).

Layout. The server is one file, because the embedded Lean cannot import modules of ours (their
compiled code reaches auxiliary definitions, `…_closed_N`, that only the non-exported `.olean`
levels carry, and the sandboxed build cannot write `.olean` files anyway). It is kept as parts in
`lean_project/ProverServer/`, one job each, which `prover/lean/server_source.py` joins in this
order (a marker comment names each part in the joined file):
  `Header.lean`             this comment, `module` and the imports;
  `Protocol.lean`           protocol version, error categories and record, every request and reply
                            structure with its JSON reading and writing, JSON encoders;
  `StateStore.lean`         stored environments and proof states (id maps, `forget`, `forget_states`);
  `Handlers/Support.lean`   small helpers the handlers share (lists, names, parser context);
  `Handlers/Text.lean`      `exec`, `parse`, `next_command`, `tokens`;
  `Handlers/Audit.lean`     `audit`, `replay`, `decl`;
  `Handlers/Proof.lean`     `open_proof`, `step` (goal rendering, `prover_capture`);
  `Handlers/Terms.lean`     `terms`, `refute`;
  `Loop.lean`               the server value, the dispatch table, `ping`/`exit`/`rotate`, the request
                            loop and the entry point.
Each part after the header opens `namespace ProverServer` and `open Lean Elab` itself and may use
what the parts before it define.
-/
module
-- Only what the server's own code needs, not all of `Lean`: the import is most of the start-up
-- time on the embedded build (measured: `Lean.Elab.Frontend` 34 s vs `Lean` 51 s, same load).
-- The tactics users run (`omega`, `simp`, `grind`, `decide`, ...) are built into the binary and
-- their lemmas live in `Init`, so they work all the same.
public meta import Lean.Elab.Frontend
public meta import Lean.Elab.Tactic.Basic
public meta import Lean.Util.CollectAxioms
public meta import Lean.Data.Json
public meta import Lean.Meta.Instances

/-! ## The state store

What the server keeps between requests: command states ("environments", from `exec` with `keep`)
and proof states (`open_proof`, `step`), each in an id map, an array indexed by id. Ids come from a
monotonic counter (the array's length), so an id is never reused; a forgotten slot becomes `none`,
so its memory is released and a later use of its id is an `unknown_env` / `unknown_state`. -/

namespace ProverServer
open Lean Elab

/-- A hypothesis as rendered for the client, kept with the state so the next step renders only
what changed: valid while the hypothesis (id, name, type, value) and the names of the variables
its type and value mention are unchanged (see `reusable`). -/
meta structure Rendered where
  fvar : FVarId
  name : Name
  type : Expr
  value : Option Expr
  deps : List (FVarId × Name)
  typeStr : String
  valueStr : Option String

/-- A proof state kept in memory: the whole elaboration context and state captured inside a
tactic block (`prover_capture`, or after a `step`), so that a step runs one tactic on it. `tag`
is the client's secret, so a snapshot made by elaborated code is not taken for ours. -/
meta structure Snap where
  tag : String
  coreCtx : Core.Context
  coreSt : Core.State
  metaCtx : Meta.Context
  metaSt : Meta.State
  termCtx : Term.Context
  termSt : Term.State
  tacCtx : Tactic.Context
  goals : List MVarId
  rendered : List Rendered := []

/-- A `Dynamic` holding a snapshot, built as `Dynamic.mk` builds one (a type name and the value):
`Dynamic.mk` and `Dynamic.get?` are implemented by private helpers, which the embedded build
lacks. -/
meta unsafe def snapToDynImpl (sn : Snap) : Dynamic :=
  unsafeCast ((``Snap, (unsafeCast sn : NonScalar)) : Name × NonScalar)

@[implemented_by snapToDynImpl] meta opaque snapToDyn (sn : Snap) : Dynamic

meta unsafe def snapOfDynImpl (d : Dynamic) : Option Snap :=
  let (n, v) := (unsafeCast d : Name × NonScalar)
  if n == ``Snap then some (unsafeCast v) else none

@[implemented_by snapOfDynImpl] meta opaque snapOfDyn (d : Dynamic) : Option Snap

/-- The stored states. Handlers see only this; the transport (`Server`, `Loop.lean`) holds it. -/
meta structure Store where
  -- Command states; slot 0 is the state right after the import and is never forgotten.
  envs : IO.Ref (Array (Option Command.State))
  -- Proof states kept in memory (`open_proof`, `step`).
  states : IO.Ref (Array (Option Snap))

meta def getEnvState (s : Store) (i : Nat) : IO (Option Command.State) := do
  let envs ← s.envs.get
  if h : i < envs.size then return envs[i] else return none

/-- Keep a command state under a new id. -/
meta def storeEnv (s : Store) (st : Command.State) : IO Nat := do
  let envs ← s.envs.get
  s.envs.set (envs.push (some st))
  return envs.size

meta partial def forgetEnvs (s : Store) (ids : List Nat) : IO Unit := do
  match ids with
  | [] => pure ()
  | i :: rest =>
    if i > 0 then s.envs.modify (fun a => if i < a.size then a.set! i none else a)
    forgetEnvs s rest

meta def getSnap (s : Store) (i : Nat) : IO (Option Snap) := do
  let sts ← s.states.get
  if h : i < sts.size then return sts[i] else return none

/-- Keep a proof state under a new id. -/
meta def storeSnap (s : Store) (sn : Snap) : IO Nat := do
  let sts ← s.states.get
  s.states.set (sts.push (some sn))
  return sts.size

meta partial def forgetStates (s : Store) (ids : List Nat) : IO Unit := do
  match ids with
  | [] => pure ()
  | i :: rest =>
    s.states.modify (fun a => if i < a.size then a.set! i none else a)
    forgetStates s rest

meta def liveStates (s : Store) : IO Nat := do
  let sts ← s.states.get
  return count sts 0 0
where
  count (a : Array (Option Snap)) (i n : Nat) : Nat :=
    if h : i < a.size then count a (i + 1) (if a[i].isSome then n + 1 else n) else n
  termination_by a.size - i

/-! The store's own commands. -/

/-- `forget` (see `ForgetReq`). -/
meta def handleForget (s : Store) (r : ForgetReq) : IO (Except ErrorRecord Unit) := do
  forgetEnvs s r.envs.toList
  return .ok ()

/-- `forget_states` (see `ForgetStatesReq`). -/
meta def handleForgetStates (s : Store) (r : ForgetStatesReq) : IO (Except ErrorRecord ForgetStatesReply) := do
  forgetStates s r.states.toList
  return .ok { live := ← liveStates s }

end ProverServer

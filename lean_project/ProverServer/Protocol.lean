/-! ## The protocol (mirrored, type for type, in `prover/lean/protocol.py`)

A request is one JSON object `{"id", "cmd", <fields>}`. A reply is `{"id", "ok": true, <fields>}`
or `{"id", "ok": false, "error": {"category", "desc"}}`, the one error record, whose category is
one of `ErrorCategory`. Each command has a request structure read by its `ofJson` (a missing or
ill-typed field is a `malformed_request` naming the field: nothing is silently defaulted except the
fields documented as optional) and a reply structure written by its `toFields`, both here; its
handler is in a `Handlers/` part (or `StateStore.lean`, `Loop.lean`) and its entry in the dispatch
table `commands` (`Loop.lean`). The `ready` line lists the table, so the client can refuse a server
that does not speak its protocol. -/

namespace ProverServer
open Lean Elab

meta def protocolVersion : Nat := 2

/-- Why a request was refused: the one list of refusal categories. `ErrorCategory` in
`prover/lean/protocol.py` has the same members (`tests/test_protocol.py` compares the two lists). -/
meta inductive ErrorCategory where
  /-- Not JSON, no string `cmd`, or a field missing or ill-typed. -/
  | malformedRequest
  /-- `cmd` names no command of the dispatch table. -/
  | unknownCommand
  /-- No stored environment with that id (never stored, or forgotten). -/
  | unknownEnv
  /-- No stored proof state with that id. -/
  | unknownState
  /-- The proof state has no goal with that index. -/
  | unknownGoal

/-- The category's name on the wire. -/
meta def ErrorCategory.wire : ErrorCategory → String
  | .malformedRequest => "malformed_request"
  | .unknownCommand => "unknown_command"
  | .unknownEnv => "unknown_env"
  | .unknownState => "unknown_state"
  | .unknownGoal => "unknown_goal"

/-- The one error record: every refusal carries a category and a description. -/
meta structure ErrorRecord where
  category : ErrorCategory
  desc : String

meta def ErrorRecord.toJson (e : ErrorRecord) : Json :=
  Json.mkObj [("category", Json.str e.category.wire), ("desc", Json.str e.desc)]

meta def errorReply (id : Json) (e : ErrorRecord) : Json :=
  Json.mkObj [("id", id), ("ok", false), ("error", e.toJson)]

meta def malformed (desc : String) : ErrorRecord := { category := .malformedRequest, desc }

meta def unknownCommand (cmd : String) : ErrorRecord :=
  { category := .unknownCommand, desc := "unknown command `" ++ cmd ++ "`" }

meta def unknownEnv (i : Nat) : ErrorRecord :=
  { category := .unknownEnv, desc := "no stored environment " ++ toString i }

meta def unknownState (i : Nat) : ErrorRecord :=
  { category := .unknownState, desc := "no stored proof state " ++ toString i }

meta def unknownGoal (i g : Nat) : ErrorRecord :=
  { category := .unknownGoal, desc := "state " ++ toString i ++ " has no goal " ++ toString g }

/-! Reading request fields. -/

/-- A field's value; `null` counts as absent. -/
meta def field? (j : Json) (k : String) : Option Json :=
  match j.getObjVal? k with
  | .ok .null => none
  | .ok v => some v
  | .error _ => none

meta def mustBe (k what : String) : ErrorRecord := malformed ("field `" ++ k ++ "` must be " ++ what)

meta def missing (k : String) : ErrorRecord := malformed ("missing field `" ++ k ++ "`")

meta def reqStr (j : Json) (k : String) : Except ErrorRecord String :=
  match field? j k with
  | some (.str t) => .ok t
  | some _ => .error (mustBe k "a string")
  | none => .error (missing k)

meta def optStr (j : Json) (k : String) (d : String) : Except ErrorRecord String :=
  match field? j k with
  | some (.str t) => .ok t
  | some _ => .error (mustBe k "a string")
  | none => .ok d

meta def asNat (k : String) (v : Json) : Except ErrorRecord Nat :=
  match v.getNat? with
  | .ok n => .ok n
  | .error _ => .error (mustBe k "a natural number")

meta def reqNat (j : Json) (k : String) : Except ErrorRecord Nat :=
  match field? j k with
  | some v => asNat k v
  | none => .error (missing k)

meta def optNat (j : Json) (k : String) (d : Nat) : Except ErrorRecord Nat :=
  match field? j k with
  | some v => asNat k v
  | none => .ok d

meta def optNat? (j : Json) (k : String) : Except ErrorRecord (Option Nat) :=
  match field? j k with
  | some v => match asNat k v with
    | .ok n => .ok (some n)
    | .error e => .error e
  | none => .ok none

meta def optBool (j : Json) (k : String) (d : Bool) : Except ErrorRecord Bool :=
  match field? j k with
  | some (.bool b) => .ok b
  | some _ => .error (mustBe k "true or false")
  | none => .ok d

meta partial def strsOf (k : String) (xs : List Json) (acc : Array String) : Except ErrorRecord (Array String) :=
  match xs with
  | [] => .ok acc
  | .str t :: rest => strsOf k rest (acc.push t)
  | _ :: _ => .error (mustBe k "a list of strings")

meta partial def natsOf (k : String) (xs : List Json) (acc : Array Nat) : Except ErrorRecord (Array Nat) :=
  match xs with
  | [] => .ok acc
  | x :: rest => match x.getNat? with
    | .ok n => natsOf k rest (acc.push n)
    | .error _ => .error (mustBe k "a list of natural numbers")

meta def listField (j : Json) (k : String) (required : Bool) : Except ErrorRecord (List Json) :=
  match field? j k with
  | some (.arr a) => .ok a.toList
  | some _ => .error (mustBe k "a list")
  | none => if required then .error (missing k) else .ok []

meta def reqStrs (j : Json) (k : String) : Except ErrorRecord (Array String) := do
  strsOf k (← listField j k true) #[]

meta def optStrs (j : Json) (k : String) : Except ErrorRecord (Array String) := do
  strsOf k (← listField j k false) #[]

meta def reqNats (j : Json) (k : String) : Except ErrorRecord (Array Nat) := do
  natsOf k (← listField j k true) #[]

/-! Writing reply fields. -/

meta def natOrNull : Option Nat → Json
  | some n => toJson n
  | none => Json.null

meta def strOrNull : Option String → Json
  | some t => Json.str t
  | none => Json.null

meta def severityName : MessageSeverity → String
  | .error => "error"
  | .warning => "warning"
  | .information => "info"

meta def messageJson (m : Message) : IO Json := do
  let text ← m.data.toString
  let endPos := m.endPos.getD m.pos
  return Json.mkObj [
    ("severity", severityName m.severity),
    ("kind", Json.str m.data.kind.toString),
    ("line", toJson m.pos.line), ("col", toJson m.pos.column),
    ("end_line", toJson endPos.line), ("end_col", toJson endPos.column),
    ("text", text)]

meta partial def messagesJson (ms : List Message) (acc : Array Json) : IO (Array Json) := do
  match ms with
  | [] => return acc
  | m :: rest => messagesJson rest (acc.push (← messageJson m))

meta partial def strsJson (xs : List String) (acc : Array Json) : Array Json :=
  match xs with
  | [] => acc
  | x :: rest => strsJson rest (acc.push (Json.str x))

/-- Each constant with the module it comes from (`null`: declared in this session's code). On the
embedded build imported theorems come without their proofs and so count as axioms here. -/
meta partial def constsJson (env : Environment) (xs : List Name) (acc : Array Json) : Array Json :=
  match xs with
  | [] => acc
  | x :: rest =>
    let mod := match env.getModuleIdxFor? x with
      | some i => match env.header.moduleNames[i.toNat]? with
        | some m => Json.str m.toString
        | none => Json.null
      | none => Json.null
    constsJson env rest (acc.push (Json.mkObj [("name", Json.str x.toString), ("module", mod)]))

/-- An exception a tactic threw, as a message of the reply. -/
meta def exceptionJson (fm : FileMap) (e : Exception) : IO Json := do
  match e with
  | .error ref msg =>
    let pos := fm.toPosition (ref.getPos?.getD 0)
    let endPos := fm.toPosition (ref.getTailPos?.getD (ref.getPos?.getD 0))
    return Json.mkObj [("severity", "error"), ("kind", Json.str msg.kind.toString),
      ("line", toJson pos.line), ("col", toJson pos.column),
      ("end_line", toJson endPos.line), ("end_col", toJson endPos.column), ("text", ← msg.toString)]
  | .internal _ _ =>
    return Json.mkObj [("severity", "error"), ("kind", ""), ("line", toJson 1), ("col", toJson 0),
      ("end_line", toJson 1), ("end_col", toJson 0), ("text", "internal exception (the tactic aborted)")]

/-! ## Requests and replies, one pair per command

Each request's doc says what its command does. `open_proof` and `step` share `StateReply`;
`forget` and `rotate` reply with no fields; `ping` and `exit` read no fields and reply with one flag
each (`Loop.lean`). -/

/-- `exec`: elaborate `code` as commands on top of stored state `env`; keep the result as a new
state when asked. Lean's own verdicts (errors in the code) are data in the reply. -/
meta structure ExecReq where
  env : Nat
  code : String
  keep : Bool

meta def ExecReq.ofJson (j : Json) : Except ErrorRecord ExecReq := do
  return { env := ← optNat j "env" 0, code := ← reqStr j "code", keep := ← optBool j "keep" false }

meta structure ExecReply where
  messages : Array Json
  elabNs : Nat
  leanNs : Nat
  env : Option Nat

meta def ExecReply.toFields (r : ExecReply) : List (String × Json) :=
  [("messages", Json.arr r.messages), ("elab_ns", toJson r.elabNs), ("lean_ns", toJson r.leanNs),
   ("env", natOrNull r.env)]

/-- `parse`: parse `text` in syntax category `category` (e.g. `tactic`, `term`, `command`)
against stored state `env`, without elaborating anything. -/
meta structure ParseReq where
  env : Nat
  category : String
  text : String

meta def ParseReq.ofJson (j : Json) : Except ErrorRecord ParseReq := do
  return { env := ← optNat j "env" 0, category := ← reqStr j "category", text := ← reqStr j "text" }

/-- Not parsed: `parseError` says why and the syntax fields are empty. -/
meta structure ParseReply where
  parsed : Bool
  parseError : String
  kinds : List String
  atoms : List String
  idents : List String
  tree : Json
  leanNs : Nat

meta def ParseReply.toFields (r : ParseReply) : List (String × Json) :=
  [("parsed", toJson r.parsed), ("parse_error", Json.str r.parseError),
   ("kinds", Json.arr (strsJson r.kinds #[])), ("atoms", Json.arr (strsJson r.atoms #[])),
   ("idents", Json.arr (strsJson r.idents #[])), ("tree", r.tree), ("lean_ns", toJson r.leanNs)]

/-- `next_command`: the command that starts at byte `pos` of `code`, read by Lean's own command
parser (`Parser.parseCommand`, the one `IO.processCommands` uses) in stored state `env`. The reply
carries the command's text (from `pos` to where the parser stopped, comments included) and the
tree of that text parsed again on its own, which is exactly what the client guards and then
elaborates with `exec`; `one` says the text alone is one complete command, `same` that both
parses agree (a command whose reading depends on the text after it is refused by the client). -/
meta structure NextCommandReq where
  env : Nat
  code : String
  pos : Nat

meta def NextCommandReq.ofJson (j : Json) : Except ErrorRecord NextCommandReq := do
  return { env := ← optNat j "env" 0, code := ← reqStr j "code", pos := ← optNat j "pos" 0 }

/-- At the end of the input (`eoi`) the other fields are empty. -/
meta structure NextCommandReply where
  eoi : Bool
  endPos : Nat
  text : String
  errors : Array Json
  one : Bool
  same : Bool
  tree : Json
  leanNs : Nat

meta def NextCommandReply.toFields (r : NextCommandReply) : List (String × Json) :=
  [("eoi", toJson r.eoi), ("end", toJson r.endPos), ("text", Json.str r.text),
   ("errors", Json.arr r.errors), ("one", toJson r.one), ("same", toJson r.same), ("tree", r.tree),
   ("lean_ns", toJson r.leanNs)]

/-- `tokens`: for each text, whether stored state `env` knows it already: a token of its parser,
or the name of a constant or namespace. -/
meta structure TokensReq where
  env : Nat
  tokens : Array String

meta def TokensReq.ofJson (j : Json) : Except ErrorRecord TokensReq := do
  return { env := ← optNat j "env" 0, tokens := ← reqStrs j "tokens" }

meta structure TokensReply where
  known : Array Json

meta def TokensReply.toFields (r : TokensReply) : List (String × Json) := [("known", Json.arr r.known)]

/-- `audit`: what the submitted text in stored state `env` declared that changes what core
names and notation mean, seen from where the statement is elaborated (the current namespace and
its parents, the opened namespaces, and `namespaces`, e.g. the theorem name's own prefix):
declarations that hide a core name there, aliases named like core constants, and instances of
a core class on core types only. -/
meta structure AuditReq where
  env : Nat
  namespaces : Array String

meta def AuditReq.ofJson (j : Json) : Except ErrorRecord AuditReq := do
  return { env := ← optNat j "env" 0, namespaces := ← optStrs j "namespaces" }

/-- Each finding: `{name, problem: "shadows" | "alias" | "core_instance", what: [names]}`. -/
meta structure AuditReply where
  findings : Array Json

meta def AuditReply.toFields (r : AuditReply) : List (String × Json) := [("findings", Json.arr r.findings)]

/-- `replay`: every constant the named declarations of stored state `env` depend on that slot 0
lacks is sent to the kernel again (as lean4checker does), with `heartbeats` thousand heartbeats. -/
meta structure ReplayReq where
  env : Nat
  names : Array String
  heartbeats : Nat

meta def ReplayReq.ofJson (j : Json) : Except ErrorRecord ReplayReq := do
  return { env := ← optNat j "env" 0, names := ← reqStrs j "names",
           heartbeats := ← optNat j "heartbeats" 200000 }

meta structure ReplayReply where
  checked : Nat
  error : Option String
  leanNs : Nat

meta def ReplayReply.toFields (r : ReplayReply) : List (String × Json) :=
  [("checked", toJson r.checked), ("error", strOrNull r.error), ("lean_ns", toJson r.leanNs)]

/-- `decl`: facts about a declaration in stored state `env` that the verifier needs: its kind,
its axioms (`collectAxioms`; `#print axioms` is refused inside a module), and whether its type
is identical (`Expr` equality) to that of a declaration in another stored state. -/
meta structure DeclReq where
  env : Nat
  name : String
  cmpEnv : Option Nat
  cmpName : String

meta def DeclReq.ofJson (j : Json) : Except ErrorRecord DeclReq := do
  let name ← reqStr j "name"
  return { env := ← optNat j "env" 0, name, cmpEnv := ← optNat? j "cmp_env",
           cmpName := ← optStr j "cmp_name" name }

/-- Not found: the other fields are empty. `sameType` only when a comparison was asked for. -/
meta structure DeclReply where
  found : Bool
  kind : String
  axioms : Array Json
  isUnsafe : Bool
  sameType : Option Bool

meta def DeclReply.toFields (r : DeclReply) : List (String × Json) :=
  [("found", toJson r.found), ("kind", Json.str r.kind), ("axioms", Json.arr r.axioms),
   ("unsafe", toJson r.isUnsafe), ("same_type", match r.sameType with | some b => toJson b | none => Json.null)]

/-- `open_proof`: elaborate `code` (a theorem ending in `prover_capture "<tag>"`) on stored
environment `env` and keep the captured state. -/
meta structure OpenProofReq where
  env : Nat
  code : String
  tag : String

meta def OpenProofReq.ofJson (j : Json) : Except ErrorRecord OpenProofReq := do
  return { env := ← optNat j "env" 0, code := ← reqStr j "code", tag := ← reqStr j "tag" }

/-- The result of `open_proof` and `step`: the new state's id and goals, or no state (`none`:
the messages, or `parseError` for a step, say why). `elabNs` is the tactic's own time. -/
meta structure StateReply where
  state : Option Nat
  goals : Array Json
  messages : Array Json
  parseError : Option String
  elabNs : Nat
  leanNs : Nat

meta def StateReply.toFields (r : StateReply) : List (String × Json) :=
  [("state", natOrNull r.state), ("goals", Json.arr r.goals), ("messages", Json.arr r.messages),
   ("parse_error", strOrNull r.parseError), ("elab_ns", toJson r.elabNs), ("lean_ns", toJson r.leanNs)]

/-- `step`: run `tactic` on goal `goal` of stored state `state` (goal 0: see `handleStep`). Heartbeats count from the start
of this tactic alone (`initHeartbeats`), up to `heartbeats` thousand. -/
meta structure StepReq where
  state : Nat
  goal : Nat
  tactic : String
  heartbeats : Nat

meta def StepReq.ofJson (j : Json) : Except ErrorRecord StepReq := do
  return { state := ← reqNat j "state", goal := ← optNat j "goal" 0, tactic := ← reqStr j "tactic",
           heartbeats := ← optNat j "heartbeats" 200000 }

/-- `terms`: the open goals of stored state `state` as typed trees (at most `cap` nodes a goal,
else `too_large`). -/
meta structure TermsReq where
  state : Nat
  cap : Nat

meta def TermsReq.ofJson (j : Json) : Except ErrorRecord TermsReq := do
  return { state := ← reqNat j "state", cap := ← optNat j "cap" 50000 }

meta structure TermsReply where
  goals : Array Json
  leanNs : Nat

meta def TermsReply.toFields (r : TermsReply) : List (String × Json) :=
  [("goals", Json.arr r.goals), ("lean_ns", toJson r.leanNs)]

/-- `refute`: for goal `goal` of stored state `state`, each assignment in `assignments` (a list of
`[fvar id, value term]` pairs) in turn, up to the first the kernel confirms: one status each. -/
meta structure RefuteReq where
  state : Nat
  goal : Nat
  assignments : List Json
  heartbeats : Nat

meta def RefuteReq.ofJson (j : Json) : Except ErrorRecord RefuteReq := do
  return { state := ← reqNat j "state", goal := ← optNat j "goal" 0,
           assignments := ← listField j "assignments" true, heartbeats := ← optNat j "heartbeats" 200000 }

meta structure RefuteReply where
  results : Array Json
  leanNs : Nat

meta def RefuteReply.toFields (r : RefuteReply) : List (String × Json) :=
  [("results", Json.arr r.results), ("lean_ns", toJson r.leanNs)]

/-- `forget`: release stored environments (slot 0 stays). -/
meta structure ForgetReq where
  envs : Array Nat

meta def ForgetReq.ofJson (j : Json) : Except ErrorRecord ForgetReq := do
  return { envs := ← reqNats j "envs" }

/-- `forget_states`: release proof states; the reply counts those still held. -/
meta structure ForgetStatesReq where
  states : Array Nat

meta def ForgetStatesReq.ofJson (j : Json) : Except ErrorRecord ForgetStatesReq := do
  return { states := ← reqNats j "states" }

meta structure ForgetStatesReply where
  live : Nat

meta def ForgetStatesReply.toFields (r : ForgetStatesReply) : List (String × Json) := [("live", toJson r.live)]

/-- `rotate`: continue with the request log `<channel>/<log>` (created by the client, empty; only
the client writes the channel, so the name is trusted), so
the log does not grow without bound. The old handle is released when the reference drops it; the
client deletes the old file once this reply arrives. -/
meta structure RotateReq where
  log : String

meta def RotateReq.ofJson (j : Json) : Except ErrorRecord RotateReq := do
  return { log := ← reqStr j "log" }

end ProverServer

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

open Lean Elab

namespace ProverServer

/-- Stored command states ("environments"): slot 0 is the state right after the import. A
forgotten slot is `none`, so ids stay stable and memory is released. -/
meta structure Server where
  out : IO.FS.Handle
  prefix_ : String
  channel : String
  -- The request log being read; `rotate` swaps it for a fresh file (the client deletes the old).
  requests : IO.Ref IO.FS.Handle
  envs : IO.Ref (Array (Option Command.State))

meta def reply (s : Server) (j : Json) : IO Unit := do
  s.out.putStrLn (s.prefix_ ++ j.compress)
  s.out.flush

meta def errorReply (id : Json) (category : String) (desc : String) : Json :=
  Json.mkObj [("id", id), ("ok", false), ("error", Json.mkObj [("category", category), ("desc", desc)])]

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

meta def getEnvState (s : Server) (i : Nat) : IO (Option Command.State) := do
  let envs ← s.envs.get
  if h : i < envs.size then return envs[i] else return none

/-- `exec`: elaborate `code` as commands on top of stored state `env`; keep the result as a new
state when asked. Lean's own verdicts (errors in the code) are data in the reply. -/
meta def handleExec (s : Server) (id : Json) (envId : Nat) (code : String) (keep : Bool) : IO Json := do
  match ← getEnvState s envId with
  | none => return errorReply id "unknown_env" s!"no stored environment {envId}"
  | some st0 =>
    let st0 := { st0 with messages := {} }
    let input : Parser.InputContext :=
      { inputString := code, fileName := "<prover>", fileMap := code.toFileMap }
    let t0 ← IO.monoNanosNow
    let fs ← IO.processCommands input {} st0
    let t1 ← IO.monoNanosNow
    -- Rendering messages is Lean's work too (pretty-printing goals in errors): timed apart.
    let msgs ← messagesJson fs.commandState.messages.toList #[]
    let t2 ← IO.monoNanosNow
    let mut envJson := Json.null
    if keep then
      let envs ← s.envs.get
      s.envs.set (envs.push (some { fs.commandState with messages := {} }))
      envJson := toJson envs.size
    return Json.mkObj [("id", id), ("ok", true), ("messages", Json.arr msgs),
      ("elab_ns", toJson (t1 - t0)), ("lean_ns", toJson (t2 - t0)), ("env", envJson)]

/-- Node kinds, atoms and identifiers of a syntax tree, for the client's guard. -/
meta structure Summary where
  kinds : List String := []
  atoms : List String := []
  idents : List String := []

mutual
meta partial def syntaxSummary (stx : Syntax) (acc : Summary) : Summary :=
  match stx with
  | .node _ kind args => summaryList args.toList { acc with kinds := kind.toString :: acc.kinds }
  | .atom _ val => { acc with atoms := val :: acc.atoms }
  | .ident _ _ val _ => { acc with idents := val.toString :: acc.idents }
  | .missing => acc

meta partial def summaryList (stxs : List Syntax) (acc : Summary) : Summary :=
  match stxs with
  | [] => acc
  | x :: rest => summaryList rest (syntaxSummary x acc)
end

/-- `parse`: parse `text` in syntax category `category` (e.g. `tactic`, `term`, `command`)
against stored state `env`, without elaborating anything. -/
meta def handleParse (s : Server) (id : Json) (envId : Nat) (category : String) (text : String) : IO Json := do
  match ← getEnvState s envId with
  | none => return errorReply id "unknown_env" s!"no stored environment {envId}"
  | some st =>
    let t0 ← IO.monoNanosNow
    let parsed := Parser.runParserCategory st.env category.toName text "<tactic>"
    let t1 ← IO.monoNanosNow
    match parsed with
    | .error e => return Json.mkObj [("id", id), ("ok", true), ("parsed", false), ("parse_error", e),
        ("lean_ns", toJson (t1 - t0))]
    | .ok stx =>
      let sm := syntaxSummary stx {}
      return Json.mkObj [("id", id), ("ok", true), ("parsed", true), ("lean_ns", toJson (t1 - t0)),
        ("kinds", Json.arr (strsJson sm.kinds #[])),
        ("atoms", Json.arr (strsJson sm.atoms #[])),
        ("idents", Json.arr (strsJson sm.idents #[]))]

/-- `decl`: facts about a declaration in stored state `env` that the verifier needs: its kind,
its axioms (`collectAxioms`; `#print axioms` is refused inside a module), and whether its type
is identical (`Expr` equality) to that of a declaration in another stored state. -/
meta def handleDecl (s : Server) (id : Json) (envId : Nat) (name : String) (cmpEnv : Option Nat)
    (cmpName : String) : IO Json := do
  match ← getEnvState s envId with
  | none => return errorReply id "unknown_env" s!"no stored environment {envId}"
  | some st =>
    -- Inside a module, a declaration without `public` gets a private name.
    let n0 := name.toName
    let n := if st.env.contains n0 then n0 else mkPrivateName st.env n0
    match st.env.find? n with
    | none => return Json.mkObj [("id", id), ("ok", true), ("found", false)]
    | some ci =>
      let kind := match ci with
        | .thmInfo _ => "theorem" | .defnInfo _ => "def" | .axiomInfo _ => "axiom"
        | .opaqueInfo _ => "opaque" | .quotInfo _ => "quot" | .inductInfo _ => "inductive"
        | .ctorInfo _ => "constructor" | .recInfo _ => "recursor"
      let ((), axs) := ((CollectAxioms.collect n).run st.env).run {}
      let axNames := Json.arr (constsJson st.env axs.axioms.toList #[])
      let mut same := Json.null
      match cmpEnv with
      | none => pure ()
      | some j =>
        match ← getEnvState s j with
        | none => return errorReply id "unknown_env" s!"no stored environment {j}"
        | some st2 =>
          let c0 := cmpName.toName
          let c := if st2.env.contains c0 then c0 else mkPrivateName st2.env c0
          same := toJson (match st2.env.find? c with
            | some ci2 => ci2.type == ci.type && ci2.levelParams == ci.levelParams
            | none => false)
      return Json.mkObj [("id", id), ("ok", true), ("found", true), ("kind", kind),
        ("axioms", axNames), ("unsafe", toJson ci.isUnsafe), ("same_type", same)]


meta partial def forgetAll (s : Server) (ids : List Json) : IO Unit := do
  match ids with
  | [] => pure ()
  | j :: rest =>
    match j.getNat? with
    | .ok i => if i > 0 then s.envs.modify (fun a => if i < a.size then a.set! i none else a)
    | .error _ => pure ()
    forgetAll s rest

meta def natField (j : Json) (k : String) (dflt : Nat) : Nat :=
  match j.getObjValAs? Nat k with | .ok v => v | .error _ => dflt

meta def strField (j : Json) (k : String) : String :=
  match j.getObjValAs? String k with | .ok v => v | .error _ => ""

/-- `rotate`: continue with the request log `<channel>/<log>` (created by the client, empty; only
the client writes the channel, so the name is trusted), so
the log does not grow without bound. The old handle is released when the reference drops it; the
client deletes the old file once this reply arrives. -/
meta def handleRotate (s : Server) (id : Json) (log : String) : IO Json := do
  if log.isEmpty then
    return errorReply id "malformed_request" "`rotate` needs a file name in `log`"
  let h ← IO.FS.Handle.mk (s.channel ++ "/" ++ log) .read
  s.requests.set h
  return Json.mkObj [("id", id), ("ok", true), ("rotated", true)]

/-- Dispatch one request; `none` means stop the server (`exit`, answered by the loop). -/
meta def handle (s : Server) (text : String) : IO (Option Json) := do
  match Json.parse text with
  | .error e => return some (errorReply Json.null "malformed_request" s!"request is not JSON: {e}")
  | .ok j =>
    let id := (j.getObjVal? "id").toOption.getD Json.null
    let envId := natField j "env" 0
    match j.getObjValAs? String "cmd" with
    | .error _ => return some (errorReply id "malformed_request" "request has no string field `cmd`")
    | .ok "ping" => return some (Json.mkObj [("id", id), ("ok", true), ("pong", true)])
    | .ok "exit" => return none
    | .ok "rotate" => return some (← handleRotate s id (strField j "log"))
    | .ok "exec" =>
      let keep := match j.getObjValAs? Bool "keep" with | .ok b => b | .error _ => false
      return some (← handleExec s id envId (strField j "code") keep)
    | .ok "parse" => return some (← handleParse s id envId (strField j "category") (strField j "text"))
    | .ok "decl" =>
      let cmpEnv := match j.getObjValAs? Nat "cmp_env" with | .ok v => some v | .error _ => none
      return some (← handleDecl s id envId (strField j "name") cmpEnv (strField j "cmp_name"))
    | .ok "forget" =>
      let ids := match j.getObjVal? "envs" with
        | .ok (.arr a) => a.toList
        | _ => []
      forgetAll s ids
      return some (Json.mkObj [("id", id), ("ok", true)])
    | .ok other => return some (errorReply id "unknown_command" s!"unknown command `{other}`")

/-- Read requests line by line. At the end of the file, poll again at once while requests are
coming (each read is itself ~1 ms there), and every 20 ms after 2 s without one. A line without
its newline is a request still being written: keep it and read on.

While idle, once a second: exit if the channel directory is gone, and write an empty line to
stdout. A client killed with SIGKILL removes nothing, but its end of the pipe closes, so that
write fails and the server ends instead of lingering. -/
meta partial def loop (s : Server) (partial_ : String) (lastNs beatNs : Nat) : IO Unit := do
  let chunk ← (← s.requests.get).getLine
  if chunk.isEmpty then
    let now ← IO.monoNanosNow
    if now - lastNs > 2000000000 then
      if now - beatNs > 1000000000 then
        unless ← (System.FilePath.mk s.channel).pathExists do return
        s.out.putStrLn ""
        s.out.flush
        IO.sleep 20
        loop s partial_ lastNs now
      else
        IO.sleep 20
        loop s partial_ lastNs beatNs
    else
      loop s partial_ lastNs beatNs
  else if chunk.back != '\n' then
    loop s (partial_ ++ chunk) lastNs beatNs
  else
    let text := partial_ ++ chunk
    match ← handle s text with
    | some r =>
      reply s r
      let now ← IO.monoNanosNow
      loop s "" now now
    | none =>
      -- `exit` carries its id like every other reply, so the client can match it.
      let id := match Json.parse text with
        | .ok j => (j.getObjVal? "id").toOption.getD Json.null
        | .error _ => Json.null
      reply s (Json.mkObj [("id", id), ("ok", true), ("bye", true)])

/-- Render an expression in a goal's local context. `MessageDataContext` is built directly
because `MVarId.withContext` reaches a private helper on the embedded build. -/
meta def ppIn (ctx : MessageDataContext) (e : Expr) : IO String :=
  (MessageData.withContext ctx (MessageData.ofExpr e)).toString

/-- A user-facing name: hygienic (inaccessible) names print as `n✝`, as Lean shows them. -/
meta def userNameStr (n : Name) : String :=
  if n.hasMacroScopes then n.eraseMacroScopes.toString ++ "✝" else n.toString

meta partial def hypsJson (ctx : MessageDataContext) (ds : List (Option LocalDecl)) (acc : Array Json) :
    IO (Array Json) := do
  match ds with
  | [] => return acc
  | none :: rest => hypsJson ctx rest acc
  | some d :: rest =>
    if d.isImplementationDetail then hypsJson ctx rest acc else
    let ty ← ppIn ctx d.type
    let val ← match d.value? with
      | some v => pure (Json.str (← ppIn ctx v))
      | none => pure Json.null
    hypsJson ctx rest (acc.push (Json.mkObj [("name", Json.str (userNameStr d.userName)),
      ("type", Json.str ty), ("value", val)]))

/-- The local declarations in order (`PersistentArray.get!`, `toArray` and `foldl` reach private
helpers on the embedded build; `LocalContext.getAt?` does not). -/
meta partial def declList (l : LocalContext) (i : Nat) (acc : List (Option LocalDecl)) :
    List (Option LocalDecl) :=
  if i = 0 then acc else declList l (i - 1) (l.getAt? (i - 1) :: acc)

meta def goalJson (env : Environment) (mctx : MetavarContext) (opts : Options) (g : MVarId) : IO Json := do
  match mctx.findDecl? g with
  | none => return Json.null
  | some decl =>
    let ctx : MessageDataContext := { env, mctx, lctx := decl.lctx, opts }
    let hyps ← hypsJson ctx (declList decl.lctx decl.lctx.decls.size []) #[]
    let target ← ppIn ctx (instantiateMVarsCore mctx decl.type).1
    let pp ← (MessageData.withContext ctx (MessageData.ofGoal g)).toString
    return Json.mkObj [("tag", Json.str (userNameStr decl.userName)), ("hyps", Json.arr hyps),
      ("target", Json.str target), ("pp", Json.str pp)]

meta partial def goalsJson (env : Environment) (mctx : MetavarContext) (opts : Options) (gs : List MVarId)
    (acc : Array Json) : IO (Array Json) := do
  match gs with
  | [] => return acc
  | g :: rest => goalsJson env mctx opts rest (acc.push (← goalJson env mctx opts g))

/-- `prover_goals "<tag>"`: appended by the client after the tactics of a step. It reports the
open goals as structured JSON in an error message starting with the tag (the session nonce). -/
syntax (name := proverGoals) "prover_goals " str : tactic

@[tactic proverGoals] public meta def evalProverGoals : Tactic.Tactic := fun stx => do
  let tag := match stx[1].isStrLit? with | some t => t | none => ""
  let gs ← Tactic.getUnsolvedGoals
  let arr ← goalsJson (← getEnv) (← getMCtx) (← getOptions) gs #[]
  -- Reported as this tactic's own error: it is the one message of a successful step, it adds
  -- no declaration, and nothing else (no "unsolved goals", no sorry warning) is logged.
  throw (.error stx (MessageData.ofFormat (format (tag ++ (Json.arr arr).compress))))

/-- Entry point, run by `#eval` below with the file's own environment (so `prover_goals` is in
it). -/
meta def serve : Command.CommandElabM Unit := do
  let env ← getEnv
  let channel := (← IO.getEnv "PROVER_CHANNEL").getD "/tmp/prover-channel"
  -- Read once; the client deletes the file when `ready` arrives (this FS view is read-only).
  let nonce := ← IO.FS.readFile (channel ++ "/nonce")
  let out ← IO.FS.Handle.mk "/dev/stdout" .write
  let opts : Options := ({} : Options)
    |>.setBool `linter.unusedVariables false
    |>.setBool `linter.all false
  let st := Command.mkState env {} opts
  let st := { st with infoState := { enabled := false } }
  let requests ← IO.mkRef (← IO.FS.Handle.mk (channel ++ "/requests.jsonl") .read)
  let s : Server := { out, prefix_ := "@@PROVER:" ++ nonce ++ "@@ ", channel, requests,
                      envs := ← IO.mkRef #[some st] }
  reply s (Json.mkObj [("id", Json.null), ("ok", true), ("ready", true),
    ("lean_version", Lean.versionString)])
  let now ← IO.monoNanosNow
  loop s "" now now

end ProverServer

#eval ProverServer.serve

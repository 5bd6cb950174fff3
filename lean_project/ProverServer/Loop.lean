/-! ## The loop

The server value (the transport and the store), the dispatch table, and the request loop: read a
line from the request log, dispatch it by its `cmd` through `commands`, write the one framed reply
and flush. The nonce that frames replies lives only in `Server.prefix_`. -/

namespace ProverServer
open Lean Elab

/-- The running server: where replies go, how they are framed, the request log, and the store. -/
meta structure Server where
  out : IO.FS.Handle
  -- `@@PROVER:<nonce>@@ `: the nonce is read once at start and kept only here.
  prefix_ : String
  channel : String
  -- The request log being read; `rotate` swaps it for a fresh file (the client deletes the old).
  requests : IO.Ref IO.FS.Handle
  store : Store

/-- Write one framed reply line and flush. -/
meta def reply (s : Server) (j : Json) : IO Unit := do
  s.out.putStrLn (s.prefix_ ++ j.compress)
  s.out.flush

/-- `rotate` (see `RotateReq`). -/
meta def handleRotate (s : Server) (r : RotateReq) : IO (Except ErrorRecord Unit) := do
  if r.log.isEmpty then
    return .error (malformed "`rotate` needs a file name in `log`")
  let h ← IO.FS.Handle.mk (s.channel ++ "/" ++ r.log) .read
  s.requests.set h
  return .ok ()

/-- A command's handler on the wire: its request read from the JSON object, its reply fields. -/
abbrev Handler := Server → Json → IO (Except ErrorRecord (List (String × Json)))

/-- A command of the loop itself (`ping`, `exit`, `rotate`): its handler sees the whole server. -/
meta def route {α β : Type} (ofJson : Json → Except ErrorRecord α) (h : Server → α → IO (Except ErrorRecord β))
    (toFields : β → List (String × Json)) : Handler := fun s j => do
  match ofJson j with
  | .error e => return .error e
  | .ok r =>
    match ← h s r with
    | .error e => return .error e
    | .ok b => return .ok (toFields b)

/-- Any other command: its handler sees only the store. -/
meta def onStore {α β : Type} (ofJson : Json → Except ErrorRecord α) (h : Store → α → IO (Except ErrorRecord β))
    (toFields : β → List (String × Json)) : Handler :=
  route ofJson (fun s r => h s.store r) toFields

meta def noFields (_ : Unit) : List (String × Json) := []

meta def noArgs (_ : Json) : Except ErrorRecord Unit := .ok ()

/-- The dispatch table: every command the server answers. `exit` stops the loop after its reply. -/
meta def commands : List (String × Handler) := [
  ("ping", route noArgs (fun _ _ => return .ok ()) (fun _ => [("pong", true)])),
  ("exit", route noArgs (fun _ _ => return .ok ()) (fun _ => [("bye", true)])),
  ("rotate", route RotateReq.ofJson handleRotate noFields),
  ("exec", onStore ExecReq.ofJson handleExec ExecReply.toFields),
  ("parse", onStore ParseReq.ofJson handleParse ParseReply.toFields),
  ("next_command", onStore NextCommandReq.ofJson handleNextCommand NextCommandReply.toFields),
  ("tokens", onStore TokensReq.ofJson handleTokens TokensReply.toFields),
  ("decl", onStore DeclReq.ofJson handleDecl DeclReply.toFields),
  ("audit", onStore AuditReq.ofJson handleAudit AuditReply.toFields),
  ("replay", onStore ReplayReq.ofJson handleReplay ReplayReply.toFields),
  ("forget", onStore ForgetReq.ofJson handleForget noFields),
  ("open_proof", onStore OpenProofReq.ofJson handleOpenProof StateReply.toFields),
  ("step", onStore StepReq.ofJson handleStep StateReply.toFields),
  ("terms", onStore TermsReq.ofJson handleTerms TermsReply.toFields),
  ("refute", onStore RefuteReq.ofJson handleRefute RefuteReply.toFields),
  ("forget_states", onStore ForgetStatesReq.ofJson handleForgetStates ForgetStatesReply.toFields)]

meta partial def lookup (cmd : String) (hs : List (String × Handler)) : Option Handler :=
  match hs with
  | [] => none
  | (c, h) :: rest => if c == cmd then some h else lookup cmd rest

meta partial def commandNames (hs : List (String × Handler)) (acc : Array Json) : Array Json :=
  match hs with
  | [] => acc
  | (c, _) :: rest => commandNames rest (acc.push (Json.str c))

meta partial def withFields (fs : List (String × Json)) (acc : List (String × Json)) : List (String × Json) :=
  match fs with
  | [] => revList acc []
  | f :: rest => withFields rest (f :: acc)

/-- Answer one request line; the flag says the server stops after this reply (`exit`). -/
meta def handle (s : Server) (text : String) : IO (Json × Bool) := do
  match Json.parse text with
  | .error e => return (errorReply Json.null (malformed ("request is not JSON: " ++ e)), false)
  | .ok j =>
    let id := (j.getObjVal? "id").toOption.getD Json.null
    match j.getObjValAs? String "cmd" with
    | .error _ => return (errorReply id (malformed "request has no string field `cmd`"), false)
    | .ok cmd =>
      match lookup cmd commands with
      | none => return (errorReply id (unknownCommand cmd), false)
      | some h =>
        match ← h s j with
        | .error e => return (errorReply id e, false)
        | .ok fs => return (Json.mkObj (withFields fs [("ok", true), ("id", id)]), cmd == "exit")

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
    let (r, stop) ← handle s (partial_ ++ chunk)
    reply s r
    unless stop do
      let now ← IO.monoNanosNow
      loop s "" now now

/-- Entry point, run by `#eval` below with the file's own environment (so `prover_capture` is in
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
  let store : Store := { envs := ← IO.mkRef #[some st], states := ← IO.mkRef #[] }
  let s : Server := { out, prefix_ := "@@PROVER:" ++ nonce ++ "@@ ", channel, requests, store }
  reply s (Json.mkObj [("id", Json.null), ("ok", true), ("ready", true),
    ("lean_version", Lean.versionString), ("protocol", toJson protocolVersion),
    ("commands", Json.arr (commandNames commands #[]))])
  let now ← IO.monoNanosNow
  loop s "" now now

end ProverServer

#eval ProverServer.serve

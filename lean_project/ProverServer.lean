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
public meta import Lean.Meta.Instances

open Lean Elab

namespace ProverServer


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

/-- Stored command states ("environments"): slot 0 is the state right after the import. A
forgotten slot is `none`, so ids stay stable and memory is released. -/
meta structure Server where
  out : IO.FS.Handle
  prefix_ : String
  channel : String
  -- The request log being read; `rotate` swaps it for a fresh file (the client deletes the old).
  requests : IO.Ref IO.FS.Handle
  envs : IO.Ref (Array (Option Command.State))
  -- Proof states kept in memory (`open_proof`, `step`); a forgotten slot is `none`.
  states : IO.Ref (Array (Option Snap))

meta def reply (s : Server) (j : Json) : IO Unit := do
  s.out.putStrLn (s.prefix_ ++ j.compress)
  s.out.flush

/-! ## The protocol (mirrored, type for type, in `prover/lean/protocol.py`)

A request is one JSON object `{"id", "cmd", <fields>}`. A reply is `{"id", "ok": true, <fields>}`
or `{"id", "ok": false, "error": {"category", "desc"}}`, the one error record. Each command has a
request structure read by its `ofJson` (a missing or ill-typed field is a `malformed_request`
naming the field: nothing is silently defaulted except the fields documented as optional), a reply
structure written by its `toFields`, and one entry in the dispatch table `commands`. The `ready`
line lists the table, so the client can refuse a server that does not speak its protocol. -/

meta def protocolVersion : Nat := 2

meta structure ErrorRecord where
  category : String
  desc : String

meta def ErrorRecord.toJson (e : ErrorRecord) : Json :=
  Json.mkObj [("category", Json.str e.category), ("desc", Json.str e.desc)]

meta def errorReply (id : Json) (e : ErrorRecord) : Json :=
  Json.mkObj [("id", id), ("ok", false), ("error", e.toJson)]

meta def malformed (desc : String) : ErrorRecord := { category := "malformed_request", desc }

meta def unknownEnv (i : Nat) : ErrorRecord :=
  { category := "unknown_env", desc := "no stored environment " ++ toString i }

meta def unknownState (i : Nat) : ErrorRecord :=
  { category := "unknown_state", desc := "no stored proof state " ++ toString i }

meta def unknownGoal (i g : Nat) : ErrorRecord :=
  { category := "unknown_goal", desc := "state " ++ toString i ++ " has no goal " ++ toString g }

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

meta def getEnvState (s : Server) (i : Nat) : IO (Option Command.State) := do
  let envs ← s.envs.get
  if h : i < envs.size then return envs[i] else return none

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

meta def handleExec (s : Server) (r : ExecReq) : IO (Except ErrorRecord ExecReply) := do
  let code := r.code
  match ← getEnvState s r.env with
  | none => return .error (unknownEnv r.env)
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
    let mut envId := none
    if r.keep then
      let envs ← s.envs.get
      s.envs.set (envs.push (some { fs.commandState with messages := {} }))
      envId := some envs.size
    return .ok { messages := msgs, elabNs := t1 - t0, leanNs := t2 - t0, env := envId }

/-! Syntax trees for the client's guard: every node with its kind, children and byte range
(`r`, from its first to its last token), atoms with their text, identifiers with the components
of the name Lean read (so `«debug».skipKernelTC` and `debug.skipKernelTC` are the same name). -/

meta partial def nameParts (n : Name) (acc : List String) : List String :=
  match n with
  | .anonymous => acc
  | .str p str => nameParts p (str :: acc)
  | .num p k => nameParts p (k.repr :: acc)

meta def rangeJson (stx : Syntax) : Json :=
  match stx.getPos?, stx.getTailPos? with
  | some a, some b => Json.arr #[toJson a.byteIdx, toJson b.byteIdx]
  | _, _ => Json.null

mutual
meta partial def stxJson (stx : Syntax) : Json :=
  match stx with
  | .missing => Json.null
  | .atom _ val => Json.mkObj [("a", Json.str val)]
  | .ident _ _ val _ =>
    Json.mkObj [("i", Json.arr (strsJson (nameParts val []) #[])), ("r", rangeJson stx)]
  | .node _ kind args =>
    Json.mkObj [("k", Json.str kind.toString), ("c", Json.arr (stxArr args 0 #[])), ("r", rangeJson stx)]

meta partial def stxArr (args : Array Syntax) (i : Nat) (acc : Array Json) : Array Json :=
  if h : i < args.size then stxArr args (i + 1) (acc.push (stxJson args[i])) else acc
end

meta def scopeOf (st : Command.State) : Command.Scope :=
  match st.scopes with
  | sc :: _ => sc
  | [] => { header := "" }

meta def parserContext (st : Command.State) : Parser.ParserModuleContext :=
  let sc := scopeOf st
  { env := st.env, options := sc.opts, currNamespace := sc.currNamespace, openDecls := sc.openDecls }

meta def inputOf (code : String) : Parser.InputContext :=
  { inputString := code, fileName := "<prover>", fileMap := code.toFileMap }

meta partial def nameOfParts (parts : List String) (acc : Name) : Name :=
  match parts with
  | [] => acc
  | p :: rest => nameOfParts rest (Name.str acc p)

/-- The declaration a client-side name denotes in stored state `st`: a leading `_root_` is
dropped, else the current namespace is tried first (as Lean resolves a declaration's own name);
inside a module a declaration without `public` has a private name. -/
meta def resolveDecl (st : Command.State) (n0 : Name) : Name :=
  let (rooted, n) := match nameParts n0 [] with
    | "_root_" :: rest => (true, nameOfParts rest Name.anonymous)
    | _ => (false, n0)
  let ns := (scopeOf st).currNamespace
  let tryName (c : Name) : Option Name :=
    if st.env.contains c then some c
    else if st.env.contains (mkPrivateName st.env c) then some (mkPrivateName st.env c) else none
  let first := if rooted || ns.isAnonymous then none else tryName (ns ++ n)
  match first with
  | some c => c
  | none => (tryName n).getD n

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

meta def handleNextCommand (s : Server) (r : NextCommandReq) : IO (Except ErrorRecord NextCommandReply) := do
  let code := r.code
  match ← getEnvState s r.env with
  | none => return .error (unknownEnv r.env)
  | some st =>
    let pm := parserContext st
    let t0 ← IO.monoNanosNow
    let (stx, mps, msgs) := Parser.parseCommand (inputOf code) pm { pos := ⟨r.pos⟩ } {}
    if stx.getKind == `Lean.Parser.Command.eoi then
      let t1 ← IO.monoNanosNow
      return .ok { eoi := true, endPos := mps.pos.byteIdx, text := "", errors := #[], one := false,
                   same := false, tree := Json.null, leanNs := t1 - t0 }
    let text := String.Pos.Raw.extract code ⟨r.pos⟩ mps.pos
    let (stx2, mps2, msgs2) := Parser.parseCommand (inputOf text) pm { pos := ⟨0⟩ } {}
    let (stx3, _, _) := Parser.parseCommand (inputOf text) pm mps2 {}
    let t1 ← IO.monoNanosNow
    let one := stx3.getKind == `Lean.Parser.Command.eoi && !msgs2.hasErrors
    return .ok { eoi := false, endPos := mps.pos.byteIdx, text,
                 errors := ← messagesJson msgs.toList #[], one, same := stx.structEq stx2,
                 tree := stxJson stx2, leanNs := t1 - t0 }

/-- Whether `bs[i:]` is a token of the table (a hand-written walk: `Trie.find?` reaches a
private helper on the embedded build). -/
meta partial def trieHas (t : Lean.Data.Trie Parser.Token) (bs : ByteArray) (i : Nat) : Bool :=
  if i ≥ bs.size then
    match t with
    | .leaf v => v.isSome
    | .node1 v _ _ => v.isSome
    | .node v _ _ => v.isSome
  else
    let b := bs.get! i
    match t with
    | .leaf _ => false
    | .node1 _ c t' => if c == b then trieHas t' bs (i + 1) else false
    | .node _ cs ts => child cs ts b 0
where
  child (cs : ByteArray) (ts : Array (Lean.Data.Trie Parser.Token)) (b : UInt8) (j : Nat) : Bool :=
    if j ≥ cs.size then false
    else if cs.get! j == b then
      match ts[j]? with
      | some t' => trieHas t' bs (i + 1)
      | none => false
    else child cs ts b (j + 1)

meta partial def tokensJson (env : Environment) (xs : List String) (acc : Array Json) : Array Json :=
  match xs with
  | [] => acc
  | t :: rest =>
    -- Known: already a token, or (for a name-like text) the name of a constant or namespace.
    let n := t.toName
    let known := trieHas (Parser.getTokenTable env) t.toUTF8 0 || (!n.isAnonymous && (env.contains n
      || env.contains (mkPrivateName env n) || Lean.Environment.isNamespace env n))
    tokensJson env rest (acc.push (toJson known))

meta structure TokensReq where
  env : Nat
  tokens : Array String

meta def TokensReq.ofJson (j : Json) : Except ErrorRecord TokensReq := do
  return { env := ← optNat j "env" 0, tokens := ← reqStrs j "tokens" }

meta structure TokensReply where
  known : Array Json

meta def TokensReply.toFields (r : TokensReply) : List (String × Json) := [("known", Json.arr r.known)]

meta def handleTokens (s : Server) (r : TokensReq) : IO (Except ErrorRecord TokensReply) := do
  match ← getEnvState s r.env with
  | none => return .error (unknownEnv r.env)
  | some st => return .ok { known := tokensJson st.env r.tokens.toList #[] }

/-! Audits of what submitted text added to an environment, against slot 0 (the state right after
the import, which no submitted text has touched). -/

/-- The names of a constant map's second stage (this session's declarations). Hand-written:
`PersistentHashMap.foldl` reaches a private helper on the embedded build. -/
meta partial def nodeNames (n : PersistentHashMap.Node Name ConstantInfo) (acc : List Name) : List Name :=
  match n with
  | .entries es => entries es 0 acc
  | .collision ks _ _ => keys ks 0 acc
where
  entries (es : Array (PersistentHashMap.Entry Name ConstantInfo (PersistentHashMap.Node Name ConstantInfo)))
      (i : Nat) (acc : List Name) : List Name :=
    if h : i < es.size then
      let acc := match es[i] with
        | .entry k _ => k :: acc
        | .ref n => nodeNames n acc
        | .null => acc
      entries es (i + 1) acc
    else acc
  keys (ks : Array Name) (i : Nat) (acc : List Name) : List Name :=
    if h : i < ks.size then keys ks (i + 1) (ks[i] :: acc) else acc

meta partial def nameMem (n : Name) (xs : List Name) : Bool :=
  match xs with
  | [] => false
  | x :: rest => x == n || nameMem n rest

/-- The constants `e` mentions, added to `acc`. Lean's `getUsedConstants` visits each shared
subterm once: a walk of the tree instead took 110 s on one omega proof (16 cases), where the
kernel check took 2 s. Projections' structures are reached through the projected term's type. -/
meta def constsOf (e : Expr) (acc : List Name) : List Name :=
  addAll e.getUsedConstants 0 acc
where
  addAll (arr : Array Name) (i : Nat) (acc : List Name) : List Name :=
    if h : i < arr.size then
      let n := arr[i]
      addAll arr (i + 1) (if nameMem n acc then acc else n :: acc)
    else acc
  termination_by arr.size - i

meta partial def forallBody (e : Expr) : Expr :=
  match e with
  | .forallE _ _ b _ => forallBody b
  | .mdata _ b => forallBody b
  | _ => e

/-- Whether `e` mentions a type that submitted text declared itself (an inductive, structure,
axiom or opaque constant; a definition counts through its value, so `abbrev MyNat := Nat` does
not make `OfNat MyNat 2` the user's own). -/
meta partial def ownsNew (env env0 : Environment) (fuel : Nat) (xs : List Name) : Bool :=
  match xs with
  | [] => false
  | c :: rest =>
    let mine := if env0.contains c then false else
      match env.find? c with
      | some (.defnInfo v) => fuel > 0 && ownsNew env env0 (fuel - 1) (constsOf v.value [])
      | some (.thmInfo _) => false
      | some _ => true
      | none => false
    mine || ownsNew env env0 fuel rest

meta partial def revList {α : Type} (xs : List α) (acc : List α) : List α :=
  match xs with
  | [] => acc
  | x :: rest => revList rest (x :: acc)

meta partial def prefixesOf (n : Name) (acc : List Name) : List Name :=
  match n with
  | .anonymous => acc
  | .str p _ => prefixesOf p (n :: acc)
  | .num p _ => prefixesOf p (n :: acc)

meta partial def openedNamespaces (ds : List OpenDecl) (acc : List Name) : List Name :=
  match ds with
  | [] => acc
  | .simple ns _ :: rest => openedNamespaces rest (ns :: acc)
  | .explicit _ _ :: rest => openedNamespaces rest acc

/-- The rest of `xs` after the proper prefix `pre`, if it is one. -/
meta partial def stripParts (pre xs : List String) : Option (List String) :=
  match pre, xs with
  | [], [] => none
  | [], rest => some rest
  | p :: ps, x :: rest => if p == x then stripParts ps rest else none
  | _ :: _, [] => none

/-- The core names that `user` hides wherever one of `active` is open: `Foo.False` hides `False`
inside `namespace Foo` or after `open Foo`. -/
meta partial def shadowed (env0 : Environment) (user : List String) (active : List Name)
    (acc : Array Json) : Array Json :=
  match active with
  | [] => acc
  | ns :: rest =>
    let acc := match stripParts (nameParts ns []) user with
      | some r =>
        let hidden := nameOfParts r Name.anonymous
        if env0.contains hidden then acc.push (Json.str hidden.toString) else acc
      | none => acc
    shadowed env0 user rest acc

meta partial def auditNames (env env0 : Environment) (active : List Name) (ns : List Name)
    (acc : Array Json) : Array Json :=
  match ns with
  | [] => acc
  | n :: rest =>
    if env0.contains n then auditNames env env0 active rest acc else
    let user := (privateToUserName? n).getD n
    if user.isInternal || user.hasMacroScopes then auditNames env env0 active rest acc else
    let hides := shadowed env0 (nameParts user []) active
      (if env0.contains user then #[Json.str user.toString] else #[])
    let acc := if hides.size > 0 then
      acc.push (Json.mkObj [("name", Json.str user.toString), ("problem", "shadows"),
        ("what", Json.arr hides)]) else acc
    let acc := if Meta.isInstanceCore env n then
      match env.find? n with
      | some ci =>
        let concl := forallBody ci.type
        match concl.getAppFn with
        | .const cls _ =>
          if env0.contains cls && !ownsNew env env0 8 (constsOf concl []) then
            acc.push (Json.mkObj [("name", Json.str user.toString), ("problem", "core_instance"),
              ("what", Json.arr #[Json.str cls.toString])])
          else acc
        | _ => acc
      | none => acc
    else acc
    auditNames env env0 active rest acc

/-- `open Foo (x)` and `open Foo renaming x → y` make aliases: one named like a core constant
hides it. -/
meta partial def aliasFindings (env0 : Environment) (ds : List OpenDecl) (acc : Array Json) : Array Json :=
  match ds with
  | [] => acc
  | .explicit al decl :: rest =>
    let acc := if env0.contains al && al != decl then
      acc.push (Json.mkObj [("name", Json.str al.toString), ("problem", "alias"),
        ("what", Json.arr #[Json.str decl.toString])]) else acc
    aliasFindings env0 rest acc
  | .simple _ _ :: rest => aliasFindings env0 rest acc

meta partial def namesOf (xs : List String) (acc : List Name) : List Name :=
  match xs with
  | [] => acc
  | x :: rest => namesOf rest (x.toName :: acc)

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

meta def handleAudit (s : Server) (r : AuditReq) : IO (Except ErrorRecord AuditReply) := do
  match ← getEnvState s r.env, ← getEnvState s 0 with
  | some st, some st0 =>
    let sc := scopeOf st
    let active := openedNamespaces sc.openDecls (prefixesOf sc.currNamespace (namesOf r.namespaces.toList []))
    let found := auditNames st.env st0.env active (nodeNames st.env.constants.map₂.root []) #[]
    return .ok { findings := aliasFindings st0.env sc.openDecls found }
  | _, _ => return .error (unknownEnv r.env)

/-- Kernel replay (as lean4checker does): every constant the given declarations depend on that
slot 0 lacks is sent to the kernel again, in dependency order, on top of slot 0's environment,
where kernel checking was never switched off. Constructors and recursors are regenerated by their
inductive and compared with the submitted ones. -/
meta partial def replayConst (env env0 : Environment) (kenv : IO.Ref Kernel.Environment)
    (done : IO.Ref (List Name)) (opts : Options) (n : Name) : IO (Option String) := do
  if env0.contains n || nameMem n (← done.get) then return none
  done.modify (n :: ·)
  match env.find? n with
  | none => return some ("unknown constant " ++ n.toString)
  | some ci =>
    if ci.isUnsafe then return some ("`" ++ n.toString ++ "` is unsafe")
    let deps := constsOf ci.type (match ci.value? (allowOpaque := true) with
      | some v => constsOf v []
      | none => [])
    if let some err ← replayList env env0 kenv done opts deps then return some err
    let add (d : Declaration) : IO (Option String) := do
      match (← kenv.get).addDecl opts d with
      | .ok k => kenv.set k; return none
      | .error e => return some ("kernel: " ++ (← (e.toMessageData opts).toString))
    match ci with
    | .defnInfo v => add (.defnDecl v)
    | .thmInfo v => add (.thmDecl v)
    | .axiomInfo v => add (.axiomDecl v)
    | .opaqueInfo v => add (.opaqueDecl v)
    | .inductInfo v =>
      -- The whole mutual block and its constructors are added by this one declaration.
      markInductives env done v.all
      match ← inductiveTypes env env0 kenv done opts v.all [] with
      | .error err => return some err
      | .ok types => add (.inductDecl v.levelParams v.numParams types v.isUnsafe)
    | .ctorInfo v => generated env env0 kenv done opts n ci.type v.induct
    | .recInfo v =>
      match v.all with
      | i :: _ => generated env env0 kenv done opts n ci.type i
      | [] => return some ("recursor without inductive " ++ n.toString)
    | .quotInfo _ => return some ("quotient declaration " ++ n.toString)
where
  replayList (env env0 : Environment) (kenv : IO.Ref Kernel.Environment) (done : IO.Ref (List Name))
      (opts : Options) (xs : List Name) : IO (Option String) := do
    match xs with
    | [] => return none
    | x :: rest =>
      match ← replayConst env env0 kenv done opts x with
      | some err => return some err
      | none => replayList env env0 kenv done opts rest
  /-- A constructor or recursor: replay its inductive, then it must exist with the same type. -/
  generated (env env0 : Environment) (kenv : IO.Ref Kernel.Environment) (done : IO.Ref (List Name))
      (opts : Options) (n : Name) (ty : Expr) (ind : Name) : IO (Option String) := do
    if let some err ← replayConst env env0 kenv done opts ind then return some err
    match (← kenv.get).find? n with
    | some ci' => return if ci'.type == ty then none else some ("`" ++ n.toString ++ "` differs from its kernel-generated version")
    | none => return some ("`" ++ n.toString ++ "` was not generated by its inductive")
  markInductives (env : Environment) (done : IO.Ref (List Name)) (all : List Name) : IO Unit := do
    match all with
    | [] => pure ()
    | t :: rest =>
      done.modify (t :: ·)
      match env.find? t with
      | some (.inductInfo v) => markNames done v.ctors
      | _ => pure ()
      markInductives env done rest
  markNames (done : IO.Ref (List Name)) (ns : List Name) : IO Unit := do
    match ns with
    | [] => pure ()
    | n :: rest => done.modify (n :: ·); markNames done rest
  ctors (env env0 : Environment) (kenv : IO.Ref Kernel.Environment) (done : IO.Ref (List Name))
      (opts : Options) (cs : List Name) (acc : List Constructor) : IO (Except String (List Constructor)) := do
    match cs with
    | [] => return .ok (revList acc [])
    | c :: rest =>
      match env.find? c with
      | some ci =>
        if let some err ← replayList env env0 kenv done opts (constsOf ci.type []) then return .error err
        ctors env env0 kenv done opts rest ({ name := c, type := ci.type } :: acc)
      | none => return .error ("unknown constructor " ++ c.toString)
  inductiveTypes (env env0 : Environment) (kenv : IO.Ref Kernel.Environment) (done : IO.Ref (List Name))
      (opts : Options) (all : List Name) (acc : List InductiveType) : IO (Except String (List InductiveType)) := do
    match all with
    | [] => return .ok (revList acc [])
    | t :: rest =>
      match env.find? t with
      | some (.inductInfo v) =>
        match ← ctors env env0 kenv done opts v.ctors [] with
        | .error err => return .error err
        | .ok cs => inductiveTypes env env0 kenv done opts rest ({ name := t, type := v.type, ctors := cs } :: acc)
      | _ => return .error ("unknown inductive " ++ t.toString)

meta partial def listLen {α : Type} (xs : List α) (acc : Nat) : Nat :=
  match xs with
  | [] => acc
  | _ :: rest => listLen rest (acc + 1)

meta partial def replayNames (st : Command.State) (env0 : Environment) (kenv : IO.Ref Kernel.Environment)
    (done : IO.Ref (List Name)) (opts : Options) (names : List String) : IO (Option String) := do
  match names with
  | [] => return none
  | j :: rest =>
    let n0 := j.toName
    let n := resolveDecl st n0
    if !st.env.contains n then return some ("unknown constant " ++ n0.toString)
    match ← replayConst st.env env0 kenv done opts n with
    | some err => return some err
    | none => replayNames st env0 kenv done opts rest

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

meta def handleReplay (s : Server) (r : ReplayReq) : IO (Except ErrorRecord ReplayReply) := do
  match ← getEnvState s r.env, ← getEnvState s 0 with
  | some st, some st0 =>
    let t0 ← IO.monoNanosNow
    let kenv ← IO.mkRef st0.env.toKernelEnv
    let done ← IO.mkRef ([] : List Name)
    let opts : Options := ({} : Options).setNat `maxHeartbeats r.heartbeats
    let err ← replayNames st st0.env kenv done opts r.names.toList
    let t1 ← IO.monoNanosNow
    return .ok { checked := listLen (← done.get) 0, error := err, leanNs := t1 - t0 }
  | _, _ => return .error (unknownEnv r.env)

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

meta def handleParse (s : Server) (r : ParseReq) : IO (Except ErrorRecord ParseReply) := do
  match ← getEnvState s r.env with
  | none => return .error (unknownEnv r.env)
  | some st =>
    let t0 ← IO.monoNanosNow
    let parsed := Parser.runParserCategory st.env r.category.toName r.text "<tactic>"
    let t1 ← IO.monoNanosNow
    match parsed with
    | .error e => return .ok { parsed := false, parseError := e, kinds := [], atoms := [], idents := [],
                               tree := Json.null, leanNs := t1 - t0 }
    | .ok stx =>
      let sm := syntaxSummary stx {}
      return .ok { parsed := true, parseError := "", kinds := sm.kinds, atoms := sm.atoms,
                   idents := sm.idents, tree := stxJson stx, leanNs := t1 - t0 }

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

meta def handleDecl (s : Server) (r : DeclReq) : IO (Except ErrorRecord DeclReply) := do
  match ← getEnvState s r.env with
  | none => return .error (unknownEnv r.env)
  | some st =>
    let n := resolveDecl st r.name.toName
    match st.env.find? n with
    | none => return .ok { found := false, kind := "", axioms := #[], isUnsafe := false, sameType := none }
    | some ci =>
      let kind := match ci with
        | .thmInfo _ => "theorem" | .defnInfo _ => "def" | .axiomInfo _ => "axiom"
        | .opaqueInfo _ => "opaque" | .quotInfo _ => "quot" | .inductInfo _ => "inductive"
        | .ctorInfo _ => "constructor" | .recInfo _ => "recursor"
      let ((), axs) := ((CollectAxioms.collect n).run st.env).run {}
      let axioms := constsJson st.env axs.axioms.toList #[]
      let mut same := none
      match r.cmpEnv with
      | none => pure ()
      | some j =>
        match ← getEnvState s j with
        | none => return .error (unknownEnv j)
        | some st2 =>
          let c := resolveDecl st2 r.cmpName.toName
          same := some (match st2.env.find? c with
            | some ci2 => ci2.type == ci.type && ci2.levelParams == ci.levelParams
            | none => false)
      return .ok { found := true, kind, axioms, isUnsafe := ci.isUnsafe, sameType := same }


meta partial def forgetAll (s : Server) (ids : List Nat) : IO Unit := do
  match ids with
  | [] => pure ()
  | i :: rest =>
    if i > 0 then s.envs.modify (fun a => if i < a.size then a.set! i none else a)
    forgetAll s rest

/-- `forget`: release stored environments (slot 0 stays). -/
meta structure ForgetReq where
  envs : Array Nat

meta def ForgetReq.ofJson (j : Json) : Except ErrorRecord ForgetReq := do
  return { envs := ← reqNats j "envs" }

meta def handleForget (s : Server) (r : ForgetReq) : IO (Except ErrorRecord Unit) := do
  forgetAll s r.envs.toList
  return .ok ()

/-- `rotate`: continue with the request log `<channel>/<log>` (created by the client, empty; only
the client writes the channel, so the name is trusted), so
the log does not grow without bound. The old handle is released when the reference drops it; the
client deletes the old file once this reply arrives. -/
meta structure RotateReq where
  log : String

meta def RotateReq.ofJson (j : Json) : Except ErrorRecord RotateReq := do
  return { log := ← reqStr j "log" }

meta def handleRotate (s : Server) (r : RotateReq) : IO (Except ErrorRecord Unit) := do
  if r.log.isEmpty then
    return .error (malformed "`rotate` needs a file name in `log`")
  let h ← IO.FS.Handle.mk (s.channel ++ "/" ++ r.log) .read
  s.requests.set h
  return .ok ()

/-- Render an expression in a goal's local context. `MessageDataContext` is built directly
because `MVarId.withContext` reaches a private helper on the embedded build. -/
meta def ppIn (ctx : MessageDataContext) (e : Expr) : IO String :=
  (MessageData.withContext ctx (MessageData.ofExpr e)).toString

/-- A user-facing name: hygienic (inaccessible) names print as `n✝`, as Lean shows them. -/
meta def userNameStr (n : Name) : String :=
  if n.hasMacroScopes then n.eraseMacroScopes.toString ++ "✝" else n.toString

/-- The local declarations in order (`PersistentArray.get!`, `toArray` and `foldl` reach private
helpers on the embedded build; `LocalContext.getAt?` does not). -/
meta partial def declList (l : LocalContext) (i : Nat) (acc : List (Option LocalDecl)) :
    List (Option LocalDecl) :=
  if i = 0 then acc else declList l (i - 1) (l.getAt? (i - 1) :: acc)

/-! Rendering goals. Pretty-printing is most of a step's cost in a deep proof (about 2 ms a
hypothesis here), so each hypothesis rendered is kept with the new state (`Rendered`) and the next
step reuses it when nothing it depends on changed; the goal's `pp` is then laid out from those
pieces as `ppGoal` lays it out. Where that layout could differ from Lean's (a repeated name, which
Lean renders as `x✝`; a `let`; a long or multi-line piece) the goal is rendered by Lean whole. -/

meta partial def fvarsOf (e : Expr) (acc : List FVarId) : List FVarId :=
  if !e.hasFVar then acc else
  match e with
  | .fvar f => f :: acc
  | .app f a => fvarsOf a (fvarsOf f acc)
  | .lam _ t b _ => fvarsOf b (fvarsOf t acc)
  | .forallE _ t b _ => fvarsOf b (fvarsOf t acc)
  | .letE _ t v b _ => fvarsOf b (fvarsOf v (fvarsOf t acc))
  | .mdata _ b => fvarsOf b acc
  | .proj _ _ b => fvarsOf b acc
  | _ => acc

meta partial def depsOf (lctx : LocalContext) (fs : List FVarId) (acc : List (FVarId × Name)) :
    List (FVarId × Name) :=
  match fs with
  | [] => acc
  | f :: rest => depsOf lctx rest (match lctx.find? f with | some d => (f, d.userName) :: acc | none => acc)

meta partial def depsOk (lctx : LocalContext) (deps : List (FVarId × Name)) : Bool :=
  match deps with
  | [] => true
  | (f, n) :: rest => (match lctx.find? f with | some d => d.userName == n | none => false) && depsOk lctx rest

meta def optExprEq : Option Expr → Option Expr → Bool
  | none, none => true
  | some a, some b => a == b
  | _, _ => false

meta partial def reusable (cache : List Rendered) (lctx : LocalContext) (d : LocalDecl) (ty : Expr)
    (val : Option Expr) : Option Rendered :=
  match cache with
  | [] => none
  | r :: rest =>
    if r.fvar == d.fvarId && r.name == d.userName && r.type == ty && optExprEq r.value val
        && depsOk lctx r.deps then some r
    else reusable rest lctx d ty val

/-- The goal's hypotheses rendered (reusing `cache`), in context order. -/
meta partial def renderHyps (ctx : MessageDataContext) (cache : List Rendered) (ds : List (Option LocalDecl))
    (acc : Array Rendered) : IO (Array Rendered) := do
  match ds with
  | [] => return acc
  | none :: rest => renderHyps ctx cache rest acc
  | some d :: rest =>
    if d.isImplementationDetail then renderHyps ctx cache rest acc else
    let ty := (instantiateMVarsCore ctx.mctx d.type).1
    let val := match d.value? with
      | some v => some (instantiateMVarsCore ctx.mctx v).1
      | none => none
    match reusable cache ctx.lctx d ty val with
    | some r => renderHyps ctx cache rest (acc.push r)
    | none =>
      let typeStr ← ppIn ctx ty
      let valueStr ← match val with
        | some v => pure (some (← ppIn ctx v))
        | none => pure none
      let fs := fvarsOf ty (match val with | some v => fvarsOf v [] | none => [])
      let r : Rendered := { fvar := d.fvarId, name := d.userName, type := ty, value := val,
                            deps := depsOf ctx.lctx fs [], typeStr, valueStr }
      renderHyps ctx cache rest (acc.push r)

meta partial def hypsJsonOf (rs : List Rendered) (acc : Array Json) : Array Json :=
  match rs with
  | [] => acc
  | r :: rest =>
    hypsJsonOf rest (acc.push (Json.mkObj [("name", Json.str (userNameStr r.name)), ("type", Json.str r.typeStr),
      ("value", match r.valueStr with | some v => Json.str v | none => Json.null)]))

meta partial def nameIn (n : Name) (rs : List Rendered) : Bool :=
  match rs with
  | [] => false
  | r :: rest => r.name == n || nameIn n rest

/-- Whether `ppGoal`'s layout can be reproduced from the pieces: no repeated name, no `let`, every
piece one short line (`ppGoal` groups and wraps with `Format`; short lines never wrap). -/
meta partial def simpleLayout (rs : List Rendered) : Bool :=
  match rs with
  | [] => true
  | r :: rest => r.valueStr.isNone && !nameIn r.name rest && r.typeStr.length ≤ 80
      && !r.typeStr.contains '\n' && simpleLayout rest

/-- `ppGoal`'s layout: consecutive hypotheses of the same type share a line (`x y : Nat`). -/
meta partial def layoutHyps (rs : List Rendered) (names : String) (prev : Option Rendered) (acc : String) :
    String :=
  match rs, prev with
  | [], none => acc
  | [], some p => acc ++ names ++ " : " ++ p.typeStr ++ "\n"
  | r :: rest, none => layoutHyps rest (userNameStr r.name) (some r) acc
  | r :: rest, some p =>
    if r.type == p.type then layoutHyps rest (names ++ " " ++ userNameStr r.name) (some p) acc
    else layoutHyps rest (userNameStr r.name) (some r) (acc ++ names ++ " : " ++ p.typeStr ++ "\n")

meta def goalJson (env : Environment) (mctx : MetavarContext) (opts : Options) (cache : List Rendered)
    (g : MVarId) : IO (Json × Array Rendered) := do
  match mctx.findDecl? g with
  | none => return (Json.null, #[])
  | some decl =>
    let ctx : MessageDataContext := { env, mctx, lctx := decl.lctx, opts }
    let rs ← renderHyps ctx cache (declList decl.lctx decl.lctx.decls.size []) #[]
    let target ← ppIn ctx (instantiateMVarsCore mctx decl.type).1
    let pp ← if simpleLayout rs.toList && target.length ≤ 100 && !target.contains '\n' then
        let caseLine := if decl.userName.isAnonymous then "" else "case " ++ decl.userName.eraseMacroScopes.toString ++ "\n"
        pure (caseLine ++ layoutHyps rs.toList "" none "" ++ "⊢ " ++ target)
      else (MessageData.withContext ctx (MessageData.ofGoal g)).toString
    return (Json.mkObj [("tag", Json.str (userNameStr decl.userName)), ("hyps", Json.arr (hypsJsonOf rs.toList #[])),
      ("target", Json.str target), ("pp", Json.str pp)], rs)

meta partial def pushAll (xs : List Rendered) (acc : List Rendered) : List Rendered :=
  match xs with
  | [] => acc
  | x :: rest => pushAll rest (x :: acc)

/-- The goals rendered, and every hypothesis rendering made or reused (the new state's cache). -/
meta partial def goalsJson (env : Environment) (mctx : MetavarContext) (opts : Options) (cache : List Rendered)
    (gs : List MVarId) (acc : Array Json) (made : List Rendered) : IO (Array Json × List Rendered) := do
  match gs with
  | [] => return (acc, made)
  | g :: rest =>
    let (j, rs) ← goalJson env mctx opts cache g
    goalsJson env mctx opts cache rest (acc.push j) (pushAll rs.toList made)

/-! In-memory proof states. `open_proof` elaborates the statement with the tactic block
`prover_capture "<tag>"`, which captures the elaboration context and state and throws them out
inside its error message (`MessageData.ofLazy` holding a `Dynamic`: the `@[tactic]` elaborator
cannot reach the server's references, and an `initialize`d one cannot be used in the file that
declares it). `step` restores a snapshot and runs one tactic on one of its goals. -/

meta def captureSnap (tag : String) (goals : List MVarId) : Tactic.TacticM Snap := do
  return { tag, coreCtx := ← readThe Core.Context, coreSt := ← getThe Core.State,
           metaCtx := ← readThe Meta.Context, metaSt := ← getThe Meta.State,
           termCtx := ← readThe Term.Context, termSt := ← getThe Term.State,
           tacCtx := ← read, goals }

syntax (name := proverCapture) "prover_capture " str : tactic

@[tactic proverCapture] public meta def evalProverCapture : Tactic.Tactic := fun stx => do
  let tag := match stx[1].isStrLit? with | some t => t | none => ""
  let snap ← captureSnap tag (← Tactic.getUnsolvedGoals)
  throw (.error stx (MessageData.ofLazy (fun _ => pure (snapToDyn snap)) (fun _ => false)))

meta partial def findSnap (tag : String) (m : MessageData) : IO (Option Snap) := do
  match m with
  | .ofLazy f _ =>
    match snapOfDyn (← f none) with
    | some sn => return if sn.tag == tag then some sn else none
    | none => return none
  | .withContext _ m => findSnap tag m
  | .withNamingContext _ m => findSnap tag m
  | .tagged _ m => findSnap tag m
  | .nest _ m => findSnap tag m
  | .group m => findSnap tag m
  | _ => return none

/-- The messages of a run, with the snapshot message taken out. -/
meta partial def splitSnap (tag : String) (ms : List Message) (found : Option Snap) (acc : List Message) :
    IO (Option Snap × List Message) := do
  match ms with
  | [] => return (found, revList acc [])
  | m :: rest =>
    match found with
    | some _ => splitSnap tag rest found (m :: acc)
    | none =>
      match ← findSnap tag m.data with
      | some sn => splitSnap tag rest (some sn) acc
      | none => splitSnap tag rest none (m :: acc)

meta def storeSnap (s : Server) (sn : Snap) : IO Nat := do
  let sts ← s.states.get
  s.states.set (sts.push (some sn))
  return sts.size

/-- The snapshot's goals rendered with the renderings of `cache` reused; the snapshot to store
carries the renderings it has now. -/
meta def snapGoalsJson (sn : Snap) (cache : List Rendered) : IO (Array Json × Snap) := do
  let (goals, made) ← goalsJson sn.coreSt.env sn.metaSt.mctx sn.coreCtx.options cache sn.goals #[] []
  return (goals, { sn with rendered := made })

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

meta def handleOpenProof (s : Server) (r : OpenProofReq) : IO (Except ErrorRecord StateReply) := do
  match ← getEnvState s r.env with
  | none => return .error (unknownEnv r.env)
  | some st0 =>
    let st0 := { st0 with messages := {} }
    let t0 ← IO.monoNanosNow
    let fs ← IO.processCommands (inputOf r.code) {} st0
    let t1 ← IO.monoNanosNow
    let (found, others) ← splitSnap r.tag fs.commandState.messages.toList none []
    let messages ← messagesJson others #[]
    match found with
    | none =>
      let t2 ← IO.monoNanosNow
      return .ok { state := none, goals := #[], messages, parseError := none, elabNs := t1 - t0,
                   leanNs := t2 - t0 }
    | some sn =>
      let (goals, sn) ← snapGoalsJson sn []
      let sid ← storeSnap s sn
      let t2 ← IO.monoNanosNow
      return .ok { state := some sid, goals, messages, parseError := none, elabNs := t1 - t0,
                   leanNs := t2 - t0 }

meta partial def takeGoals (gs : List MVarId) (n : Nat) (acc : List MVarId) : List MVarId × List MVarId :=
  match n, gs with
  | 0, _ => (revList acc [], gs)
  | _, [] => (revList acc [], [])
  | k + 1, g :: rest => takeGoals rest k (g :: acc)

meta partial def appendGoals (xs ys : List MVarId) : List MVarId :=
  match xs with
  | [] => ys
  | x :: rest => x :: appendGoals rest ys

meta def stepAction (tag : String) (stx : Syntax) (before after : List MVarId) : Tactic.TacticM Snap := do
  Tactic.evalTactic stx
  Term.synthesizeSyntheticMVarsNoPostponing
  let gs ← Tactic.getUnsolvedGoals
  -- The new goals take the chosen goal's place; a goal the tactic solved by unification is gone.
  set ({ goals := appendGoals before (appendGoals gs after) } : Tactic.State)
  captureSnap tag (← Tactic.getUnsolvedGoals)

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

/-- `step`: run `tactic` on goal `goal` of stored state `state` (see below for goal 0). Heartbeats count from the start
of this tactic alone (`initHeartbeats`), up to `heartbeats` thousand. -/
meta structure StepReq where
  state : Nat
  goal : Nat
  tactic : String
  heartbeats : Nat

meta def StepReq.ofJson (j : Json) : Except ErrorRecord StepReq := do
  return { state := ← reqNat j "state", goal := ← optNat j "goal" 0, tactic := ← reqStr j "tactic",
           heartbeats := ← optNat j "heartbeats" 200000 }

meta def handleStep (s : Server) (r : StepReq) : IO (Except ErrorRecord StateReply) := do
  let stateId := r.state
  let goal := r.goal
  let text := r.tactic
  let hb := r.heartbeats
  let sts ← s.states.get
  let some sn := (if h : stateId < sts.size then sts[stateId] else none)
    | return .error (unknownState stateId)
  let (before, rest) := takeGoals sn.goals goal []
  let (g, after) ← match rest with
    | g :: after => pure (g, after)
    | [] => return .error (unknownGoal stateId goal)
  -- Goal 0: the tactic sees every goal, as the next line of a tactic script does (so the path
  -- stays a plain script); another goal: that goal alone, its new goals taking its place.
  let (focusGoals, after) := if goal == 0 then (sn.goals, []) else ([g], after)
  let t0 ← IO.monoNanosNow
  match Parser.runParserCategory sn.coreSt.env `tactic text "<tactic>" with
  | .error e =>
    let t1 ← IO.monoNanosNow
    return .ok { state := none, goals := #[], messages := #[], parseError := some e, elabNs := 0,
                 leanNs := t1 - t0 }
  | .ok stx =>
    let fm := text.toFileMap
    let coreCtx := { sn.coreCtx with
      initHeartbeats := ← IO.getNumHeartbeats, maxHeartbeats := hb * 1000,
      options := sn.coreCtx.options.setNat `maxHeartbeats hb,
      fileName := "<tactic>", fileMap := fm }
    let coreSt := { sn.coreSt with messages := {} }
    let termCtx := { sn.termCtx with tacSnap? := none }
    let act := stepAction sn.tag stx before after
    let r ← ((((((act sn.tacCtx).run' { goals := focusGoals }) termCtx).run' sn.termSt) sn.metaCtx).run'
      sn.metaSt coreCtx).run coreSt |>.toBaseIO
    let t1 ← IO.monoNanosNow
    match r with
    | .error e =>
      let m ← exceptionJson fm e
      let t2 ← IO.monoNanosNow
      return .ok { state := none, goals := #[], messages := #[m], parseError := none,
                   elabNs := t1 - t0, leanNs := t2 - t0 }
    | .ok (sn2, cst) =>
      let msgs ← messagesJson cst.messages.toList #[]
      let (goals, sn2) ← snapGoalsJson sn2 sn.rendered
      -- A logged error (a tactic that recovered, e.g. `exact` with an unknown name, admits the
      -- goal) fails the step: the state is not kept.
      let sid ← if cst.messages.hasErrors then pure none else
        some <$> storeSnap s { sn2 with coreSt := { sn2.coreSt with messages := {} } }
      let t2 ← IO.monoNanosNow
      return .ok { state := sid, goals, messages := msgs, parseError := none, elabNs := t1 - t0,
                   leanNs := t2 - t0 }

meta partial def forgetStates (s : Server) (ids : List Nat) : IO Unit := do
  match ids with
  | [] => pure ()
  | i :: rest =>
    s.states.modify (fun a => if i < a.size then a.set! i none else a)
    forgetStates s rest

meta def liveStates (s : Server) : IO Nat := do
  let sts ← s.states.get
  return count sts 0 0
where
  count (a : Array (Option Snap)) (i n : Nat) : Nat :=
    if h : i < a.size then count a (i + 1) (if a[i].isSome then n + 1 else n) else n
  termination_by a.size - i

/-! Typed goals (`terms`) and Lean-checked refutations (`refute`), for the numeric checker.

`terms` encodes each open goal of a stored state (hypotheses and target, metavariables
instantiated, metadata dropped) as a faithful tree of the `Expr`: the checker then reads the
types and instances Lean chose instead of guessing them from pretty-printed text. -/

meta def binderInfoStr : BinderInfo → String
  | .default => "default"
  | .implicit => "implicit"
  | .strictImplicit => "strict_implicit"
  | .instImplicit => "inst_implicit"

meta partial def levelJson (l : Level) : Json :=
  match l with
  | .zero => Json.mkObj [("k", "zero")]
  | .succ u => Json.mkObj [("k", "succ"), ("u", levelJson u)]
  | .max a b => Json.mkObj [("k", "max"), ("a", levelJson a), ("b", levelJson b)]
  | .imax a b => Json.mkObj [("k", "imax"), ("a", levelJson a), ("b", levelJson b)]
  | .param n => Json.mkObj [("k", "param"), ("n", Json.str n.toString)]
  | .mvar m => Json.mkObj [("k", "mvar"), ("n", Json.str m.name.toString)]

meta partial def levelsJson (ls : List Level) (acc : Array Json) : Array Json :=
  match ls with
  | [] => acc
  | l :: rest => levelsJson rest (acc.push (levelJson l))

/-- Nodes of `e` as a tree (shared subterms count each time: that is what the JSON holds),
counted only up to just past `cap`, so a huge shared term costs no more than the cap. -/
meta partial def exprSize (e : Expr) (n cap : Nat) : Nat :=
  if n > cap then n else
  match e with
  | .app f a => exprSize a (exprSize f (n + 1) cap) cap
  | .lam _ t b _ => exprSize b (exprSize t (n + 1) cap) cap
  | .forallE _ t b _ => exprSize b (exprSize t (n + 1) cap) cap
  | .letE _ t v b _ => exprSize b (exprSize v (exprSize t (n + 1) cap) cap) cap
  | .mdata _ b => exprSize b n cap
  | .proj _ _ b => exprSize b (n + 1) cap
  | _ => n + 1

meta partial def appSpine (e : Expr) (acc : List Expr) : Expr × List Expr :=
  match e with
  | .app f a => appSpine f (a :: acc)
  | .mdata _ b => appSpine b acc
  | _ => (e, acc)

/-- Whether the tree of `e` (spines flattened, as sent) nests deeper than `cap`: the JSON, about
twice as deep, must stay readable by a client whose JSON reader recurses. -/
meta partial def deeperThan (e : Expr) (cap : Nat) : Bool :=
  if cap == 0 then true else
  match e with
  | .app _ _ =>
    let (fn, args) := appSpine e []
    deeperThan fn (cap - 1) || anyDeeper args (cap - 1)
  | .lam _ t b _ => deeperThan t (cap - 1) || deeperThan b (cap - 1)
  | .forallE _ t b _ => deeperThan t (cap - 1) || deeperThan b (cap - 1)
  | .letE _ t v b _ => deeperThan t (cap - 1) || deeperThan v (cap - 1) || deeperThan b (cap - 1)
  | .mdata _ b => deeperThan b cap
  | .proj _ _ b => deeperThan b (cap - 1)
  | _ => false
where
  anyDeeper (xs : List Expr) (cap : Nat) : Bool :=
    match xs with
    | [] => false
    | x :: rest => deeperThan x cap || anyDeeper rest cap

mutual
meta partial def exprJson (e : Expr) : Json :=
  match e with
  | .bvar i => Json.mkObj [("k", "bvar"), ("i", toJson i)]
  | .fvar f => Json.mkObj [("k", "fvar"), ("id", Json.str f.name.toString)]
  | .mvar m => Json.mkObj [("k", "mvar"), ("id", Json.str m.name.toString)]
  | .sort u => Json.mkObj [("k", "sort"), ("u", levelJson u)]
  | .const n us => Json.mkObj [("k", "const"), ("n", Json.str n.toString), ("u", Json.arr (levelsJson us #[]))]
  | .app _ _ =>
    let (fn, args) := appSpine e []
    Json.mkObj [("k", "app"), ("f", exprJson fn), ("a", Json.arr (exprsJson args #[]))]
  | .lam n t b bi => Json.mkObj [("k", "lam"), ("n", Json.str (userNameStr n)), ("t", exprJson t),
      ("b", exprJson b), ("bi", Json.str (binderInfoStr bi))]
  | .forallE n t b bi => Json.mkObj [("k", "forall"), ("n", Json.str (userNameStr n)), ("t", exprJson t),
      ("b", exprJson b), ("bi", Json.str (binderInfoStr bi))]
  | .letE n t v b _ => Json.mkObj [("k", "let"), ("n", Json.str (userNameStr n)), ("t", exprJson t),
      ("v", exprJson v), ("b", exprJson b)]
  | .lit (.natVal v) => Json.mkObj [("k", "nat"), ("v", toJson v)]
  | .lit (.strVal v) => Json.mkObj [("k", "str"), ("v", Json.str v)]
  | .mdata _ b => exprJson b
  | .proj s i b => Json.mkObj [("k", "proj"), ("s", Json.str s.toString), ("i", toJson i), ("e", exprJson b)]

meta partial def exprsJson (xs : List Expr) (acc : Array Json) : Array Json :=
  match xs with
  | [] => acc
  | x :: rest => exprsJson rest (acc.push (exprJson x))
end

/-- Application spines are flattened, so this bounds nesting, not the length of a sum. -/
meta def maxTermDepth : Nat := 200

/-- The goal's hypotheses as trees, with the nodes counted so far. -/
meta partial def hypTerms (mctx : MetavarContext) (ds : List (Option LocalDecl)) (cap : Nat) (n : Nat)
    (acc : Array Json) : Array Json × Nat :=
  match ds with
  | [] => (acc, n)
  | none :: rest => hypTerms mctx rest cap n acc
  | some d :: rest =>
    if d.isImplementationDetail then hypTerms mctx rest cap n acc else
    let ty := (instantiateMVarsCore mctx d.type).1
    let n := if deeperThan ty maxTermDepth then cap + 1 else exprSize ty n cap
    let (val, n) := match d.value? with
      | some v =>
        let v := (instantiateMVarsCore mctx v).1
        (exprJson v, if deeperThan v maxTermDepth then cap + 1 else exprSize v n cap)
      | none => (Json.null, n)
    if n > cap then (acc, n) else
    hypTerms mctx rest cap n (acc.push (Json.mkObj [("name", Json.str (userNameStr d.userName)),
      ("fvar", Json.str d.fvarId.name.toString), ("type", exprJson ty), ("value", val)]))

meta def goalTermsJson (mctx : MetavarContext) (cap : Nat) (g : MVarId) : Json :=
  match mctx.findDecl? g with
  | none => Json.null
  | some decl =>
    let tag := Json.str (userNameStr decl.userName)
    let (hyps, n) := hypTerms mctx (declList decl.lctx decl.lctx.decls.size []) cap 0 #[]
    let target := (instantiateMVarsCore mctx decl.type).1
    let n := if n > cap then n else if deeperThan target maxTermDepth then cap + 1 else exprSize target n cap
    if n > cap then Json.mkObj [("tag", tag), ("too_large", true)] else
    Json.mkObj [("tag", tag), ("too_large", false), ("hyps", Json.arr hyps), ("target", exprJson target)]

meta partial def goalsTermsJson (mctx : MetavarContext) (cap : Nat) (gs : List MVarId) (acc : Array Json) :
    Array Json :=
  match gs with
  | [] => acc
  | g :: rest => goalsTermsJson mctx cap rest (acc.push (goalTermsJson mctx cap g))

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

meta def handleTerms (s : Server) (r : TermsReq) : IO (Except ErrorRecord TermsReply) := do
  let sts ← s.states.get
  let some sn := (if h : r.state < sts.size then sts[r.state] else none)
    | return .error (unknownState r.state)
  let t0 ← IO.monoNanosNow
  let goals := goalsTermsJson sn.metaSt.mctx r.cap sn.goals #[]
  let t1 ← IO.monoNanosNow
  return .ok { goals, leanNs := t1 - t0 }

/-! `refute`: is a goal false at given values of its variables? The goal's free variables are
replaced by the values (terms elaborated against each variable's type), its let-values are
substituted, and its propositional hypotheses become premises: `¬ (H₁ → … → T)`. That closed
proposition is decided as `decide` does it (`Decidable` synthesised) and the proof
`of_decide_eq_true rfl` is sent to the kernel: only the kernel's acceptance counts. -/

meta partial def lookupValue (xs : List Json) (key : String) : Option String :=
  match xs with
  | [] => none
  | .arr a :: rest =>
    match a[0]?, a[1]? with
    | some (Json.str k), some (Json.str v) => if k == key then some v else lookupValue rest key
    | _, _ => lookupValue rest key
  | _ :: rest => lookupValue rest key

meta def elabValue (text : String) (ty : Expr) : Term.TermElabM (Option Expr) := do
  match Parser.runParserCategory (← getEnv) `term text "<value>" with
  | .error _ => return none
  | .ok stx =>
    try
      let e ← Term.elabTermEnsuringType stx (some ty)
      Term.synthesizeSyntheticMVarsNoPostponing
      let e ← instantiateMVars e
      if e.hasMVar || e.hasFVar || e.hasSyntheticSorry then return none else return some e
    catch _ => return none

meta partial def substDecls (ds : List (Option LocalDecl)) (asg : List Json) (fvars vals : Array Expr)
    (hyps : List Expr) : Term.TermElabM (Option (Array Expr × Array Expr × List Expr)) := do
  match ds with
  | [] => return some (fvars, vals, hyps)
  | none :: rest => substDecls rest asg fvars vals hyps
  | some d :: rest =>
    if d.isImplementationDetail then substDecls rest asg fvars vals hyps else
    let ty := (← instantiateMVars d.type).replaceFVars fvars vals
    match lookupValue asg d.fvarId.name.toString with
    | some text =>
      if ty.hasFVar then return none
      match ← elabValue text ty with
      | none => return none
      | some v => substDecls rest asg (fvars.push (.fvar d.fvarId)) (vals.push v) hyps
    | none =>
      match d.value? with
      | some v =>
        let v := (← instantiateMVars v).replaceFVars fvars vals
        substDecls rest asg (fvars.push (.fvar d.fvarId)) (vals.push v) hyps
      | none =>
        if ← Meta.isProp d.type then substDecls rest asg fvars vals (ty :: hyps)
        else substDecls rest asg fvars vals hyps

meta partial def premises (hyps : List Expr) (concl : Expr) : Expr :=
  match hyps with
  | [] => concl
  | h :: rest => .forallE `h h (premises rest concl) .default

/-- "confirmed": the kernel accepted a proof that the instance is false. -/
meta def kernelRefutes (p : Expr) (hb : Nat) : Term.TermElabM String := do
  if p.hasFVar || p.hasMVar then return "not_closed"
  let neg := mkApp (mkConst ``Not) p
  let inst ← try Meta.synthInstance (mkApp (mkConst ``Decidable) neg) catch _ => return "not_decidable"
  let rflTrue := mkApp2 (mkConst ``Eq.refl [levelOne]) (mkConst ``Bool) (mkConst ``Bool.true)
  let prf := mkApp3 (mkConst ``of_decide_eq_true) neg inst rflTrue
  let decl := Declaration.thmDecl { name := `_prover_refutation, levelParams := [], type := neg, value := prf }
  let opts := ({} : Options).setNat `maxHeartbeats hb
  match (← getEnv).toKernelEnv.addDecl opts decl with
  | .ok _ => return "confirmed"
  | .error _ => return "not_confirmed"

meta def refuteOne (ds : List (Option LocalDecl)) (target : Expr) (pairs : List Json) (hb : Nat) :
    Term.TermElabM String := do
  match ← substDecls ds pairs #[] #[] [] with
  | none => return "bad_value"
  | some (fvars, vals, hyps) =>
    let t := (← instantiateMVars target).replaceFVars fvars vals
    kernelRefutes (premises (revList hyps []) t) hb

meta partial def refuteAll (ds : List (Option LocalDecl)) (target : Expr) (asgs : List Json) (hb : Nat)
    (acc : Array Json) : Term.TermElabM (Array Json) := do
  match asgs with
  | [] => return acc
  | a :: rest =>
    let pairs := match a with | .arr xs => xs.toList | _ => []
    let status ← try refuteOne ds target pairs hb catch _ => pure "error"
    let acc := acc.push (Json.str status)
    if status == "confirmed" then return acc else refuteAll ds target rest hb acc

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

meta def handleRefute (s : Server) (r : RefuteReq) : IO (Except ErrorRecord RefuteReply) := do
  let stateId := r.state
  let goal := r.goal
  let asgs := r.assignments
  let hb := r.heartbeats
  let sts ← s.states.get
  let some sn := (if h : stateId < sts.size then sts[stateId] else none)
    | return .error (unknownState stateId)
  let (_, rest) := takeGoals sn.goals goal []
  let some g := (match rest with | g :: _ => some g | [] => none)
    | return .error (unknownGoal stateId goal)
  let some decl := sn.metaSt.mctx.findDecl? g
    | return .error (unknownGoal stateId goal)
  let t0 ← IO.monoNanosNow
  let metaCtx := { sn.metaCtx with lctx := decl.lctx, localInstances := decl.localInstances }
  let termCtx := { sn.termCtx with errToSorry := false, tacSnap? := none }
  let coreCtx := { sn.coreCtx with
    initHeartbeats := ← IO.getNumHeartbeats, maxHeartbeats := hb * 1000,
    options := sn.coreCtx.options.setNat `maxHeartbeats hb }
  let coreSt := { sn.coreSt with messages := {} }
  let act := refuteAll (declList decl.lctx decl.lctx.decls.size []) decl.type asgs hb #[]
  let m1 : Meta.MetaM (Array Json) := (act termCtx).run' sn.termSt
  let c1 : CoreM (Array Json) := (m1 metaCtx).run' sn.metaSt
  let r ← ((c1 coreCtx).run coreSt).toBaseIO
  let t1 ← IO.monoNanosNow
  match r with
  | .error _ => return .ok { results := #[Json.str "error"], leanNs := t1 - t0 }
  | .ok (results, _) => return .ok { results, leanNs := t1 - t0 }

/-- `forget_states`: release proof states; the reply counts those still held. -/
meta structure ForgetStatesReq where
  states : Array Nat

meta def ForgetStatesReq.ofJson (j : Json) : Except ErrorRecord ForgetStatesReq := do
  return { states := ← reqNats j "states" }

meta structure ForgetStatesReply where
  live : Nat

meta def ForgetStatesReply.toFields (r : ForgetStatesReply) : List (String × Json) := [("live", toJson r.live)]

meta def handleForgetStates (s : Server) (r : ForgetStatesReq) : IO (Except ErrorRecord ForgetStatesReply) := do
  forgetStates s r.states.toList
  return .ok { live := ← liveStates s }

/-- A command's handler on the wire: its request read from the JSON object, its reply fields. -/
abbrev Handler := Server → Json → IO (Except ErrorRecord (List (String × Json)))

meta def route {α β : Type} (ofJson : Json → Except ErrorRecord α) (h : Server → α → IO (Except ErrorRecord β))
    (toFields : β → List (String × Json)) : Handler := fun s j => do
  match ofJson j with
  | .error e => return .error e
  | .ok r =>
    match ← h s r with
    | .error e => return .error e
    | .ok b => return .ok (toFields b)

meta def noFields (_ : Unit) : List (String × Json) := []

meta def noArgs (_ : Json) : Except ErrorRecord Unit := .ok ()

/-- The dispatch table: every command the server answers. `exit` stops the loop after its reply. -/
meta def commands : List (String × Handler) := [
  ("ping", route noArgs (fun _ _ => return .ok ()) (fun _ => [("pong", true)])),
  ("exit", route noArgs (fun _ _ => return .ok ()) (fun _ => [("bye", true)])),
  ("rotate", route RotateReq.ofJson handleRotate noFields),
  ("exec", route ExecReq.ofJson handleExec ExecReply.toFields),
  ("parse", route ParseReq.ofJson handleParse ParseReply.toFields),
  ("next_command", route NextCommandReq.ofJson handleNextCommand NextCommandReply.toFields),
  ("tokens", route TokensReq.ofJson handleTokens TokensReply.toFields),
  ("decl", route DeclReq.ofJson handleDecl DeclReply.toFields),
  ("audit", route AuditReq.ofJson handleAudit AuditReply.toFields),
  ("replay", route ReplayReq.ofJson handleReplay ReplayReply.toFields),
  ("forget", route ForgetReq.ofJson handleForget noFields),
  ("open_proof", route OpenProofReq.ofJson handleOpenProof StateReply.toFields),
  ("step", route StepReq.ofJson handleStep StateReply.toFields),
  ("terms", route TermsReq.ofJson handleTerms TermsReply.toFields),
  ("refute", route RefuteReq.ofJson handleRefute RefuteReply.toFields),
  ("forget_states", route ForgetStatesReq.ofJson handleForgetStates ForgetStatesReply.toFields)]

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
      | none => return (errorReply id { category := "unknown_command", desc := "unknown command `" ++ cmd ++ "`" },
                        false)
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
  let s : Server := { out, prefix_ := "@@PROVER:" ++ nonce ++ "@@ ", channel, requests,
                      envs := ← IO.mkRef #[some st], states := ← IO.mkRef #[] }
  reply s (Json.mkObj [("id", Json.null), ("ok", true), ("ready", true),
    ("lean_version", Lean.versionString), ("protocol", toJson protocolVersion),
    ("commands", Json.arr (commandNames commands #[]))])
  let now ← IO.monoNanosNow
  loop s "" now now

end ProverServer

#eval ProverServer.serve

/-! ## Handlers of text: `exec`, `parse`, `next_command`, `tokens`

Elaborating and reading submitted text in a stored environment, and the syntax trees the client's
guard decides on. -/

namespace ProverServer
open Lean Elab

/-- `exec` (see `ExecReq`): Lean's own verdicts (errors in the code) are data in the reply. -/
meta def handleExec (s : Store) (r : ExecReq) : IO (Except ErrorRecord ExecReply) := do
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
      envId := some (← storeEnv s { fs.commandState with messages := {} })
    return .ok { messages := msgs, elabNs := t1 - t0, leanNs := t2 - t0, env := envId }

/-! Syntax trees for the client's guard: every node with its kind, children and byte range
(`r`, from its first to its last token), atoms with their text, identifiers with the components
of the name Lean read (so `«debug».skipKernelTC` and `debug.skipKernelTC` are the same name). -/

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

/-- `parse` (see `ParseReq`). -/
meta def handleParse (s : Store) (r : ParseReq) : IO (Except ErrorRecord ParseReply) := do
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

/-- `next_command` (see `NextCommandReq`). -/
meta def handleNextCommand (s : Store) (r : NextCommandReq) : IO (Except ErrorRecord NextCommandReply) := do
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

/-- `tokens` (see `TokensReq`). -/
meta def handleTokens (s : Store) (r : TokensReq) : IO (Except ErrorRecord TokensReply) := do
  match ← getEnvState s r.env with
  | none => return .error (unknownEnv r.env)
  | some st => return .ok { known := tokensJson st.env r.tokens.toList #[] }

end ProverServer

/-! ## Handlers of proof states: `open_proof`, `step`

Capturing a proof state inside a tactic block, rendering its goals (with the renderings of the
state it came from reused), and running one tactic on a stored state. -/

namespace ProverServer
open Lean Elab

/-- Render an expression in a goal's local context. `MessageDataContext` is built directly
because `MVarId.withContext` reaches a private helper on the embedded build. -/
meta def ppIn (ctx : MessageDataContext) (e : Expr) : IO String :=
  (MessageData.withContext ctx (MessageData.ofExpr e)).toString

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

/-- The snapshot's goals rendered with the renderings of `cache` reused; the snapshot to store
carries the renderings it has now. -/
meta def snapGoalsJson (sn : Snap) (cache : List Rendered) : IO (Array Json × Snap) := do
  let (goals, made) ← goalsJson sn.coreSt.env sn.metaSt.mctx sn.coreCtx.options cache sn.goals #[] []
  return (goals, { sn with rendered := made })

/-- `open_proof` (see `OpenProofReq`). -/
meta def handleOpenProof (s : Store) (r : OpenProofReq) : IO (Except ErrorRecord StateReply) := do
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

/-- `step` (see `StepReq`). -/
meta def handleStep (s : Store) (r : StepReq) : IO (Except ErrorRecord StateReply) := do
  let stateId := r.state
  let goal := r.goal
  let text := r.tactic
  let hb := r.heartbeats
  let some sn ← getSnap s stateId
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

end ProverServer

/-! ## Handlers for the numeric checker: `terms`, `refute`

Typed goals (`terms`) and Lean-checked refutations (`refute`), for the numeric checker.

`terms` encodes each open goal of a stored state (hypotheses and target, metavariables
instantiated, metadata dropped) as a faithful tree of the `Expr`: the checker then reads the
types and instances Lean chose instead of guessing them from pretty-printed text. -/

namespace ProverServer
open Lean Elab

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

/-- `terms` (see `TermsReq`). -/
meta def handleTerms (s : Store) (r : TermsReq) : IO (Except ErrorRecord TermsReply) := do
  let some sn ← getSnap s r.state
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

/-- `refute` (see `RefuteReq`). -/
meta def handleRefute (s : Store) (r : RefuteReq) : IO (Except ErrorRecord RefuteReply) := do
  let stateId := r.state
  let goal := r.goal
  let asgs := r.assignments
  let hb := r.heartbeats
  let some sn ← getSnap s stateId
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

end ProverServer

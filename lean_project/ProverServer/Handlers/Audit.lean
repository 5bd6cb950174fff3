/-! ## Handlers of the verifier's checks: `audit`, `replay`, `decl`

What submitted text added to an environment, compared with slot 0 (the state right after the
import, which no submitted text has touched). -/

namespace ProverServer
open Lean Elab

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

/-- `audit` (see `AuditReq`). -/
meta def handleAudit (s : Store) (r : AuditReq) : IO (Except ErrorRecord AuditReply) := do
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

/-- `replay` (see `ReplayReq`). -/
meta def handleReplay (s : Store) (r : ReplayReq) : IO (Except ErrorRecord ReplayReply) := do
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

/-- `decl` (see `DeclReq`). -/
meta def handleDecl (s : Store) (r : DeclReq) : IO (Except ErrorRecord DeclReply) := do
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

end ProverServer

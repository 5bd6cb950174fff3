/-! ## Helpers the handlers share

Lists, names and the parser context of a stored state, written as hand-made recursions (the
library's own versions reach private helpers on the embedded build). -/

namespace ProverServer
open Lean Elab

meta partial def nameParts (n : Name) (acc : List String) : List String :=
  match n with
  | .anonymous => acc
  | .str p str => nameParts p (str :: acc)
  | .num p k => nameParts p (k.repr :: acc)

meta partial def nameOfParts (parts : List String) (acc : Name) : Name :=
  match parts with
  | [] => acc
  | p :: rest => nameOfParts rest (Name.str acc p)

meta partial def revList {α : Type} (xs : List α) (acc : List α) : List α :=
  match xs with
  | [] => acc
  | x :: rest => revList rest (x :: acc)

meta partial def listLen {α : Type} (xs : List α) (acc : Nat) : Nat :=
  match xs with
  | [] => acc
  | _ :: rest => listLen rest (acc + 1)

meta partial def nameMem (n : Name) (xs : List Name) : Bool :=
  match xs with
  | [] => false
  | x :: rest => x == n || nameMem n rest

meta def scopeOf (st : Command.State) : Command.Scope :=
  match st.scopes with
  | sc :: _ => sc
  | [] => { header := "" }

meta def parserContext (st : Command.State) : Parser.ParserModuleContext :=
  let sc := scopeOf st
  { env := st.env, options := sc.opts, currNamespace := sc.currNamespace, openDecls := sc.openDecls }

meta def inputOf (code : String) : Parser.InputContext :=
  { inputString := code, fileName := "<prover>", fileMap := code.toFileMap }

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

/-- A user-facing name: hygienic (inaccessible) names print as `n✝`, as Lean shows them. -/
meta def userNameStr (n : Name) : String :=
  if n.hasMacroScopes then n.eraseMacroScopes.toString ++ "✝" else n.toString

/-- The local declarations in order (`PersistentArray.get!`, `toArray` and `foldl` reach private
helpers on the embedded build; `LocalContext.getAt?` does not). -/
meta partial def declList (l : LocalContext) (i : Nat) (acc : List (Option LocalDecl)) :
    List (Option LocalDecl) :=
  if i = 0 then acc else declList l (i - 1) (l.getAt? (i - 1) :: acc)

end ProverServer

; Literal slot values outside what a template or the contract allows: CLIPS
; refuses some of them while loading (with the end of the rule as the line
; and without the allowed values), accepts the others; suitd refuses all of
; them first, on their own line, saying what was expected.
(defrule pattern-outside-allowed
  (patient (setting home-rolller))
  (flag (level ~low&~hihg))
  =>
  (assert (flag (level high) (class none))))

(defrule finding-outside-contract
  (patient (age ?a))
  =>
  (assert (finding (id x) (category inptu) (severity infoo) (summary "x") (source "SP"))))

(defrule side-effect-outside-contract
  (patient (age ?a))
  =>
  (assert (side-effect (effect "redness") (kind seriuos) (likelihood comon))))

(defrule slot-named-like-a-function
  (flag (class ?c) (level low|high))
  =>
  (assert (flag (level low) (class ?c) (any whatever))))

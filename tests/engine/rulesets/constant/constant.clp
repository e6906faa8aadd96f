; Constant output: side effects and aftercare the same for every patient,
; asserted once at load as deffacts, next to output the rules assert.
(deffacts constant-output
  (side-effect (effect "redness") (kind expected) (likelihood common) (note "everyone"))
  (aftercare (order 2) (text "Sunscreen")))

(defrule raised-serious
  (patient (area forehead))
  =>
  (assert (side-effect (effect "scarring") (kind serious) (likelihood rare))))

(defrule raised-expected
  (patient (area forehead))
  =>
  (assert (side-effect (effect "bruising") (kind expected) (likelihood common))))

(defrule more-aftercare
  (patient)
  =>
  (assert (aftercare (order 1) (text "No makeup for 24 hours"))))

; A rule that retracts a constant fact: the next request must see it again.
(defrule drop-constant
  (condition (name sunburn))
  ?f <- (side-effect (effect "redness"))
  =>
  (retract ?f))

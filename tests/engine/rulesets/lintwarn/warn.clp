; Serves (no problem), but with two warnings that --strict fails on: the
; policy home-roller-max-depth-mm (data.clp) is read by no rule, and a rule
; modifies a fact its own left-hand side matches.
(defrule reads-policies
  (medication (class nsaid) (days-since-last-dose ?d))
  (policy (name nsaid-hold-days) (value ?h))
  (policy (name isotretinoin-washout-days) (value ?w))
  (test (< ?d ?h))
  =>
  (assert (finding (id nsaid-hold) (category medication) (severity defer) (summary "NSAID")
                   (source "SP") (defer-days (- ?h ?d)))))

(defrule ages-the-patient
  ?p <- (patient (age ?a&:(< ?a 18)))
  =>
  (modify ?p (age (+ ?a 1))))

; Each recognised term makes a finding naming it; unrecognised terms become
; near-miss (incomplete, with the suggestion) or unrecognised (caution).
(defrule known-condition
  (condition (name ?n))
  =>
  (assert (finding (id (sym-cat condition- ?n)) (category candidacy) (severity info)
                   (summary "condition") (source "SP"))))

(defrule known-medication
  (medication (name ?n) (class ?c))
  =>
  (assert (finding (id (sym-cat medication- ?n)) (category medication) (severity info)
                   (summary (str-cat "class " ?c)) (source "SP"))))

(defrule known-allergy
  (allergy (name ?n))
  =>
  (assert (finding (id (sym-cat allergy- ?n)) (category candidacy) (severity info)
                   (summary "allergy") (source "SP"))))

(defrule home-roller
  (patient (setting home-roller))
  =>
  (assert (finding (id home-roller) (category home-use) (severity info)
                   (summary "home roller") (source "SP"))))

(defrule near-miss
  (unrecognised (kind ?k) (name ?n) (suggestion ?s&~nil))
  =>
  (assert (finding (id (sym-cat near-miss- ?k)) (category input) (severity incomplete)
                   (summary (str-cat "did you mean " ?s "?")) (detail ?n) (source "input")
                   (suggestion ?s))))

(defrule unrecognised
  (unrecognised (kind ?k) (name ?n) (suggestion nil))
  =>
  (assert (finding (id (sym-cat unrecognised- ?k)) (category input) (severity caution)
                   (summary "not recognised") (detail ?n) (source "input"))))

; Rules for the engine tests.
(defrule pregnant
  (patient (pregnant yes))
  =>
  (assert (finding (id pregnancy) (category candidacy) (severity contraindicated)
                   (summary "Pregnant") (source "SP"))))

(defrule active-acne
  (condition (name active-acne))
  =>
  (assert (finding (id active-acne) (category candidacy) (severity defer)
                   (summary "Active acne") (source "SP, DP"))))

(defrule isotretinoin-washout
  (medication (name isotretinoin) (days-since-last-dose ?d))
  (policy (name isotretinoin-washout-days) (value ?w))
  (test (< ?d ?w))
  =>
  (assert (finding (id isotretinoin-washout) (category medication) (severity defer)
                   (summary "Isotretinoin washout") (source "DP") (defer-days (- ?w ?d)))))

(defrule nsaid-hold
  (medication (class nsaid) (days-since-last-dose ?d))
  (policy (name nsaid-hold-days) (value ?h))
  (test (< ?d ?h))
  =>
  (assert (finding (id nsaid-hold) (category medication) (severity caution)
                   (summary "NSAID") (source "DP"))))

(defrule cold-sore
  (condition (name cold-sore))
  =>
  (assert (finding (id cold-sore) (category candidacy) (severity defer)
                   (summary "Cold sore") (source "SP")))
  (assert (side-effect (effect "HSV reactivation") (kind serious) (likelihood uncommon))))

(defrule plan-acne-scars
  (patient (indication acne-scars))
  =>
  (assert (plan (sessions-min 3) (sessions-max 6) (interval-weeks 4) (interval-weeks-max 6)
                (cost-min 100) (cost-typical 300) (cost-max 700)))
  (assert (aftercare (order 2) (text "Sunscreen")))
  (assert (aftercare (order 1) (text "No makeup for 24 hours")))
  (assert (side-effect (effect "redness") (kind expected) (likelihood common))))

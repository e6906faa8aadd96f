; Loads fine in CLIPS, but each rule names something the data does not
; define, so it would never fire (issue 12, "What suitd check must catch").
(defrule typo-policy
  (medication (class systemic-retinoid) (days-since-last-dose ?d))
  (policy (name isotretinoin-washout-dayz) (value ?w))
  =>
  (assert (finding (id a) (category medication) (severity defer) (summary "a") (source "SP"))))

(defrule typo-condition
  (condition (name cold-soer))
  =>
  (assert (finding (id b) (category candidacy) (severity defer) (summary "b") (source "SP"))))

(defrule synonym-condition
  (condition (name acne))
  =>
  (assert (finding (id c) (category candidacy) (severity defer) (summary "c") (source "SP"))))

(defrule typo-class
  (medication (class nsiad))
  =>
  (assert (finding (id d) (category medication) (severity caution) (summary "d") (source "SP"))))

(defrule typo-area-and-name-in-or
  (patient (area fcae))
  (or (medication (name ibuprofen|isotretinion))
      (condition (name ~sunburn&~sunbrn)))
  =>
  (assert (finding (id e) (category candidacy) (severity info) (summary "e") (source "SP"))))

(defrule all-known
  (patient (area face|unknown) (setting clinic))
  (medication (class nsaid|none) (name ibuprofen))
  (policy (name nsaid-hold-days) (value ?h))
  (policy (name isotretinoin-washout-days) (value ?w))
  (policy (name home-roller-max-depth-mm) (value ?m))
  =>
  (assert (finding (id f) (category medication) (severity info) (summary "f") (source "SP"))))

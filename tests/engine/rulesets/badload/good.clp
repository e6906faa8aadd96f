; A file without problems: the ruleset must still be refused as a whole.
(defrule good-rule
  (patient (pregnant yes))
  =>
  (assert (finding (id pregnancy) (category candidacy) (severity contraindicated)
                   (summary "Pregnant") (source "SP"))))

; missing and unrecognised facts become findings.
(defrule missing-fact
  (missing (fact ?f))
  =>
  (assert (finding (id (sym-cat missing- ?f)) (category input) (severity incomplete)
                   (summary (str-cat "missing: " ?f)) (source "SP"))))

(defrule unrecognised-term
  (unrecognised (kind ?k) (name ?n))
  =>
  (assert (finding (id (sym-cat unrecognised- ?k)) (category input) (severity caution)
                   (summary "not recognised: check it by hand") (detail ?n) (source "SP"))))

; Findings citing weak sources: three say nothing about it (lint problems,
; lines 8, 14 and 22), three are fine.
(defrule clinic-only-silent
  (condition (name sunburn) (days-ago ?d))
  =>
  (assert (finding (id a) (category candidacy) (severity caution)
    (summary "a")
    (detail (str-cat "Sunburn " ?d " days ago."))
    (source "clinic"))))

(defrule weak-only-no-detail
  (condition (name sunburn))
  =>
  (assert (finding (id b) (category candidacy) (severity caution)
    (summary "b") (source "clinic, vendor"))))

(defrule mixed-silent
  (condition (name sunburn))
  =>
  (assert (finding (id c) (category candidacy) (severity caution)
    (summary "c")
    (detail "Strong and weak sources, unsaid.")
    (source "SP, clinic"))))

(defrule clinic-only-says-so
  (condition (name sunburn) (days-ago ?d))
  =>
  (assert (finding (id d) (category candidacy) (severity caution)
    (summary "d")
    (detail (str-cat "Sunburn " ?d " days ago. Source: clinic pages only (Weak Evidence)."))
    (source "clinic"))))

(defrule mixed-says-so
  (condition (name sunburn))
  =>
  (assert (finding (id e) (category candidacy) (severity caution)
    (summary "e") (detail "Partly weak evidence.") (source "SP, clinic"))))

(defrule strong-or-input
  (condition (name sunburn))
  =>
  (assert (finding (id f) (category candidacy) (severity caution) (summary "f") (source "SP")))
  (assert (finding (id g) (category input) (severity caution) (summary "g") (source "input"))))

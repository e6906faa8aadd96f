; Two bad constructs, at known lines.

(defrule bad-slot
  (patient (no-such-slot ?x))
  =>
  (assert (finding (id x) (category input) (severity info) (summary "x") (source "SP"))))

(defrule fine-in-between
  (patient (age ?a))
  =>
  (assert (finding (id age) (category input) (severity info) (summary "age") (source "SP"))))

(defrule bad-function
  (patient (age ?a))
  =>
  (no-such-function ?a))

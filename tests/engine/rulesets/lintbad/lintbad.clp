; Loads fine in CLIPS, but breaks the contract.
(defrule shells-out
  (patient (age ?a))
  =>
  (system "touch /tmp/suitd-lint-never-run"))

(defrule finding-without-source
  (patient (age ?a))
  =>
  (assert (finding (id no-source) (category input) (severity info) (summary "x"))))

(defrule cites-unknown-source
  (patient (age ?a))
  =>
  (assert (finding (id bad-source) (category input) (severity info) (summary "x")
                   (source "SP, NOSUCH"))))

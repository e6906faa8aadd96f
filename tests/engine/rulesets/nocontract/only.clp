; Valid CLIPS, but none of the contract's templates.
(deftemplate thing (slot x))
(defrule r (thing (x 1)) => (assert (thing (x 2))))

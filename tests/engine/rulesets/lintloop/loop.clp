; Rules that never settle: at run time the error names the rule to blame.
(deftemplate tick (slot n (type INTEGER)))

(defrule start-ticking
  (condition (name cold-sore))
  =>
  (assert (tick (n 0))))

(defrule tick-again
  ?t <- (tick (n ?n))
  =>
  (retract ?t)
  (assert (tick (n (+ ?n 1)))))

(defrule spin-in-place
  (condition (name sunburn))
  =>
  (while TRUE do (bind ?x 1)))

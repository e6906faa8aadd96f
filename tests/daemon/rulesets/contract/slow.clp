; A condition named `slow` with days-ago N keeps the engine busy for about
; N thousand loop iterations: tests use it to hold a worker for a while.
(deffacts slow-terms
  (term (kind condition) (name slow) (canonical slow) (takes-days yes)))

(defrule slow-work
  (condition (name slow) (days-ago ?n&:(> ?n 0)))
  =>
  (bind ?x 0)
  (loop-for-count (?i 1 (* ?n 1000)) do (bind ?x (+ ?x 1)))
  (assert (finding (id slow-work) (category input) (severity info)
                   (summary "slow rule ran") (source "SP"))))

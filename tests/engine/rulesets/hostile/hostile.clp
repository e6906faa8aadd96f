; Rules that misbehave on purpose, each triggered by one condition name.
(deffacts hostile-terms
  (term (kind condition) (name fire-forever) (canonical fire-forever))
  (term (kind condition) (name loop-forever) (canonical loop-forever))
  (term (kind condition) (name call-exit) (canonical call-exit))
  (term (kind condition) (name touch-data) (canonical touch-data))
  (term (kind condition) (name runtime-error) (canonical runtime-error))
  (term (kind condition) (name lhs-loop) (canonical lhs-loop)))

(deftemplate counter (slot n (type INTEGER)))

(defrule fire-forever-start
  (condition (name fire-forever))
  =>
  (assert (counter (n 0))))

(defrule fire-forever-step
  ?c <- (counter (n ?n))
  =>
  (retract ?c)
  (assert (counter (n (+ ?n 1)))))

(defrule loop-forever
  (condition (name loop-forever))
  =>
  (bind ?x 0)
  (while TRUE do (bind ?x 1)))

(defrule call-exit
  (condition (name call-exit))
  =>
  (exit)
  (assert (finding (id after-exit) (category input) (severity caution)
                   (summary "exit returned") (source "SP"))))

(defrule touch-data
  (condition (name touch-data))
  ?t <- (term (kind area) (name scalp))
  =>
  (retract ?t))

(defrule area-known
  (patient (area ?a))
  (term (kind area) (name ?a))
  =>
  (assert (finding (id area-known) (category input) (severity info)
                   (summary "area is in the vocabulary") (source "SP"))))

(defrule runtime-error
  (condition (name runtime-error))
  =>
  (bind ?zero 0)
  (bind ?x (div 1 ?zero)))

(deffunction spin ()
  (bind ?x 0)
  (while TRUE do (bind ?x 1))
  TRUE)

(defrule lhs-loop
  (condition (name lhs-loop))
  (test (spin))
  =>
  (assert (finding (id lhs-loop) (category input) (severity info) (summary "x") (source "SP"))))

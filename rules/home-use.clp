;;; home-use.clp: home rollers (ART, AAD, FDA).  Home rollers help products
;;; penetrate but do not give the results of professional micro-needling; the
;;; needles are shorter and dull quickly, are hard to clean, and cause
;;; infections and injuries.  RF micro-needling is never for home use (FDA):
;;; the setting home-rf says the patient means to use an RF device at home.
;;;
;;; Decision: a home roller without needle_depth_mm is an `incomplete` finding
;;; (the depth decides between caution and refer, so the answer must wait for
;;; it), not a caution.

(defrule home-roller-too-deep
  (policy (name home-roller-max-depth-mm) (value ?max))
  (patient (setting home-roller) (needle-depth-mm ?mm))
  (test (> ?mm ?max))
  =>
  (assert (finding (id home-roller-too-deep) (category home-use) (severity refer)
    (summary (str-cat "Home roller at " ?mm " mm: deeper than " ?max " mm"))
    (detail "Deeper needling at home risks infection, injury and scarring; it belongs in a clinic. RF micro-needling is never for home use.")
    (source "ART, AAD, FDA")
    (action "Do not self-treat at this depth; refer for professional treatment."))))

(defrule home-roller-shallow
  (policy (name home-roller-max-depth-mm) (value ?max))
  (patient (setting home-roller) (needle-depth-mm ?mm&:(>= ?mm 0.0)))
  (test (<= ?mm ?max))
  =>
  (assert (finding (id home-roller) (category home-use) (severity caution)
    (summary (str-cat "Home roller at " ?mm " mm: set realistic expectations"))
    (detail "Home rollers help products penetrate but do not give the results of professional micro-needling; the needles dull quickly, are hard to clean, and cause infections and injuries. RF micro-needling is never for home use.")
    (source "ART, AAD, FDA")
    (action "Disinfect before and after each use, replace the roller often, never share it, use only products made for treated skin, and do not over-treat."))))

(defrule home-rf
  (patient (setting home-rf))
  =>
  (assert (finding (id home-rf) (category home-use) (severity contraindicated)
    (summary "RF micro-needling at home: never for home use")
    (detail "Radiofrequency micro-needling devices are for professional use only; the FDA's guidance on micro-needling devices rules out home use.")
    (source "FDA")
    (action "Do not use an RF micro-needling device at home; refer for professional treatment in a clinic."))))

(defrule home-roller-depth-missing
  (patient (setting home-roller) (needle-depth-mm ?mm&:(< ?mm 0.0)))
  =>
  (assert (finding (id home-roller-depth-missing) (category home-use) (severity incomplete)
    (summary "Home roller without a needle depth")
    (detail "The needle depth decides whether home use is acceptable (up to the policy maximum) or must be referred.")
    (source "ART, AAD, FDA")
    (action "Ask for the roller's needle depth (needle_depth_mm) and assess again."))))

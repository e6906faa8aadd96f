;;; plan.clp: the course plan per indication, with the cost per session from
;;; policy (ART: 100 to 700 USD, typically about 300).  The engine computes the
;;; course total (sessions x cost).  Exactly one plan fact per assessment; none
;;; when the indication is missing (unknown).  Results build over weeks, not
;;; after one session (ART).

(defrule plan-acne-scars
  (policy (name cost-per-session-min) (value ?cmin))
  (policy (name cost-per-session-typical) (value ?ctyp))
  (policy (name cost-per-session-max) (value ?cmax))
  (patient (indication acne-scars))
  =>
  ;; FAB, SP: 3 to 6 sessions, 4 weeks apart
  (assert (plan (sessions-min 3) (sessions-max 6) (interval-weeks 4) (interval-weeks-max 4)
                (cost-min (integer ?cmin)) (cost-typical (integer ?ctyp)) (cost-max (integer ?cmax)))))

(defrule plan-surgical-scars
  (policy (name cost-per-session-min) (value ?cmin))
  (policy (name cost-per-session-typical) (value ?ctyp))
  (policy (name cost-per-session-max) (value ?cmax))
  (patient (indication surgical-scars))
  =>
  ;; Not in the reference's plan table: planned like acne scars (JC, FAB, SP).
  (assert (plan (sessions-min 3) (sessions-max 6) (interval-weeks 4) (interval-weeks-max 4)
                (cost-min (integer ?cmin)) (cost-typical (integer ?ctyp)) (cost-max (integer ?cmax)))))

(defrule plan-wrinkles
  (policy (name cost-per-session-min) (value ?cmin))
  (policy (name cost-per-session-typical) (value ?ctyp))
  (policy (name cost-per-session-max) (value ?cmax))
  (patient (indication wrinkles))
  =>
  ;; A: 3 to 4 sessions, 4 weeks apart
  (assert (plan (sessions-min 3) (sessions-max 4) (interval-weeks 4) (interval-weeks-max 4)
                (cost-min (integer ?cmin)) (cost-typical (integer ?ctyp)) (cost-max (integer ?cmax)))))

(defrule plan-stretch-marks
  (policy (name cost-per-session-min) (value ?cmin))
  (policy (name cost-per-session-typical) (value ?ctyp))
  (policy (name cost-per-session-max) (value ?cmax))
  (patient (indication stretch-marks))
  =>
  ;; STR: 5 to 6 sessions, 2 to 4 weeks apart
  (assert (plan (sessions-min 5) (sessions-max 6) (interval-weeks 2) (interval-weeks-max 4)
                (cost-min (integer ?cmin)) (cost-typical (integer ?ctyp)) (cost-max (integer ?cmax)))))

(defrule plan-pigmentation
  (policy (name cost-per-session-min) (value ?cmin))
  (policy (name cost-per-session-typical) (value ?ctyp))
  (policy (name cost-per-session-max) (value ?cmax))
  (patient (indication melasma|hyperpigmentation))
  =>
  ;; clinic: 3 to 4 sessions, 2 weeks apart, with a physician's topical plan
  (assert (plan (sessions-min 3) (sessions-max 4) (interval-weeks 2) (interval-weeks-max 2)
                (cost-min (integer ?cmin)) (cost-typical (integer ?ctyp)) (cost-max (integer ?cmax))))
  (assert (finding (id physician-topical-plan) (category candidacy) (severity info)
    (summary "Melasma and hyperpigmentation: treat alongside a physician's topical plan")
    (detail "The course plan for pigment comes from clinic pages only (weak evidence).")
    (source "clinic")
    (action "Agree a topical plan with a physician before the course."))))

(defrule plan-pores-texture
  (policy (name cost-per-session-min) (value ?cmin))
  (policy (name cost-per-session-typical) (value ?ctyp))
  (policy (name cost-per-session-max) (value ?cmax))
  (patient (indication enlarged-pores|texture))
  =>
  ;; ART: 3 to 6 sessions, 4 weeks apart
  (assert (plan (sessions-min 3) (sessions-max 6) (interval-weeks 4) (interval-weeks-max 4)
                (cost-min (integer ?cmin)) (cost-typical (integer ?ctyp)) (cost-max (integer ?cmax)))))

;;; ---- needle depth guidance (SP, clinic), for clinic treatment ------------
;;; Info only: it never changes the verdict.  Around the eyes the guide is part
;;; of the orbital-rim finding (candidacy.clp); home rollers have their own limit.

(defrule plan-depth-guide-forehead
  (patient (setting clinic) (area forehead))
  =>
  (assert (finding (id needle-depth-forehead) (category candidacy) (severity info)
    (summary "Needle depth guide for the forehead: 0.25 to 0.75 mm")
    (detail "Depth guidance from SkinPen labelling and clinic pages (partly weak evidence).")
    (source "SP, clinic")
    (action "Set the depth within the guide; start at the shallow end."))))

(defrule plan-depth-guide-cheeks
  (patient (setting clinic) (area cheeks))
  =>
  (assert (finding (id needle-depth-cheeks) (category candidacy) (severity info)
    (summary "Needle depth guide for the cheeks: 0.5 to 2.0 mm")
    (detail "Labelled devices were not evaluated deeper than 1.5 mm on the face. Depth guidance from SkinPen labelling and clinic pages (partly weak evidence).")
    (source "SP, clinic")
    (action "Set the depth within the guide; start at the shallow end."))))

(defrule plan-depth-guide-scars
  (patient (setting clinic) (indication acne-scars|surgical-scars))
  =>
  (assert (finding (id needle-depth-scars) (category candidacy) (severity info)
    (summary "Needle depth guide for scars: 1.0 to 2.0 mm")
    (detail "Labelled devices were not evaluated deeper than 1.5 mm on the face. Depth guidance from SkinPen labelling and clinic pages (partly weak evidence).")
    (source "SP, clinic")
    (action "Set the depth within the guide; start at the shallow end."))))

(defrule plan-depth-guide-stretch-marks
  (patient (setting clinic) (indication stretch-marks)
           (area ~face&~forehead&~cheeks&~nose&~chin&~perioral&~periorbital&~inside-orbital-rim))
  =>
  (assert (finding (id needle-depth-stretch-marks) (category candidacy) (severity info)
    (summary "Needle depth guide for stretch marks on the body: 1.5 to 2.0 mm")
    (detail "Depth guidance from SkinPen labelling and clinic pages (partly weak evidence).")
    (source "SP, clinic")
    (action "Set the depth within the guide; start at the shallow end."))))

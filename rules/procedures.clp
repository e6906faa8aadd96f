;;; procedures.clp: recent procedures and their holds.  days-ago is always
;;; given for procedures (the protocol requires it).
;;; A hold of N days defers with (N - days) while days < N.

(defrule procedure-botulinum-toxin-hold
  (policy (name botulinum-toxin-hold-days) (value ?hold))
  (procedure (name botulinum-toxin) (days-ago ?d&:(>= ?d 0)))
  (test (< ?d ?hold))
  =>
  (assert (finding (id botulinum-toxin-hold) (category procedure) (severity defer)
    (summary (str-cat "Botulinum toxin " ?d " days ago, within the " ?hold "-day hold"))
    (detail "Needling and massage soon after injection may spread the toxin. Clinic pages use 2 weeks to 3 months (weak evidence).")
    (source "clinic")
    (action "Defer until the hold has passed.")
    (defer-days (integer (- ?hold ?d))))))

(defrule procedure-dermal-filler-hold
  (policy (name dermal-filler-hold-days) (value ?hold))
  (procedure (name dermal-filler) (days-ago ?d&:(>= ?d 0)))
  (test (< ?d ?hold))
  =>
  (assert (finding (id dermal-filler-hold) (category procedure) (severity defer)
    (summary (str-cat "Dermal filler in the area " ?d " days ago, within the " ?hold "-day hold"))
    (detail "Needling over fresh filler risks displacing it and infection. Clinic pages use 2 weeks to 12 months (weak evidence).")
    (source "clinic")
    (action "Defer until the hold has passed.")
    (defer-days (integer (- ?hold ?d))))))

(defrule procedure-chemical-peel-hold
  (policy (name chemical-peel-hold-days) (value ?hold))
  (procedure (name chemical-peel) (days-ago ?d&:(>= ?d 0)))
  (test (< ?d ?hold))
  =>
  (assert (finding (id chemical-peel-hold) (category procedure) (severity defer)
    (summary (str-cat "Chemical peel " ?d " days ago, within the " ?hold "-day hold"))
    (detail "The skin barrier must recover from a superficial or medium peel first. Source: clinic pages only (weak evidence).")
    (source "clinic")
    (action "Defer until the hold has passed.")
    (defer-days (integer (- ?hold ?d))))))

(defrule procedure-deep-procedure-hold
  (policy (name deep-procedure-hold-days) (value ?hold))
  (procedure (name ?n&deep-peel|dermabrasion|ablative-laser) (days-ago ?d&:(>= ?d 0)))
  (test (< ?d ?hold))
  =>
  (assert (finding (id deep-procedure-hold) (category procedure) (severity defer)
    (summary (str-cat "Deep resurfacing (" ?n ") " ?d " days ago, within the " ?hold "-day hold"))
    (detail "Deep peels, dermabrasion and ablative laser need full re-epithelialisation and settling first. Source: clinic pages only (weak evidence).")
    (source "clinic")
    (action "Defer until the hold has passed.")
    (defer-days (integer (- ?hold ?d))))))

;;; The interval between sessions follows the course: 2 weeks for stretch marks,
;;; melasma and hyperpigmentation, 4 weeks otherwise (see plan.clp).  Two
;;; rules for the 2-week courses because their evidence differs: trials for
;;; stretch marks (STR), clinic pages only for pigment.
(defrule procedure-microneedling-interval-striae
  (policy (name microneedling-short-interval-days) (value ?hold))
  (patient (indication stretch-marks))
  (procedure (name microneedling) (days-ago ?d&:(>= ?d 0)))
  (test (< ?d ?hold))
  =>
  (assert (finding (id microneedling-interval) (category procedure) (severity defer)
    (summary (str-cat "Previous micro-needling " ?d " days ago: the course interval is " ?hold " days"))
    (detail "Collagen remodelling needs the interval between sessions; the stretch-mark trials spaced sessions 2 to 4 weeks apart.")
    (source "STR")
    (action "Defer the next session until the interval has passed.")
    (defer-days (integer (- ?hold ?d))))))

(defrule procedure-microneedling-interval-pigment
  (policy (name microneedling-short-interval-days) (value ?hold))
  (patient (indication melasma|hyperpigmentation))
  (procedure (name microneedling) (days-ago ?d&:(>= ?d 0)))
  (test (< ?d ?hold))
  =>
  (assert (finding (id microneedling-interval) (category procedure) (severity defer)
    (summary (str-cat "Previous micro-needling " ?d " days ago: the course interval is " ?hold " days"))
    (detail "Collagen remodelling needs the interval between sessions. The 2-week interval for melasma and hyperpigmentation comes from clinic pages only (weak evidence).")
    (source "clinic")
    (action "Defer the next session until the interval has passed.")
    (defer-days (integer (- ?hold ?d))))))

(defrule procedure-microneedling-interval
  (policy (name microneedling-interval-days) (value ?hold))
  (patient (indication ~stretch-marks&~melasma&~hyperpigmentation))
  (procedure (name microneedling) (days-ago ?d&:(>= ?d 0)))
  (test (< ?d ?hold))
  =>
  (assert (finding (id microneedling-interval) (category procedure) (severity defer)
    (summary (str-cat "Previous micro-needling " ?d " days ago: the course interval is " ?hold " days"))
    (detail "Collagen remodelling needs about 4 weeks between sessions.")
    (source "FAB, SP")
    (action "Defer the next session until the interval has passed.")
    (defer-days (integer (- ?hold ?d))))))

(defrule procedure-radiotherapy
  (policy (name radiotherapy-refer-days) (value ?max))
  (procedure (name radiotherapy) (days-ago ?d&:(>= ?d 0)))
  (test (< ?d ?max))
  =>
  (assert (finding (id radiotherapy-recent) (category procedure) (severity refer)
    (summary (str-cat "Radiotherapy to the area " ?d " days ago (within " ?max " days)"))
    (detail "Irradiated skin heals poorly; clinics wait 3 to 12 months. Source: clinic pages only (weak evidence).")
    (source "clinic")
    (action "Refer to the radiation oncologist or a dermatologist."))))

; Summaries longer than the 140 characters a CDS Hooks card shows.
(defrule literal-too-long
  (condition (name cold-sore))
  =>
  (assert (finding (id long-literal) (category candidacy) (severity defer) (source "SP")
    (summary "Cold sore: an active herpes simplex lesion near the treatment area, which needling can spread across the face and into the eyes in the worst case"))))

(defrule built-too-long
  (medication (class nsaid) (name ?n))
  =>
  (assert (finding (id long-built) (category medication) (severity caution) (source "SP")
    (summary (str-cat "NSAID " ?n ": as-needed anti-inflammatory painkillers increase bruising; " "pause them for the hold period before the session, unless the prescriber says otherwise")))))

(defrule exactly-140
  (condition (name sunburn))
  =>
  (assert (finding (id at-limit) (category candidacy) (severity defer) (source "SP")
    (summary "Sunburn: treat only when it has healed, at least two weeks after it; until then the skin barrier is broken and the risk of pigment rises: ü!"))))

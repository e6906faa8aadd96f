;;; aftercare.clp: aftercare advice in the order it is given (ART, SP).
;;; The same for every patient, so it is constant output: deffacts asserted
;;; once at load and read into every result, not re-asserted per request.

(deffacts aftercare-advice
  (aftercare (order 1) (text "Apply sunscreen daily from day 1: treated skin is more sensitive to the sun."))
  (aftercare (order 2) (text "No makeup for 24 hours; after that, camouflage makeup is fine as the redness fades."))
  (aftercare (order 3) (text "No strenuous exercise for 72 hours."))
  (aftercare (order 4) (text "Use only gentle products for about 5 days: no retinoids, acids or vitamin C."))
  (aftercare (order 5) (text "Return to work or school the next day if comfortable; expect redness for a few days."))
  (aftercare (order 6) (text "Results are not visible after one session: they build over the following weeks.")))

;;; side-effects.clp: what this patient should expect, and the serious risks
;;; their own facts raise.  When a serious side effect is raised for this
;;; patient, a caution finding carries the precaution (unless a finding of the
;;; same trigger already does: hsv-history, home-roller, immunosuppression,
;;; diabetes and metal allergy have their own findings).

;;; ---- expected, for everyone (ART, SP, CHU) --------------------------------
;;; Constant output: deffacts asserted once at load and read into every
;;; result, not re-asserted per request.

(deffacts side-effects-expected
  (side-effect (effect "redness") (kind expected) (likelihood common)
    (note "Like a moderate sunburn; mostly gone within 1 to 3 days (ART, SP, CHU)."))
  (side-effect (effect "irritation and tightness") (kind expected) (likelihood common)
    (note "Settles within about 7 days (ART, SP, CHU)."))
  (side-effect (effect "swelling") (kind expected) (likelihood common)
    (note "Mild; settles within about 7 days (ART, SP, CHU)."))
  (side-effect (effect "dryness and flaking") (kind expected) (likelihood common)
    (note "Settles within about 7 days (ART, SP, CHU)."))
  (side-effect (effect "pinpoint bleeding") (kind expected) (likelihood common)
    (note "During treatment only (ART, SP, CHU).")))

(defrule side-effects-bruising-usual
  (patient)
  (not (medication (class anticoagulant|antiplatelet|nsaid|supplement)))
  (not (condition (name bleeding-disorder)))
  =>
  (assert (side-effect (effect "bruising") (kind expected) (likelihood common)
            (note "Minor; settles within about 7 days (ART, SP, CHU)."))))

(defrule side-effects-bruising-raised
  (patient)
  (or (exists (medication (class anticoagulant|antiplatelet|nsaid|supplement)))
      (exists (condition (name bleeding-disorder))))
  =>
  (assert (side-effect (effect "bruising") (kind expected) (likelihood common)
            (note "More likely and more extensive for this patient: a blood-thinning medication or supplement, or a bleeding disorder, is on the record (OTL, SUP)."))))

;;; ---- post-inflammatory hyperpigmentation ---------------------------------

(defrule side-effects-pih-fitzpatrick
  (policy (name pih-risk-min-fitzpatrick) (value ?min))
  (patient (fitzpatrick ?f))
  (test (>= ?f ?min))
  =>
  (assert (side-effect (effect "post-inflammatory hyperpigmentation") (kind serious) (likelihood rare)
            (note (str-cat "Raised because the skin is Fitzpatrick type " ?f " (CHU); SY and FAB report it as rare even in dark skin.")))
          (finding (id fitzpatrick-pih-risk) (category side-effect) (severity caution)
            (summary (str-cat "Fitzpatrick type " ?f ": risk of post-inflammatory hyperpigmentation"))
            (detail "Darker skin types are more prone to pigment change after injury (CHU), though SY and FAB report it as rare even in dark skin.")
            (source "CHU, SY, FAB")
            (action "Use a conservative depth, strict sun protection, and consider pre-treatment with a tyrosinase inhibitor."))))

;;; Sun exposure counts while it is recent: within sun-exposure-pih-days (by
;;; default the 14 days of the sunburn hold; the reference gives no longer
;;; window).  A sunburn without days_ago is taken as current, as in
;;; candidacy.clp; a sunburn years ago raises nothing.
(defrule side-effects-pih-sun
  (policy (name sun-exposure-pih-days) (value ?window))
  (patient)
  (condition (name sunburn) (days-ago ?d))
  (test (< ?d ?window))
  =>
  (assert (side-effect (effect "post-inflammatory hyperpigmentation") (kind serious) (likelihood rare)
            (note (if (>= ?d 0)
                   then (str-cat "Raised because of sun exposure (sunburn or tan) " ?d " days ago (CHU, DP).")
                   else "Raised because of recent sun exposure (sunburn or tan, no date given) (CHU, DP).")))
          (finding (id sun-exposure-pih-risk) (category side-effect) (severity caution)
            (summary (if (>= ?d 0)
                      then (str-cat "Sun exposure " ?d " days ago: risk of post-inflammatory hyperpigmentation")
                      else "Recent sun exposure: risk of post-inflammatory hyperpigmentation"))
            (detail (str-cat "Treating sun-exposed skin raises the risk of pigment change (CHU, DP); exposure counts for " ?window " days (sun-exposure-pih-days, the sunburn hold's window, which comes from clinic pages: weak evidence)."))
            (source "CHU, DP")
            (action "Strict sun protection before and after treatment; do not treat tanned skin."))))

;;; ---- herpes reactivation ----------------------------------------------------

(defrule side-effects-herpes-history
  (patient)
  (condition (name hsv-history))
  =>
  (assert (side-effect (effect "herpes simplex reactivation") (kind serious) (likelihood uncommon)
            (note "Raised because of a history of herpes simplex (HSV); prophylaxis lowers the risk."))))

(defrule side-effects-herpes-perioral
  (patient (area perioral))
  (not (condition (name hsv-history)))
  =>
  (assert (side-effect (effect "herpes simplex reactivation") (kind serious) (likelihood rare)
            (note "Raised because the treatment area is around the mouth (HSV)."))
          (finding (id perioral-hsv-risk) (category side-effect) (severity caution)
            (summary "Around the mouth: risk of herpes simplex reactivation")
            (detail "Perioral treatment can reactivate herpes simplex in people who carry the virus without knowing their history.")
            (source "HSV")
            (action "Ask about cold sores; consider antiviral prophylaxis on or before the treatment day."))))

;;; ---- infection ----------------------------------------------------------------

(defrule side-effects-infection-home
  (patient (setting home-roller))
  =>
  (assert (side-effect (effect "infection") (kind serious) (likelihood uncommon)
            (note "Raised because home rollers are hard to clean and dull quickly (FDA, AAD)."))))

(defrule side-effects-infection-home-rf
  (patient (setting home-rf))
  =>
  (assert (side-effect (effect "infection") (kind serious) (likelihood uncommon)
            (note "Raised because home devices are hard to keep clean and are used without a professional's asepsis (FDA, AAD)."))))

(defrule side-effects-infection-immune
  (patient)
  (or (exists (condition (name immunosuppression|hiv|chemotherapy)))
      (exists (medication (class immunosuppressant|chemotherapy))))
  =>
  (assert (side-effect (effect "infection") (kind serious) (likelihood rare)
            (note "Raised because of immunosuppression (condition or medication) (FDA, DP)."))))

(defrule side-effects-infection-healing
  (patient)
  (exists (condition (name diabetes|diabetes-uncontrolled|poor-wound-healing)))
  =>
  (assert (side-effect (effect "infection") (kind serious) (likelihood rare)
            (note "Raised because of diabetes or poor wound healing (FDA, DP)."))))

;;; ---- granulomatous or allergic reaction ---------------------------------

(defrule side-effects-granuloma-vitamin-c
  (patient)
  (exists (medication (class topical-vitamin-c)))
  =>
  (assert (side-effect (effect "granulomatous or allergic reaction") (kind serious) (likelihood rare)
            (note "Raised because a vitamin C serum is in use: granulomas followed its use on needled skin (GR, CHU)."))))

(defrule side-effects-allergy-metal
  (patient)
  (exists (allergy (name nickel|stainless-steel)))
  =>
  (assert (side-effect (effect "granulomatous or allergic reaction") (kind serious) (likelihood uncommon)
            (note "Raised because of a metal allergy: the needles are stainless steel (CHU)."))))

;;; ---- tram-track scarring ------------------------------------------------------

(defrule side-effects-tram-track-roller
  (patient (setting home-roller))
  =>
  (assert (side-effect (effect "tram-track scarring") (kind serious) (likelihood rare)
            (note "Raised because rollers are easily over-used (CHU)."))))

(defrule side-effects-tram-track-bony
  (patient (area ?a&forehead|nose|chin|periorbital|scalp))
  =>
  (assert (side-effect (effect "tram-track scarring") (kind serious) (likelihood rare)
            (note (str-cat "Raised because the " ?a " lies over bone (CHU).")))
          (finding (id bony-area-scarring-risk) (category side-effect) (severity caution)
            (summary (str-cat "Bony area (" ?a "): risk of tram-track scarring"))
            (detail "Thin skin over bone scars in lines when over-treated.")
            (source "CHU")
            (action "Use light pressure, a shallow depth and few passes over bony areas."))))

;;; policy.clp: every number a rule decides with, as a named parameter.
;;; A clinic overrides any of them with a policy file (suitd --policy FILE):
;;;     [policy]
;;;     isotretinoin-washout-days = 90
;;; Rules read these facts; they never hold the numbers themselves.  Each
;;; says what its value counts (unit) so that forms and reports can show it.
;;; Defaults come from the domain reference (source keys in the description).
;;; min and max bound what a policy file may set (suitd check --policy FILE,
;;; and the daemon at start and reload, refuse anything outside with
;;; file:line): the clinical range the description gives where it gives one,
;;; else a plausibility bound (SUIT_MAX_AGE 150, SUIT_MAX_DEPTH_MM 10) that
;;; catches a typo such as 1800 for 180.  A whole-number default takes whole
;;; numbers only.

(deffacts policy-defaults
  ;; medications
  (policy (name isotretinoin-washout-days) (value 180) (min 0) (max 365) (unit "days")
          (description "Days after the last isotretinoin dose before micro-needling (LBL 6 months; SPR and WAL found no evidence for a delay; clinics use 0 to 365)."))
  (policy (name nsaid-hold-days) (value 3) (min 0) (max 30) (unit "days")
          (description "Days to hold as-needed NSAIDs (ibuprofen, naproxen) before treatment (clinic: 3 to 7)."))
  (policy (name topical-retinoid-hold-days) (value 5) (min 0) (max 30) (unit "days")
          (description "Days to hold topical retinoids and AHAs before treatment (SP 24 h; clinic 2 to 14)."))
  (policy (name supplement-hold-days) (value 14) (min 0) (max 60) (unit "days")
          (description "Suggested hold for fish oil, vitamin E, ginkgo and garlic supplements (SUP, surgical extrapolation)."))
  (policy (name enforce-supplement-hold) (value 0) (min 0) (max 1) (unit "flag (0 or 1)")
          (description "1 = a supplement taken within supplement-hold-days defers treatment; 0 = caution only (default)."))
  (policy (name current-medication-days) (value 14) (min 0) (max 365) (unit "days")
          (description "A medication without its own hold (anticoagulant, antiplatelet, photosensitiser, immunosuppressant, chemotherapy, antiviral, vitamin C serum) counts as current when its last dose was fewer than this many days ago (ruleset default)."))
  ;; conditions
  (policy (name sunburn-hold-days) (value 14) (min 0) (max 90) (unit "days")
          (description "Days after sunburn or an active tan before treatment (clinic)."))
  (policy (name sun-exposure-pih-days) (value 14) (min 0) (max 90) (unit "days")
          (description "Days after sunburn or an active tan during which sun exposure raises post-inflammatory hyperpigmentation as a risk (CHU, DP name the risk without a period; the default is the sunburn hold's 14 days, clinic; no source supports a longer window)."))
  (policy (name radiotherapy-refer-days) (value 365) (min 0) (max 730) (unit "days")
          (description "Radiotherapy to the area within this many days refers (clinic waits 3 to 12 months)."))
  (policy (name recent-scar-days) (value 365) (min 0) (max 730) (unit "days")
          (description "Scars or stretch marks younger than this many days give a caution (SP: not evaluated in labelling)."))
  ;; procedures
  (policy (name botulinum-toxin-hold-days) (value 14) (min 0) (max 180) (unit "days")
          (description "Days after botulinum toxin (clinic: 2 weeks to 3 months)."))
  (policy (name dermal-filler-hold-days) (value 14) (min 0) (max 730) (unit "days")
          (description "Days after dermal filler in the area (clinic: 2 weeks to 12 months)."))
  (policy (name chemical-peel-hold-days) (value 30) (min 0) (max 180) (unit "days")
          (description "Days after a superficial or medium chemical peel (clinic)."))
  (policy (name deep-procedure-hold-days) (value 90) (min 0) (max 365) (unit "days")
          (description "Days after a deep peel, dermabrasion or ablative laser (clinic)."))
  (policy (name microneedling-interval-days) (value 28) (min 0) (max 180) (unit "days")
          (description "Minimum days between micro-needling sessions for courses with a 4-week interval (FAB, SP)."))
  (policy (name microneedling-short-interval-days) (value 14) (min 0) (max 180) (unit "days")
          (description "Minimum days between sessions for courses with a 2-week interval: stretch marks, melasma, hyperpigmentation (STR, clinic)."))
  ;; age
  (policy (name min-age) (value 18) (min 0) (max 150) (unit "years")
          (description "Below this age: refer (FDA, SP)."))
  (policy (name fda-min-age) (value 22) (min 0) (max 150) (unit "years")
          (description "FDA-authorised uses are for adults of this age and over; younger adults get a caution (FDA)."))
  (policy (name trial-max-age) (value 60) (min 0) (max 150) (unit "years")
          (description "Oldest age in the SkinPen pivotal trial; older patients get an info note (SP)."))
  ;; skin type
  (policy (name pih-risk-min-fitzpatrick) (value 4) (min 1) (max 6) (unit "Fitzpatrick type")
          (description "Fitzpatrick type from which post-inflammatory hyperpigmentation is raised as a risk (CHU)."))
  ;; needle depth
  (policy (name home-roller-max-depth-mm) (value 0.5) (min 0) (max 10) (unit "mm")
          (description "Home rollers deeper than this refer: do not self-treat (ART, AAD, FDA)."))
  (policy (name face-max-depth-mm) (value 1.5) (min 0) (max 10) (unit "mm")
          (description "Labelled devices were not evaluated deeper than this on the face (SP)."))
  ;; cost (USD per session, ART)
  (policy (name cost-per-session-min) (value 100) (min 0) (max 100000) (unit "USD")
          (description "Lowest cost per session in USD (ART)."))
  (policy (name cost-per-session-typical) (value 300) (min 0) (max 100000) (unit "USD")
          (description "Typical cost per session in USD (ART)."))
  (policy (name cost-per-session-max) (value 700) (min 0) (max 100000) (unit "USD")
          (description "Highest cost per session in USD (ART).")))

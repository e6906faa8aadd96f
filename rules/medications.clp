;;; medications.clp: medications with hold and washout windows.
;;; days-since-last-dose: 0 = taking now.  The engine copies each medication's
;;; class from the vocabulary, so rules match classes, not drug names.
;;; A washout or hold of N days defers with (N - days) while days < N: day N-1
;;; defers by 1, day N gives no finding.

;;; ---- isotretinoin -----------------------------------------------------------

(defrule medication-isotretinoin-current
  (medication (class systemic-retinoid) (name ?n) (days-since-last-dose 0))
  =>
  (assert (finding (id isotretinoin-current) (category medication) (severity contraindicated)
    (summary (str-cat "Taking " ?n " now"))
    (detail "Isotretinoin labelling forbids skin-smoothing procedures during treatment and for 6 months after it.")
    (source "SP, LBL")
    (action "Do not treat during isotretinoin; reassess after the washout."))))

(defrule medication-isotretinoin-washout
  (policy (name isotretinoin-washout-days) (value ?w))
  (medication (class systemic-retinoid) (name ?n) (days-since-last-dose ?d&:(> ?d 0)))
  (test (< ?d ?w))
  =>
  (assert (finding (id isotretinoin-washout) (category medication) (severity defer)
    (summary (str-cat "Stopped " ?n " " ?d " days ago: within the " ?w "-day washout"))
    (detail "The labelling asks for 6 months; Spring et al. and the ASDS task force (Waldman et al.) found no evidence that a delay is needed, and clinics use 0 to 365 days. The washout is the clinic's policy (isotretinoin-washout-days); a physician may override it.")
    (source "LBL, SPR, WAL")
    (action "Defer until the washout ends, or document a physician's decision to proceed.")
    (defer-days (integer (- ?w ?d))))))

;;; ---- blood thinners ---------------------------------------------------------

(defrule medication-anticoagulant
  (policy (name current-medication-days) (value ?cur))
  (medication (class anticoagulant) (name ?n) (days-since-last-dose ?d))
  (test (< ?d ?cur))
  =>
  (assert (finding (id anticoagulant) (category medication) (severity refer)
    (summary (str-cat "Anticoagulant: " ?n))
    (detail "Anticoagulants increase bleeding and bruising. Never advise stopping an anticoagulant for a cosmetic procedure.")
    (source "OTL, SP")
    (action "Refer to the prescriber; expect bruising; never advise stopping the anticoagulant."))))

(defrule medication-antiplatelet
  (policy (name current-medication-days) (value ?cur))
  (medication (class antiplatelet) (name ?n) (days-since-last-dose ?d))
  (test (< ?d ?cur))
  =>
  (assert (finding (id antiplatelet) (category medication) (severity caution)
    (summary (str-cat "Antiplatelet: " ?n))
    (detail "Antiplatelet drugs increase bruising.")
    (source "OTL")
    (action "Expect more bruising; do not stop the drug without the prescriber's agreement."))))

(defrule medication-nsaid-hold
  (policy (name nsaid-hold-days) (value ?hold))
  (medication (class nsaid) (name ?n) (days-since-last-dose ?d))
  (test (< ?d ?hold))
  =>
  (assert (finding (id nsaid-hold) (category medication) (severity defer)
    (summary (str-cat "NSAID " ?n ": last dose " ?d " days ago, within the " ?hold "-day hold"))
    (detail "As-needed NSAIDs increase bruising. Hold periods come from clinic pages only (3 to 7 days; weak evidence).")
    (source "clinic")
    (action "Pause the as-needed NSAID and treat when the hold has passed (paracetamol is an alternative for pain).")
    (defer-days (integer (- ?hold ?d))))))

(defrule medication-supplement
  (policy (name supplement-hold-days) (value ?hold))
  (policy (name enforce-supplement-hold) (value ?enforce))
  (medication (class supplement) (name ?n) (days-since-last-dose ?d))
  (test (< ?d ?hold))
  =>
  (if (= ?enforce 0)
   then
    (assert (finding (id supplement-bruising) (category medication) (severity caution)
      (summary (str-cat "Supplement " ?n ": more bruising"))
      (detail (str-cat "Fish oil, vitamin E, ginkgo and garlic may increase bleeding; a " ?hold "-day hold is suggested (surgical extrapolation, weak evidence)."))
      (source "SUP")
      (action "Suggest pausing the supplement before treatment; expect more bruising.")))
   else
    (assert (finding (id supplement-hold) (category medication) (severity defer)
      (summary (str-cat "Supplement " ?n ": last dose " ?d " days ago, within the " ?hold "-day hold"))
      (detail "This clinic enforces the supplement hold (enforce-supplement-hold). The evidence is a surgical extrapolation.")
      (source "SUP")
      (action "Pause the supplement and treat when the hold has passed.")
      (defer-days (integer (- ?hold ?d)))))))

;;; ---- topical products -------------------------------------------------------

(defrule medication-topical-retinoid-hold
  (policy (name topical-retinoid-hold-days) (value ?hold))
  (medication (class topical-retinoid) (name ?n) (days-since-last-dose ?d))
  (test (< ?d ?hold))
  =>
  (assert (finding (id topical-retinoid-hold) (category medication) (severity defer)
    (summary (str-cat "Topical retinoid " ?n ": last use " ?d " days ago, within the " ?hold "-day hold"))
    (detail "Retinoids thin and sensitise the skin. SkinPen asks for 24 hours; clinic pages use 2 to 14 days (weak evidence).")
    (source "SP, clinic")
    (action "Pause the retinoid and treat when the hold has passed.")
    (defer-days (integer (- ?hold ?d))))))

(defrule medication-aha-hold
  (policy (name topical-retinoid-hold-days) (value ?hold))
  (medication (class aha) (name ?n) (days-since-last-dose ?d))
  (test (< ?d ?hold))
  =>
  (assert (finding (id aha-hold) (category medication) (severity defer)
    (summary (str-cat "Acid product " ?n ": last use " ?d " days ago, within the " ?hold "-day hold"))
    (detail "Alpha hydroxy acids sensitise the skin; they follow the topical retinoid hold. SkinPen asks for 24 hours; clinic pages use 2 to 14 days (weak evidence).")
    (source "SP, clinic")
    (action "Pause the acid product and treat when the hold has passed.")
    (defer-days (integer (- ?hold ?d))))))

(defrule medication-vitamin-c-serum
  (policy (name current-medication-days) (value ?cur))
  (medication (class topical-vitamin-c) (name ?n) (days-since-last-dose ?d))
  (test (< ?d ?cur))
  =>
  (assert (finding (id vitamin-c-serum) (category medication) (severity caution)
    (summary (str-cat "Uses " ?n ": never on freshly needled skin"))
    (detail "Facial granulomas followed micro-needling with a vitamin C serum; only products made for injured skin may be applied during and after treatment.")
    (source "GR, CHU")
    (action "Keep vitamin C serums off the skin for the treatment and about 5 days after it."))))

;;; ---- photosensitisers, immune system, antivirals -------------------------

(defrule medication-photosensitiser
  (policy (name current-medication-days) (value ?cur))
  (medication (class photosensitiser) (name ?n) (days-since-last-dose ?d))
  (test (< ?d ?cur))
  =>
  (assert (finding (id photosensitiser) (category medication) (severity caution)
    (summary (str-cat "Photosensitising medication: " ?n))
    (detail "Photosensitisers raise the risk of sun damage and pigment change on treated skin. Sources: clinic pages (weak evidence) and supplement reports.")
    (source "clinic, SUP")
    (action "Strict photoprotection before and after treatment."))))

(defrule medication-immunosuppressant
  (policy (name current-medication-days) (value ?cur))
  (medication (class immunosuppressant) (name ?n) (days-since-last-dose ?d))
  (test (< ?d ?cur))
  =>
  (assert (finding (id immunosuppressant) (category medication) (severity refer)
    (summary (str-cat "Immunosuppressant: " ?n))
    (detail "High-dose systemic corticosteroids, methotrexate and other immunosuppressants raise the risk of infection and poor healing. Source: clinic pages only (weak evidence).")
    (source "clinic")
    (action "Refer to the prescriber."))))

(defrule medication-chemotherapy
  (policy (name current-medication-days) (value ?cur))
  (medication (class chemotherapy) (name ?n) (days-since-last-dose ?d))
  (test (< ?d ?cur))
  =>
  (assert (finding (id chemotherapy-drug) (category medication) (severity contraindicated)
    (summary (str-cat "Chemotherapy: " ?n))
    (detail "Chemotherapy impairs healing and immunity. Source: clinic pages only (weak evidence).")
    (source "clinic")
    (action "Do not treat during chemotherapy; reassess with the oncologist afterwards."))))

(defrule medication-antiviral
  (policy (name current-medication-days) (value ?cur))
  (medication (class antiviral) (name ?n) (days-since-last-dose ?d))
  (test (< ?d ?cur))
  =>
  (assert (finding (id antiviral-prophylaxis) (category medication) (severity info)
    (summary (str-cat "Antiviral " ?n ": counts as herpes simplex prophylaxis"))
    (detail "An antiviral taken around the treatment day serves as HSV prophylaxis.")
    (source "HSV")
    (action "Confirm it is taken on or before the treatment day."))))

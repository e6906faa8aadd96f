;;; candidacy.clp: who may be treated at all (the reference's candidacy table).
;;; Conditions are taken to be in or affecting the treatment area.
;;; Every rule matches a per-assessment fact (patient, condition, allergy,
;;; procedure): data facts alone are asserted once and would fire only once.

;;; ---- pregnancy and breastfeeding -----------------------------------------
;;; Unknown status is not handled here: the engine asserts (missing (fact
;;; pregnant)) and verdict.clp turns it into an incomplete finding.

(defrule candidacy-pregnant
  (patient (pregnant yes))
  =>
  (assert (finding (id pregnant) (category candidacy) (severity contraindicated)
    (summary "Pregnant: micro-needling is contraindicated")
    (detail "SkinPen labelling excludes pregnancy and its trial required a negative pregnancy test. (Dermapen restricts only the topical anaesthetic.)")
    (source "SP")
    (action "Do not treat during pregnancy; reassess after delivery and breastfeeding."))))

(defrule candidacy-breastfeeding
  (patient (breastfeeding yes))
  =>
  (assert (finding (id breastfeeding) (category candidacy) (severity contraindicated)
    (summary "Breastfeeding: micro-needling is contraindicated")
    (detail "SkinPen labelling excludes breastfeeding. (Dermapen restricts only the topical anaesthetic.)")
    (source "SP")
    (action "Do not treat while breastfeeding; reassess afterwards."))))

;;; ---- age -------------------------------------------------------------------

(defrule candidacy-age-under-18
  (policy (name min-age) (value ?min))
  (patient (age ?a&:(>= ?a 0)))
  (test (< ?a ?min))
  =>
  (assert (finding (id age-under-18) (category candidacy) (severity refer)
    (summary (str-cat "Age " ?a ": below the minimum age of " ?min))
    (detail "Micro-needling devices are authorised and were tested in adults only.")
    (source "FDA, SP")
    (action "Refer to a dermatologist; do not treat minors in the clinic."))))

(defrule candidacy-age-18-21
  (policy (name min-age) (value ?min))
  (policy (name fda-min-age) (value ?fda))
  (patient (age ?a))
  (test (and (>= ?a ?min) (< ?a ?fda)))
  =>
  (assert (finding (id age-18-21) (category candidacy) (severity caution)
    (summary (str-cat "Age " ?a ": outside the FDA-authorised age range (" ?fda " and over)"))
    (detail "FDA-authorised uses are for adults aged 22 and over; the SkinPen trial enrolled ages 18 to 60.")
    (source "FDA")
    (action "Treatment is possible at the clinician's judgement; record the off-label use."))))

(defrule candidacy-age-over-trial
  (policy (name trial-max-age) (value ?max))
  (patient (age ?a))
  (test (> ?a ?max))
  =>
  (assert (finding (id age-over-60) (category candidacy) (severity info)
    (summary (str-cat "Age " ?a ": older than the SkinPen trial population (18 to " ?max ")"))
    (detail "Not a contraindication; older skin may heal more slowly.")
    (source "SP")
    (action "Consider slower healing when planning intervals."))))

;;; ---- skin cancer, lesions, wounds and infections -------------------------

(defrule candidacy-active-skin-cancer
  (condition (name active-skin-cancer))
  =>
  (assert (finding (id active-skin-cancer) (category candidacy) (severity contraindicated)
    (summary "Active skin cancer in the treatment area")
    (detail "Labelling contraindicates treatment over active skin cancer.")
    (source "SP, DP")
    (action "Do not treat the area; refer for oncological or dermatological care."))))

(defrule candidacy-suspicious-lesion
  (condition (name suspicious-lesion))
  =>
  (assert (finding (id suspicious-lesion) (category candidacy) (severity refer)
    (summary "Changing or suspicious pigmented lesion in the treatment area")
    (detail "A changing or suspicious pigmented lesion must be diagnosed before any needling over it.")
    (source "SP")
    (action "Refer to a dermatologist for diagnosis first."))))

(defrule candidacy-open-wound
  (condition (name open-wound))
  =>
  (assert (finding (id open-wound) (category candidacy) (severity defer)
    (summary "Open wound or sore in the treatment area")
    (detail "Do not needle broken skin; there is no fixed day count, only healing.")
    (source "SP, DP")
    (action "Defer until the wound has fully healed, then reassess.")
    (defer-days nil))))

(defrule candidacy-active-infection
  (condition (name active-infection))
  =>
  (assert (finding (id active-infection) (category candidacy) (severity defer)
    (summary "Active bacterial, fungal or viral infection in the treatment area")
    (detail "Needling can spread an active infection; there is no fixed day count.")
    (source "SP, DP")
    (action "Defer until the infection has cleared, then reassess.")
    (defer-days nil))))

(defrule candidacy-active-cold-sore
  (condition (name active-cold-sore))
  =>
  (assert (finding (id active-cold-sore) (category candidacy) (severity defer)
    (summary "Active cold sore")
    (detail "Needling near an active herpes lesion spreads the virus; there is no fixed day count.")
    (source "SP, DP")
    (action "Defer until the cold sore has healed; start antiviral prophylaxis for the treatment.")
    (defer-days nil))))

(defrule candidacy-warts
  (condition (name warts))
  =>
  (assert (finding (id warts) (category candidacy) (severity defer)
    (summary "Warts in the treatment area")
    (detail "Warts are a viral infection that needling can spread; there is no fixed day count.")
    (source "SP, DP")
    (action "Defer until the warts have been treated and cleared.")
    (defer-days nil))))

;;; ---- inflammatory skin disease ------------------------------------------

(defrule candidacy-active-acne
  (condition (name active-acne))
  =>
  (assert (finding (id active-acne) (category candidacy) (severity defer)
    (summary "Active acne (grade III-IV) in the treatment area")
    (detail "Needling active inflammatory acne spreads bacteria and worsens inflammation; there is no fixed day count.")
    (source "DP, SP")
    (action "Defer until the acne is quiescent, then reassess.")
    (defer-days nil))))

(defrule candidacy-rosacea-flare
  (condition (name rosacea-flare))
  =>
  (assert (finding (id rosacea-flare) (category candidacy) (severity defer)
    (summary "Rosacea flare in the treatment area")
    (detail "Treatment during a flare aggravates it; there is no fixed day count.")
    (source "DP, SP")
    (action "Defer until the rosacea is quiescent, then reassess.")
    (defer-days nil))))

(defrule candidacy-eczema-flare
  (condition (name eczema-flare))
  =>
  (assert (finding (id eczema-flare) (category candidacy) (severity defer)
    (summary "Eczema flare in the treatment area")
    (detail "Treatment during a flare aggravates it; there is no fixed day count.")
    (source "DP, SP")
    (action "Defer until the eczema is quiescent, then reassess.")
    (defer-days nil))))

(defrule candidacy-psoriasis-flare
  (condition (name psoriasis-flare))
  =>
  (assert (finding (id psoriasis-flare) (category candidacy) (severity defer)
    (summary "Psoriasis flare in the treatment area")
    (detail "Needling during a flare can trigger new plaques (Koebner phenomenon); there is no fixed day count.")
    (source "DP, SP")
    (action "Defer until the psoriasis is quiescent, then reassess.")
    (defer-days nil))))

(defrule candidacy-rosacea-quiescent
  (condition (name rosacea))
  =>
  (assert (finding (id rosacea-quiescent) (category candidacy) (severity caution)
    (summary "Rosacea (quiescent)")
    (detail "Quiescent rosacea may flare after treatment.")
    (source "DP, SP")
    (action "Treat conservatively; stop and defer if a flare starts."))))

(defrule candidacy-eczema-quiescent
  (condition (name eczema))
  =>
  (assert (finding (id eczema-quiescent) (category candidacy) (severity caution)
    (summary "Eczema (quiescent)")
    (detail "Quiescent eczema may flare after treatment.")
    (source "DP, SP")
    (action "Treat conservatively; stop and defer if a flare starts."))))

(defrule candidacy-psoriasis-quiescent
  (condition (name psoriasis))
  =>
  (assert (finding (id psoriasis-quiescent) (category candidacy) (severity caution)
    (summary "Psoriasis (quiescent)")
    (detail "Needling can trigger plaques in treated skin (Koebner phenomenon) even in quiescent psoriasis.")
    (source "DP, SP")
    (action "Treat conservatively; stop and defer if a flare starts."))))

(defrule candidacy-hsv-history
  (condition (name hsv-history))
  =>
  (assert (finding (id hsv-history) (category candidacy) (severity caution)
    (summary "History of herpes simplex: antiviral prophylaxis needed")
    (detail "Micro-needling can reactivate herpes simplex, above all around the mouth.")
    (source "HSV, DP")
    (action "Start antiviral prophylaxis (e.g. valacyclovir) on or before the treatment day."))))

;;; ---- systemic disease -------------------------------------------------------

(defrule candidacy-bleeding-disorder
  (condition (name bleeding-disorder))
  =>
  (assert (finding (id bleeding-disorder) (category candidacy) (severity contraindicated)
    (summary "Bleeding disorder (haemophilia, von Willebrand)")
    (detail "Labelling contraindicates micro-needling with bleeding disorders.")
    (source "SP, DP")
    (action "Do not treat."))))

(defrule candidacy-keloid-history
  (condition (name keloid-history))
  =>
  (assert (finding (id keloid-history) (category candidacy) (severity refer)
    (summary "History of keloid scarring")
    (detail "Needling injury may provoke keloids; micro-needling is also used to treat such scars, under a specialist.")
    (source "SP, JC")
    (action "Refer to a dermatologist to decide."))))

(defrule candidacy-hypertrophic-scar-history
  (condition (name hypertrophic-scar-history))
  =>
  (assert (finding (id hypertrophic-scar-history) (category candidacy) (severity refer)
    (summary "History of hypertrophic scarring")
    (detail "Needling injury may provoke hypertrophic scars; micro-needling is also used to treat such scars, under a specialist.")
    (source "SP, JC")
    (action "Refer to a dermatologist to decide."))))

(defrule candidacy-scleroderma
  (condition (name scleroderma))
  =>
  (assert (finding (id scleroderma) (category candidacy) (severity refer)
    (summary "Scleroderma")
    (detail "Connective tissue disease alters wound healing.")
    (source "SP, DP")
    (action "Refer to the treating physician or a dermatologist."))))

(defrule candidacy-collagen-vascular-disease
  (condition (name collagen-vascular-disease))
  =>
  (assert (finding (id collagen-vascular-disease) (category candidacy) (severity refer)
    (summary "Collagen vascular disease")
    (detail "Connective tissue disease alters wound healing.")
    (source "SP, DP")
    (action "Refer to the treating physician or a dermatologist."))))

(defrule candidacy-diabetes-uncontrolled
  (condition (name diabetes-uncontrolled))
  =>
  (assert (finding (id diabetes-uncontrolled) (category candidacy) (severity refer)
    (summary "Uncontrolled diabetes")
    (detail "Poor glycaemic control impairs wound healing and raises the risk of infection. The healing part of this rule rests partly on clinic pages (weak evidence).")
    (source "SP, clinic")
    (action "Refer to the treating physician; treat once diabetes is controlled."))))

(defrule candidacy-poor-wound-healing
  (condition (name poor-wound-healing))
  =>
  (assert (finding (id poor-wound-healing) (category candidacy) (severity refer)
    (summary "Poor wound healing")
    (detail "Micro-needling relies on normal wound healing. This rule rests partly on clinic pages (weak evidence).")
    (source "SP, clinic")
    (action "Refer to the treating physician."))))

(defrule candidacy-diabetes-controlled
  (condition (name diabetes))
  =>
  (assert (finding (id diabetes-controlled) (category candidacy) (severity caution)
    (summary "Diabetes (controlled)")
    (detail "Controlled diabetes still heals more slowly and carries a higher infection risk. This rule rests partly on clinic pages (weak evidence).")
    (source "SP, clinic")
    (action "Confirm control; strict asepsis; watch healing closely."))))

(defrule candidacy-immunosuppression
  (condition (name immunosuppression))
  =>
  (assert (finding (id immunosuppression) (category candidacy) (severity refer)
    (summary "Immunosuppression")
    (detail "Higher risk of infection and poor healing. Source: clinic pages only (weak evidence).")
    (source "clinic")
    (action "Refer to the treating physician."))))

(defrule candidacy-hiv
  (condition (name hiv))
  =>
  (assert (finding (id hiv) (category candidacy) (severity refer)
    (summary "HIV")
    (detail "Possible immunosuppression: higher risk of infection and poor healing. Source: clinic pages only (weak evidence).")
    (source "clinic")
    (action "Refer to the treating physician."))))

(defrule candidacy-chemotherapy
  (condition (name chemotherapy))
  =>
  (assert (finding (id chemotherapy) (category candidacy) (severity contraindicated)
    (summary "Chemotherapy in progress")
    (detail "Chemotherapy impairs healing and immunity. Source: clinic pages only (weak evidence).")
    (source "clinic")
    (action "Do not treat during chemotherapy; reassess with the oncologist afterwards."))))

;;; ---- allergies -------------------------------------------------------------

(defrule candidacy-metal-allergy
  (allergy (name nickel|stainless-steel))
  =>
  (assert (finding (id metal-allergy) (category candidacy) (severity contraindicated)
    (summary "Allergy to stainless steel or nickel")
    (detail "Micro-needling needles are stainless steel; metal allergy can cause allergic and granulomatous reactions.")
    (source "SP, CHU")
    (action "Do not treat with steel needles."))))

(defrule candidacy-topical-anaesthetic-allergy
  (allergy (name topical-anaesthetic))
  =>
  (assert (finding (id topical-anaesthetic-allergy) (category candidacy) (severity caution)
    (summary "Allergy to topical anaesthetics")
    (detail "Treatment is possible without numbing cream.")
    (source "SP")
    (action "Treat without topical anaesthetic; use a shallower depth if pain limits treatment."))))

;;; ---- sun, scars ------------------------------------------------------------

(defrule candidacy-sunburn-dated
  (policy (name sunburn-hold-days) (value ?hold))
  (condition (name sunburn) (days-ago ?d&:(>= ?d 0)))
  (test (< ?d ?hold))
  =>
  (assert (finding (id sunburn-hold) (category candidacy) (severity defer)
    (summary (str-cat "Sunburn or active tan " ?d " days ago"))
    (detail (str-cat "Treatment waits " ?hold " days after sunburn or an active tan. Source: clinic pages only (weak evidence)."))
    (source "clinic")
    (action "Defer until the hold has passed; strict sun protection meanwhile.")
    (defer-days (integer (- ?hold ?d))))))

;;; Without days_ago the sunburn is taken to be current: the full hold applies.
(defrule candidacy-sunburn-undated
  (policy (name sunburn-hold-days) (value ?hold))
  (condition (name sunburn) (days-ago -1))
  =>
  (assert (finding (id sunburn-hold) (category candidacy) (severity defer)
    (summary "Sunburn or active tan (no date given: taken as current)")
    (detail (str-cat "Treatment waits " ?hold " days after sunburn or an active tan. Source: clinic pages only (weak evidence)."))
    (source "clinic")
    (action "Defer until the hold has passed; strict sun protection meanwhile.")
    (defer-days (integer ?hold)))))

(defrule candidacy-recent-scar
  (policy (name recent-scar-days) (value ?max))
  (condition (name recent-scar) (days-ago ?d))
  (test (< ?d ?max))
  =>
  (assert (finding (id recent-scar) (category candidacy) (severity caution)
    (summary (if (>= ?d 0) then (str-cat "Scar or stretch marks " ?d " days old (under 1 year)")
                           else "Scar or stretch marks under 1 year old (age not given)"))
    (detail "Scars and stretch marks under a year old were not evaluated in the device labelling.")
    (source "SP")
    (action "Treat at the clinician's judgement; expect a less predictable response."))))

;;; ---- area --------------------------------------------------------------------

(defrule candidacy-periorbital
  (patient (area periorbital))
  =>
  (assert (finding (id periorbital-orbital-rim) (category candidacy) (severity caution)
    (summary "Around the eyes: never inside the orbital rim")
    (detail "Treatment inside the orbital rim is contraindicated (area inside-orbital-rim); outside it use 0.25 to 0.5 mm.")
    (source "SP")
    (action "Treat only outside the bony orbital rim, at 0.25 to 0.5 mm."))))

;;; The area inside the orbital rim (the eyelids) has its own term, so that
;;; the reference's "contraindicated for that area" can be answered.
(defrule candidacy-inside-orbital-rim
  (patient (area inside-orbital-rim))
  =>
  (assert (finding (id inside-orbital-rim) (category candidacy) (severity contraindicated)
    (summary "Inside the orbital rim: micro-needling is contraindicated for that area")
    (detail "Labelling excludes needling inside the bony orbital rim (the eyelids). Around the eyes, outside the rim, treatment is possible at 0.25 to 0.5 mm.")
    (source "SP")
    (action "Do not treat inside the orbital rim; the skin around the eyes outside the rim may be assessed instead (area periorbital)."))))

;;; Labelled devices were not evaluated deeper than face-max-depth-mm on the face.
(defrule candidacy-face-depth-above-labelled
  (policy (name face-max-depth-mm) (value ?max))
  (patient (setting clinic) (area face|forehead|cheeks|nose|chin|perioral|periorbital|inside-orbital-rim)
           (needle-depth-mm ?mm))
  (test (> ?mm ?max))
  =>
  (assert (finding (id face-depth-above-labelled) (category candidacy) (severity caution)
    (summary (str-cat "Needle depth " ?mm " mm on the face: deeper than the labelled devices were evaluated (" ?max " mm)"))
    (detail "Guide depths: forehead 0.25 to 0.75 mm, around the eyes 0.25 to 0.5, cheeks 0.5 to 2.0, scars 1.0 to 2.0. Depth guidance rests partly on clinic pages (weak evidence).")
    (source "SP, clinic")
    (action "Use the shallowest effective depth; record the reason for going deeper."))))

;;; verdict.clp: turns gaps in the input into findings.  The verdict itself is
;;; computed by the engine from all findings (the heaviest severity decides).
;;;
;;; `missing` facts (a required key absent from the request) become incomplete
;;; findings with id missing-<fact>.
;;;
;;; `unrecognised` facts are conditions, medications, procedures or allergies
;;; outside the vocabulary.  The engine fills their `suggestion` with the
;;; nearest vocabulary name when the term looks like a slip for one (the rule
;;; is in rules/README.md, "Unrecognised and near-miss terms"):
;;;   * with a suggestion: an incomplete finding near-miss-<kind> ("did you
;;;     mean isotretinoin? confirm or correct").  A misspelt isotretinoin must
;;;     not come out milder than isotretinoin: the answer waits until the
;;;     clinician confirms or corrects the term.
;;;   * without one: a caution finding unrecognised-<kind>, so the answer is
;;;     never a plain suitable.
;;; Both cite `input`: they are about the request, not clinical evidence.

(defrule verdict-missing-age
  (missing (fact age))
  =>
  (assert (finding (id missing-age) (category input) (severity incomplete)
    (summary "Age not given")
    (detail "Age decides the age bands (under 18, 18 to 21).")
    (source "FDA, SP")
    (action "Ask the patient's age and assess again."))))

(defrule verdict-missing-pregnant
  (missing (fact pregnant))
  =>
  (assert (finding (id missing-pregnant) (category input) (severity incomplete)
    (summary "Pregnancy status not given")
    (detail "Pregnancy contraindicates micro-needling; the SkinPen trial required a negative pregnancy test in patients of child-bearing age.")
    (source "SP")
    (action "Ask (or test) and assess again."))))

(defrule verdict-missing-breastfeeding
  (missing (fact breastfeeding))
  =>
  (assert (finding (id missing-breastfeeding) (category input) (severity incomplete)
    (summary "Breastfeeding status not given")
    (detail "Breastfeeding contraindicates micro-needling.")
    (source "SP")
    (action "Ask and assess again."))))

(defrule verdict-missing-fitzpatrick
  (missing (fact fitzpatrick))
  =>
  (assert (finding (id missing-fitzpatrick) (category input) (severity incomplete)
    (summary "Fitzpatrick skin type not given")
    (detail "Skin types IV to VI carry a risk of post-inflammatory hyperpigmentation.")
    (source "CHU")
    (action "Record the Fitzpatrick skin type (1 to 6) and assess again."))))

(defrule verdict-missing-area
  (missing (fact area))
  =>
  (assert (finding (id missing-area) (category input) (severity incomplete)
    (summary "Treatment area not given")
    (detail "The area decides depth limits and area-specific risks (orbital rim, perioral herpes, bony areas).")
    (source "SP")
    (action "Give the treatment area and assess again."))))

(defrule verdict-missing-indication
  (missing (fact indication))
  =>
  (assert (finding (id missing-indication) (category input) (severity incomplete)
    (summary "Indication not given: no course plan")
    (detail "The indication decides the course plan, its interval and its cost.")
    (source "ART")
    (action "Give the indication and assess again."))))

(defrule verdict-near-miss-condition
  (unrecognised (kind condition) (name ?raw) (suggestion ?s&~nil))
  =>
  (assert (finding (id near-miss-condition) (category input) (severity incomplete)
    (summary (str-cat "Condition \"" ?raw "\" not recognised: did you mean " ?s "? confirm or correct"))
    (detail (str-cat "\"" ?raw "\" is not in the ruleset's vocabulary but is close to " ?s ". A misspelt term must not give a milder verdict than the term itself, so the assessment waits for the term to be confirmed or corrected."))
    (source "input")
    (action (str-cat "Correct the term to " ?s " and assess again if that is what was meant; if the term is right as sent, it is not in the vocabulary: check this condition against the contraindications by hand."))
    (suggestion ?s))))

(defrule verdict-unrecognised-condition
  (unrecognised (kind condition) (name ?raw) (suggestion nil))
  =>
  (assert (finding (id unrecognised-condition) (category input) (severity caution)
    (summary (str-cat "Condition not recognised: " ?raw))
    (detail (str-cat "\"" ?raw "\" is not in the ruleset's vocabulary and resembles no term in it, so no rule could judge it. Not recognised: check it by hand."))
    (source "input")
    (action "Check this condition against the contraindications by hand."))))

(defrule verdict-near-miss-medication
  (unrecognised (kind medication) (name ?raw) (suggestion ?s&~nil))
  =>
  (assert (finding (id near-miss-medication) (category input) (severity incomplete)
    (summary (str-cat "Medication \"" ?raw "\" not recognised: did you mean " ?s "? confirm or correct"))
    (detail (str-cat "\"" ?raw "\" is not in the ruleset's vocabulary but is close to " ?s ". A misspelt term must not give a milder verdict than the term itself, so the assessment waits for the term to be confirmed or corrected."))
    (source "input")
    (action (str-cat "Correct the term to " ?s " and assess again if that is what was meant; if the term is right as sent, it is not in the vocabulary: check this medication for bleeding, photosensitivity, retinoid or immune effects by hand."))
    (suggestion ?s))))

(defrule verdict-unrecognised-medication
  (unrecognised (kind medication) (name ?raw) (suggestion nil))
  =>
  (assert (finding (id unrecognised-medication) (category input) (severity caution)
    (summary (str-cat "Medication not recognised: " ?raw))
    (detail (str-cat "\"" ?raw "\" is not in the ruleset's vocabulary and resembles no term in it, so no rule could judge it. Not recognised: check it by hand."))
    (source "input")
    (action "Check this medication for bleeding, photosensitivity, retinoid or immune effects by hand."))))

(defrule verdict-near-miss-procedure
  (unrecognised (kind procedure) (name ?raw) (suggestion ?s&~nil))
  =>
  (assert (finding (id near-miss-procedure) (category input) (severity incomplete)
    (summary (str-cat "Procedure \"" ?raw "\" not recognised: did you mean " ?s "? confirm or correct"))
    (detail (str-cat "\"" ?raw "\" is not in the ruleset's vocabulary but is close to " ?s ". A misspelt term must not give a milder verdict than the term itself, so the assessment waits for the term to be confirmed or corrected."))
    (source "input")
    (action (str-cat "Correct the term to " ?s " and assess again if that is what was meant; if the term is right as sent, it is not in the vocabulary: check this procedure's hold period by hand."))
    (suggestion ?s))))

(defrule verdict-unrecognised-procedure
  (unrecognised (kind procedure) (name ?raw) (suggestion nil))
  =>
  (assert (finding (id unrecognised-procedure) (category input) (severity caution)
    (summary (str-cat "Procedure not recognised: " ?raw))
    (detail (str-cat "\"" ?raw "\" is not in the ruleset's vocabulary and resembles no term in it, so no rule could judge it. Not recognised: check it by hand."))
    (source "input")
    (action "Check this procedure's hold period by hand."))))

(defrule verdict-near-miss-allergy
  (unrecognised (kind allergy) (name ?raw) (suggestion ?s&~nil))
  =>
  (assert (finding (id near-miss-allergy) (category input) (severity incomplete)
    (summary (str-cat "Allergy \"" ?raw "\" not recognised: did you mean " ?s "? confirm or correct"))
    (detail (str-cat "\"" ?raw "\" is not in the ruleset's vocabulary but is close to " ?s ". A misspelt term must not give a milder verdict than the term itself, so the assessment waits for the term to be confirmed or corrected."))
    (source "input")
    (action (str-cat "Correct the term to " ?s " and assess again if that is what was meant; if the term is right as sent, it is not in the vocabulary: check this allergy against the needles, anaesthetics and products used, by hand."))
    (suggestion ?s))))

(defrule verdict-unrecognised-allergy
  (unrecognised (kind allergy) (name ?raw) (suggestion nil))
  =>
  (assert (finding (id unrecognised-allergy) (category input) (severity caution)
    (summary (str-cat "Allergy not recognised: " ?raw))
    (detail (str-cat "\"" ?raw "\" is not in the ruleset's vocabulary and resembles no term in it, so no rule could judge it. Not recognised: check it by hand."))
    (source "input")
    (action "Check this allergy against the needles, anaesthetics and products used, by hand."))))

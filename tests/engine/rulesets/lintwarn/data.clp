; A tiny vocabulary and policy for the engine tests.
(deffacts sources
  (source (key SP) (citation "Test source SP"))
  (source (key DP) (citation "Test source DP")))

(deffacts vocabulary
  (term (kind area) (name face) (canonical face))
  (term (kind area) (name forehead) (canonical forehead))
  (term (kind area) (name scalp) (canonical scalp))
  (term (kind indication) (name acne-scars) (canonical acne-scars))
  (term (kind indication) (name fine-lines) (canonical fine-lines))
  (term (kind setting) (name clinic) (canonical clinic))
  (term (kind setting) (name home-roller) (canonical home-roller))
  (term (kind condition) (name active-acne) (canonical active-acne))
  (term (kind condition) (name acne) (canonical active-acne))
  (term (kind condition) (name sunburn) (canonical sunburn) (takes-days yes))
  (term (kind condition) (name cold-sore) (canonical cold-sore))
  (term (kind medication) (name isotretinoin) (canonical isotretinoin) (class systemic-retinoid))
  (term (kind medication) (name accutane) (canonical isotretinoin))
  (term (kind medication) (name ibuprofen) (canonical ibuprofen) (class nsaid))
  (term (kind procedure) (name chemical-peel) (canonical chemical-peel))
  (term (kind allergy) (name lidocaine) (canonical lidocaine)))

(deffacts policy
  (policy (name isotretinoin-washout-days) (value 180) (description "washout"))
  (policy (name nsaid-hold-days) (value 3) (min 0) (max 30))
  (policy (name home-roller-max-depth-mm) (value 0.5)))

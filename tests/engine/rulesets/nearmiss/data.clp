; A tiny vocabulary for the near-miss tests (test_match.c).
(deffacts sources
  (source (key SP) (citation "Test source SP"))
  (source (key input) (citation "The request itself")))

(deffacts vocabulary
  (term (kind area) (name face) (canonical face))
  (term (kind area) (name cheeks) (canonical cheeks))
  (term (kind indication) (name acne-scars) (canonical acne-scars))
  (term (kind setting) (name clinic) (canonical clinic))
  (term (kind setting) (name home-roller) (canonical home-roller))
  (term (kind condition) (name active-acne) (canonical active-acne))
  (term (kind condition) (name hsv-history) (canonical hsv-history))
  (term (kind medication) (name isotretinoin) (canonical isotretinoin) (class systemic-retinoid))
  (term (kind medication) (name accutane) (canonical isotretinoin) (class systemic-retinoid))
  (term (kind medication) (name fish-oil) (canonical fish-oil) (class supplement))
  (term (kind procedure) (name chemical-peel) (canonical chemical-peel))
  (term (kind allergy) (name lidocaine) (canonical lidocaine)))

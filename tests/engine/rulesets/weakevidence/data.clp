; Two strong sources and two weak ones (clinic and vendor pages).
(deffacts sources
  (source (key SP) (citation "Test source SP"))
  (source (key input) (citation "The request itself"))
  (source (key clinic) (citation "Clinic pages") (weak yes))
  (source (key vendor) (citation "Vendor pages") (weak yes)))

(deffacts vocabulary
  (term (kind area) (name face) (canonical face))
  (term (kind indication) (name acne-scars) (canonical acne-scars))
  (term (kind condition) (name sunburn) (canonical sunburn) (takes-days yes)))

;;; sources.clp: every source key a finding may cite, with its citation.
;;; weak yes = clinic or vendor pages: findings citing only these say so
;;; (suitd check enforces it).  `input` is not clinical evidence at all: the
;;; source of findings about the request itself (a term not recognised).

(deffacts sources
  (source (key FDA) (citation "U.S. FDA, Microneedling devices (fda.gov, aesthetic/cosmetic devices) and consumer update Getting to the point on benefits, risks and safety. Authorised uses: facial acne scars, facial wrinkles, abdominal scars, adults aged 22 and over."))
  (source (key SP) (citation "SkinPen Precision labelling (FDA De Novo DEN160029) and its pivotal trial NCT02646917 (ages 18 to 60)."))
  (source (key DP) (citation "Dermapen 4 instructions for use, contraindications section."))
  (source (key A) (citation "Alster and Graham, Microneedling: a review and practical guide, Dermatol Surg 2018;44:397-404."))
  (source (key AAD) (citation "American Academy of Dermatology news release on microneedling, February 2018."))
  (source (key SY) (citation "Singh and Yadav, Microneedling: advances and widening horizons, Indian Dermatol Online J 2016;7:244-54."))
  (source (key CHU) (citation "Chu et al., systematic review of microneedling adverse events, Dermatol Surg 2021;47:1249-54."))
  (source (key GR) (citation "Soltani-Arabshahi et al., facial granulomas after microneedling with a vitamin C serum, JAMA Dermatol 2014."))
  (source (key SPR) (citation "Spring et al., isotretinoin and procedures, JAMA Dermatol 2017;153:802-9."))
  (source (key WAL) (citation "Waldman et al. (ASDS task force), Dermatol Surg 2017;43:1249-62."))
  (source (key LBL) (citation "Isotretinoin product labelling: no skin-smoothing procedures during and for 6 months after treatment."))
  (source (key OTL) (citation "Otley, perioperative anticoagulation in cutaneous surgery, Mayo Clin Proc 2003;78:1392-6."))
  (source (key HSV) (citation "Vaghela et al., herpes simplex after aesthetic procedures, J Clin Aesthet Dermatol 2021;14(6 Suppl 1)."))
  (source (key FAB) (citation "Fabbrocini et al., acne scars and microneedling, J Dermatolog Treat 2012 and 2014."))
  (source (key JC) (citation "Juhasz and Cohen, microneedling for scars, Clin Cosmet Investig Dermatol 2020;13:997-1003."))
  (source (key STR) (citation "Randomised trials of microneedling for striae, Am J Clin Dermatol 2019 and J Egypt Women's Dermatol Soc 2017."))
  (source (key SUP) (citation "Reports on herbal supplements and bleeding before cosmetic surgery (surgical extrapolation)."))
  (source (key clinic) (citation "Clinic and vendor pages (weak evidence).") (weak yes))
  (source (key ART) (citation "Consumer article New Trend Alert: Micro-Needling (consumer guidance: professional treatment, consultation first, cost, aftercare, home rollers)."))
  (source (key input) (citation "The request itself: a finding about the input (a term the ruleset does not recognise, or one close to a known term), not clinical evidence.")))

; A template of the ruleset's own, with a slot that lets nothing but two
; symbols through.
(deftemplate flag (slot level (type SYMBOL) (allowed-symbols low high)) (slot class (type SYMBOL))
  (slot any (type SYMBOL) (allowed-symbols ?VARIABLE)))
